"""Heavy objects created once per server process (``st.cache_resource``): the Milvus connection and
the Retriever on it. Nothing cached here holds a session's key: a page's Retriever is a shallow copy
that gets this session's settings and index config on every call.

Embedding models are cached one level down, in ``rag.models.registry`` (per model spec and a digest of the key
that built it), so the CLI and the load-test service share the same cache rule.

Usage:
    wb = retriever()                 # None (an error shown) when Milvus is down
    caps = server_capabilities()     # what the connected Milvus can build, or None
"""

from __future__ import annotations

import copy

import streamlit as st

from rag.i18n import _
from ui.state import index_config, session_settings


@st.cache_resource(show_spinner=False)
def milvus_info():
    from rag.milvus.server import ensure_milvus

    return ensure_milvus()


@st.cache_resource(show_spinner=False)
def _shared_retriever():
    from rag.retrieval import Retriever

    return Retriever(milvus_info())


def shared_retriever():
    """The one Retriever (one Milvus client) of this process; pages use copies from ``retriever()``. The spinner
    is this session's own, in its language (a cache decorator's text is fixed at import); Streamlit shows it only
    after 0.5 s, so a cached call draws nothing."""
    with st.spinner(_("Starting Milvus…")):
        return _shared_retriever()


def retriever(cfg=None):
    """A Retriever on the shared Milvus connection with the app-wide index settings (or ``cfg``), or None
    (with an error shown) if Milvus is down. One connection per process; the config is per call."""
    from rag.milvus.server import MilvusUnavailable

    try:
        wb = copy.copy(shared_retriever())  # shares the store (one client); only index_config differs
    except MilvusUnavailable as e:
        st.error(_("Milvus is not available: {error}").format(error=e))
        return None
    wb.index_config = cfg or index_config()
    wb.settings = session_settings()  # a key typed in this session's sidebar reaches its embedding models too
    return wb


def server_capabilities():
    """What the connected Milvus can run (rag.milvus.capabilities), or None when Milvus is down."""
    from rag.milvus.server import MilvusUnavailable

    try:
        return shared_retriever().store.capabilities
    except MilvusUnavailable:
        return None
