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
# Widgets whose shown options are translated (format_func=_): the browser sends back the option's *shown* text, so
# on the run after a switch Streamlit would read the old language's text as a new value (measured: the Decide
# page's "Models may run" lost its choice). The switch sets each such key again from session state first.
FORMATTED_KEYS: set[str] = set()


def keep_on_switch(key: str) -> str:
    """Register a widget key whose options are shown translated; returns the key (``key=keep_on_switch("x")``)."""
    FORMATTED_KEYS.add(key)
    return key


def _restore_formatted() -> None:
    for k in FORMATTED_KEYS:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


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
                 on_change=_restore_formatted,
                 help=_("The language of the app and the report; your data keeps its own language."))
