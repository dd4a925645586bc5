"""Sign-in through Streamlit's OIDC login, whether this app is shared, and the folder fields' limit.

Sign-in is on when ``.streamlit/secrets.toml`` (or a file given with ``--secrets.files``) has an ``[auth]``
section with ``redirect_uri`` and ``cookie_secret`` (Streamlit's own ``st.login``: the provider's
``client_id``, ``client_secret`` and ``server_metadata_url`` in ``[auth]`` or in ``[auth.NAME]`` per provider).
Then every page asks for sign-in first (``gate``), ``WORKBENCH_ALLOWED_EMAILS`` (if set) says who may use
it, and the signed-in user's runs go to their own folder (``rag.settings.Settings.user_path``). Without
``[auth]`` nothing changes: no sign-in, one run store; a shared app then says in the sidebar that whoever
reaches it shares everything.

Usage:
    screen = gate()          # None: go on with the pages; else the page function to show instead (sign-in)
    require_sign_in()        # a page's first lines: the same gate, the screen shown and the run stopped
    account_box()            # in the sidebar: who is signed in and "Sign out", or the no-sign-in warning
    if refused(folder): ...  # a folder field's value outside WORKBENCH_DATA_ROOTS on a shared app (error shown)
    refused_models(["st:/etc/x", "minilm"])   # ["st:/etc/x"] on a shared app (error shown): model folders too
"""

from __future__ import annotations

import streamlit as st

from rag.i18n import _
from rag.settings import get_settings, owner_id, use_owner

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def auth_section() -> dict:
    """The ``[auth]`` secrets as a plain dict; empty when there is no secrets file or no such section."""
    try:
        auth = st.secrets.get("auth") if st.secrets.load_if_toml_exists() else None
    except Exception:  # a secrets file Streamlit cannot parse: no sign-in (Streamlit logs why)
        return {}
    return auth.to_dict() if hasattr(auth, "to_dict") else dict(auth or {})


def signin_configured() -> bool:
    auth = auth_section()
    return bool(auth.get("redirect_uri") and auth.get("cookie_secret"))


def providers(auth: dict) -> list[str | None]:
    """The providers ``st.login`` can use: None for ``[auth]``'s own client, then each ``[auth.NAME]``."""
    named = [k for k, v in auth.items() if isinstance(v, dict) and v.get("client_id")]
    return ([None] if auth.get("client_id") else []) + named


def shared_app() -> bool:
    """Served beyond 127.0.0.1 (``server.address`` unset means every interface), behind sign-in, or declared
    shared (``WORKBENCH_SHARED=1``: a reverse proxy on this host): folder fields are then limited to
    ``WORKBENCH_DATA_ROOTS``."""
    return (get_settings().shared or signin_configured()
            or (st.get_option("server.address") or "0.0.0.0") not in LOOPBACK)


def refused(folder: str) -> bool:
    """On a shared app, a folder outside ``WORKBENCH_DATA_ROOTS``: one line (``Not loaded: folder: why``), True."""
    if not shared_app():
        return False
    try:
        get_settings().folder_under_roots(folder)
    except ValueError as e:
        st.error(_("Not loaded: {error}").format(error=e), icon="⚠️")
        return True
    return False


def refused_models(specs: list[str]) -> list[str]:
    """The specs whose model folder a shared app may not read (each refused with one line, as dataset folders)."""
    from rag.models.user_models import spec_folder

    return [s for s in specs if (folder := spec_folder(s)) and refused(folder)]


def gate():
    """Set this run's user (``rag.settings.use_owner``) and return None, or the screen to show instead of the
    pages: sign-in, or "not allowed". Called first on every run: the owner is per script thread."""
    use_owner(None)
    if not signin_configured():
        return None
    if not st.user.is_logged_in:
        return sign_in_screen
    issuer, subject = st.user.get("iss"), st.user.get("sub")
    if not (issuer and subject) or not get_settings().email_allowed(st.user.get("email")):
        return not_allowed_screen
    use_owner(owner_id(str(issuer), str(subject)))
    return None


def require_sign_in() -> None:
    """Every page's second line: the gate again, and the sign-in screen then a stop if it says so. Why besides
    app.py's: Streamlit runs a ``pages/`` script on its own (without app.py) on a server's first run when that
    run asks for the page's URL (``PagesManager.uses_pages_directory`` is only cleared by the first
    ``st.navigation``), and AppTest's ``switch_page`` does so every time."""
    if (screen := gate()) is not None:
        screen()
        st.stop()


def sign_in_screen() -> None:
    st.title(_("Sign in"))
    st.write(_("This workbench is shared. Sign in to use it: your runs, question sets and keys are yours, "
               "and other users do not see them."))
    for name in providers(auth_section()):
        label = _("Sign in") if name is None else _("Sign in with {provider}").format(provider=name)
        if st.button(label, type="primary", key=f"sign_in_{name}"):
            try:
                st.login(name)
            except Exception as e:  # a misconfigured [auth]: Streamlit's reason in one line
                st.error(_("Sign-in is misconfigured: {why}").format(why=" ".join(str(e).split())), icon="⚠️")


def not_allowed_screen() -> None:
    st.title(_("Not allowed"))
    who = st.user.get("email") or st.user.get("sub") or "?"
    st.error(_("{who} may not use this workbench (WORKBENCH_ALLOWED_EMAILS); ask whoever runs it.")
             .format(who=who), icon="⛔")
    if st.button(_("Sign out")):
        st.logout()


def account_box() -> None:
    """Who is signed in, with "Sign out"; on a shared app without sign-in, a warning that says what that means."""
    if signin_configured():
        if st.user.is_logged_in:
            st.caption("👤 " + _("Signed in as {who}").format(who=st.user.get("email") or st.user.get("name")
                                                              or st.user.get("sub")))
            if st.button(_("Sign out"), key="sign_out"):
                st.logout()
    elif shared_app():
        st.warning(_("Shared without sign-in: whoever reaches this address sees and adds to the same runs. "
                     "Configure [auth] in .streamlit/secrets.toml (README, Security)."), icon="🔓")
