"""How a page reports a failed job: one clear message, and the app stays up."""

from __future__ import annotations

import streamlit as st

from rag.i18n import _


def show_error(e: Exception, what: str) -> None:
    """One clear message, the app stays up."""
    st.error(_("{what} failed: {error}").format(what=what, error=e), icon="⚠️")
