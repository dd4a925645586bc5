"""Streamlit glue shared by the pages: cached heavy objects, the current dataset, status, errors.

Not a page itself (app.py lists the pages). Everything here is a thin wrapper over ``rag/``;
heavy objects (Milvus connection, models) are created once per process with ``st.cache_resource``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages run by AppTest.from_file need the project root importable
    sys.path.insert(0, str(ROOT))

from rag.dataset import Dataset  # noqa: E402


@st.cache_resource(show_spinner="Starting Milvus…")
def milvus_info():
    from rag.milvus_server import ensure_milvus

    return ensure_milvus()


def workbench(index_type: str = "FLAT", metric: str = "COSINE"):
    """A Workbench on the shared Milvus connection, or None (with an error shown) if Milvus is down."""
    from rag.milvus_server import MilvusUnavailable

    try:
        return _workbench(index_type, metric)
    except MilvusUnavailable as e:
        st.error(f"Milvus is not available: {e}")
        return None


@st.cache_resource(show_spinner=False)
def _workbench(index_type: str, metric: str):
    from rag.retrieval import Workbench
    from rag.store import IndexConfig

    return Workbench(milvus_info(), IndexConfig(index_type, metric))


@st.cache_data(show_spinner="Loading the sample…")
def _sample() -> Dataset:
    from rag.loaders import load_sample

    return load_sample()


def current_dataset() -> Dataset:
    """The dataset chosen on the Data page; the built-in sample until the user picks another."""
    if "dataset" not in st.session_state:
        st.session_state["dataset"] = _sample()
    return st.session_state["dataset"]


def set_dataset(ds: Dataset, chunking: str = "") -> None:
    st.session_state["dataset"] = ds
    st.session_state["chunking"] = chunking
    st.session_state.pop("retrieval_result", None)


def chunking() -> str:
    return st.session_state.get("chunking", "")


def index_config() -> tuple[str, str]:
    return st.session_state.get("index_type", "FLAT"), st.session_state.get("metric", "COSINE")


def dataset_caption(ds: Dataset) -> None:
    st.caption(f"Dataset **{ds.name}**: {len(ds.documents):,} documents, {len(ds.judged_queries):,} judged "
               f"questions, {sum(len(v) for v in ds.qrels.values()):,} judgments.")


def server_capabilities():
    """What the connected Milvus can run (rag.capabilities), or None when Milvus is down."""
    from rag.milvus_server import MilvusUnavailable

    try:
        return _workbench(*index_config()).store.capabilities
    except MilvusUnavailable:
        return None


def sidebar_status() -> None:
    """Which Milvus, whether it answers, the LLM, and which models can run."""
    from rag.capabilities import models_on
    from rag.milvus_server import MilvusUnavailable
    from rag.settings import get_settings

    with st.sidebar:
        st.markdown("### Status")
        try:  # ping over the cached connection: no new client on every rerun
            wb = _workbench(*index_config())
            wb.store.ping()
            ok, msg = True, f"{wb.info.describe()} answers ({wb.store.capabilities.short()})"
        except MilvusUnavailable as e:
            ok, msg = False, str(e)
        (st.success if ok else st.error)(msg, icon="🗄️")
        s = get_settings()
        if s.openai_key:
            st.info(f"LLM: OpenAI-compatible API{' at ' + s.openai_base_url if s.openai_base_url else ''}", icon="🤖")
        else:
            st.caption("🤖 No LLM configured: offline mode (extractive answers, non-LLM Ragas metrics). "
                       "Set OPENAI_API_KEY (environment, .env or below) to enable LLM answers and judges.")
        with st.expander("API key and endpoint"):
            key = st.text_input("OpenAI API key", type="password", key="openai_key_input",
                                help="Kept in this process's memory only; never written to disk.")
            base = st.text_input("Base URL (Ollama, vLLM, …)", value=s.openai_base_url or "", key="base_url_input")
            if st.button("Use these"):
                _apply_llm_settings(key, base)
                st.rerun()
        with st.expander("Models"):
            for spec, ok, why in models_on(server_capabilities()):  # the server's limits too (bm25 on 2.3)
                st.markdown(f"{'🟢' if ok else '⚪'} **{spec.name}** — {spec.label}" + ("" if ok else f"  \n_{why}_"))


def _apply_llm_settings(key: str, base_url: str) -> None:
    import os

    from rag.settings import reset_settings

    if key:
        os.environ["OPENAI_API_KEY"] = key
    if base_url:
        os.environ["OPENAI_BASE_URL"] = base_url
    else:
        os.environ.pop("OPENAI_BASE_URL", None)
    reset_settings()


def show_error(e: Exception, what: str) -> None:
    """One clear message, the app stays up."""
    st.error(f"{what} failed: {e}", icon="⚠️")
