"""The sign-in gate over app.py (AppTest: ``at.secrets`` for ``[auth]``, ``at.user`` for ``st.user``).

- with ``[auth]`` and nobody signed in, every run shows the sign-in screen and no page (nor the sidebar's status),
  also a page script run on its own;
- a misconfigured ``[auth]`` says so in one line when Sign in is pressed, no traceback;
- signed in, the pages run, the sidebar names the user, and History shows that user's runs only (a run stored in
  ana's folder is in her History, not in ben's);
- ``WORKBENCH_ALLOWED_EMAILS`` turns away an email not on it;
- served beyond 127.0.0.1 without ``[auth]``: the sidebar warns; on 127.0.0.1 without it: no sign-in, no warning.
"""

from __future__ import annotations

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

ISSUER = "http://127.0.0.1:9/issuer"
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 32, "client_id": "workbench",
        "client_secret": "s3cret", "server_metadata_url": ISSUER + "/.well-known/openid-configuration"}
ANA = {"is_logged_in": True, "iss": ISSUER, "sub": "ana-0001", "email": "ana@example.org", "name": "Ana"}
BEN = {"is_logged_in": True, "iss": ISSUER, "sub": "ben-0002", "email": "ben@example.org", "name": "Ben"}


def _app(user: dict | None = None, auth: dict | None = AUTH, script: str = "app.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=120)
    if auth is not None:
        at.secrets["auth"] = auth
    at.user = user if user is not None else {"is_logged_in": False}
    return at.run()


def test_nobody_signed_in_sees_only_the_sign_in_screen(milvus):
    at = _app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"] and [b.label for b in at.button] == ["Sign in"]
    assert not any(m.value.endswith("Status") for m in at.sidebar.markdown)  # no page, no status
    with pytest.raises(ValueError, match=r"Known pages: \['Sign in'\]"):  # the only page there is: no History
        at.switch_page("pages/6_History.py")
    # a page run on its own (Streamlit's pages/ fallback runs one without app.py on a server's first run)
    alone = _app(script="pages/6_History.py")
    assert not alone.exception and [t.value for t in alone.title] == ["Sign in"] and not alone.dataframe


def test_a_misconfigured_auth_is_one_line(milvus):
    at = _app(auth={k: v for k, v in AUTH.items() if k != "client_secret"})
    at.button[0].click().run()
    assert not at.exception
    # AppTest's secrets do not reach st.login's own check (Streamlit's secrets singleton), which finds no [auth]:
    # either way Streamlit's reason, in one line
    assert at.error[0].value.startswith("Sign-in is misconfigured: ") and "\n" not in at.error[0].value


def test_each_signed_in_user_sees_their_own_runs(milvus, data_dir):
    from rag.runs import RunStore
    from rag.settings import owner_id

    run = RunStore(data_dir / "users" / owner_id(ISSUER, "ana-0001") / "runs.sqlite").create(
        "retrieval", {"models": ["bm25"], "k": 4})
    at = _app(ANA)
    assert not at.exception and at.title[0].value == "🧭 Decide"
    assert "Signed in as ana@example.org" in [c.value.removeprefix("👤 ") for c in at.sidebar.caption]
    at.switch_page("pages/6_History.py").run()
    assert not at.exception and at.dataframe[0].value["id"].tolist() == [run]  # hers only, not the data folder's
    at = _app(BEN)
    at.switch_page("pages/6_History.py").run()
    assert not at.exception and at.info[0].value.startswith("No runs yet.")


def test_the_allow_list_turns_others_away(milvus, monkeypatch):
    from rag.settings import reset_settings

    monkeypatch.setenv("WORKBENCH_ALLOWED_EMAILS", "ana@example.org")
    reset_settings()
    try:
        at = _app({**BEN})
        assert [t.value for t in at.title] == ["Not allowed"]
        assert at.error[0].value == ("ben@example.org may not use this workbench (WORKBENCH_ALLOWED_EMAILS); ask "
                                     "whoever runs it.")
        assert _app(ANA).title[0].value == "🧭 Decide"
    finally:
        monkeypatch.undo()
        reset_settings()


@pytest.mark.parametrize("address, warned", [("0.0.0.0", True), ("127.0.0.1", False)])
def test_without_auth_a_shared_app_warns_and_a_local_one_is_unchanged(milvus, address, warned):
    before = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        at = _app(user={}, auth=None)
    finally:
        config.set_option("server.address", before)
    assert not at.exception and at.title[0].value == "🧭 Decide"
    warnings = [w.value for w in at.sidebar.warning]
    assert any(w.startswith("Shared without sign-in: whoever reaches this address sees and adds to the same runs.")
               for w in warnings) == warned, warnings
    assert not any(b.label == "Sign out" for b in at.sidebar.button)
