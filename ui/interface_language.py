"""The interface language of this browser session: chosen in the sidebar, kept in its session state.

Why set at the top of every rerun: ``rag.i18n`` keeps the language per thread (a ``ContextVar``) and each
Streamlit session runs its script in its own thread, so ``use_session_language()`` in ``app.py``, before
the navigation and the pages, makes every ``_()`` of this rerun speak the session's language. The first
visit's default is the browser's language (``st.context.locale``, i.e. ``navigator.language``; else the
``Accept-Language`` header), else ``WORKBENCH_LANG``, else English.

Usage:
    use_session_language()   # app.py, first thing
    language_switch()        # in the sidebar
"""

from __future__ import annotations

import streamlit as st

from rag.i18n import LANGUAGES, _, env_language, normalize, set_language

KEY = "ui_lang"


def browser_language() -> str | None:
    """The browser's language when Streamlit exposes it (None in AppTest and when it does not)."""
    try:
        ctx = st.context
        return normalize(ctx.locale) or normalize(ctx.headers.get("Accept-Language"))
    except Exception:  # no browser context (bare mode): the environment decides
        return None


def use_session_language() -> str:
    """Set this rerun's language from the session's choice (first visit: browser, then WORKBENCH_LANG)."""
    if normalize(st.session_state.get(KEY)) is None:
        st.session_state[KEY] = browser_language() or env_language()
    return set_language(st.session_state[KEY])


def language_switch() -> None:
    """The sidebar's language picker; the choice re-runs the app in that language."""
    st.selectbox(_("Interface language"), list(LANGUAGES), key=KEY, format_func=lambda c: LANGUAGES[c][1],
                 help=_("The language of the app and the report; your data keeps its own language."))
