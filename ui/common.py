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


def workbench(cfg=None):
    """A Workbench on the shared Milvus connection with the app-wide index settings (or ``cfg``), or None
    (with an error shown) if Milvus is down. One connection per process; the config is per call."""
    import copy

    from rag.milvus_server import MilvusUnavailable

    try:
        wb = copy.copy(_workbench())  # shares the store (one client); only index_config differs
    except MilvusUnavailable as e:
        st.error(f"Milvus is not available: {e}")
        return None
    wb.index_config = cfg or index_config()
    wb.settings = session_settings()  # a key typed in this session's sidebar reaches its embedding models too
    return wb


@st.cache_resource(show_spinner=False)
def _workbench():
    from rag.retrieval import Workbench

    return Workbench(milvus_info())


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


# App-wide index settings live in session-state keys no widget owns: Streamlit deletes a widget's key
# on every run where that widget is not rendered (a page switch), so a choice kept only in the Index
# page's selectbox fell back to FLAT on the Retrieval page. The widgets below are seeded from these
# keys and copy their value back on change.
INDEX_KEYS = {"type": "app_index_type", "metric": "app_index_metric", "params": "app_index_params"}


def index_config():
    """The app-wide IndexConfig (FLAT/COSINE with default parameters until the user chooses)."""
    from rag.store import IndexConfig

    ss = st.session_state
    t = ss.get(INDEX_KEYS["type"], "FLAT")
    params = (ss.get(INDEX_KEYS["params"]) or {}).get(t, {})
    return IndexConfig(t, ss.get(INDEX_KEYS["metric"], "COSINE"), dict(params))


def _seeded(widget_key: str, value) -> str:
    if widget_key not in st.session_state:
        st.session_state[widget_key] = value
    return widget_key


def _copy(widget_key: str, app_key: str) -> None:
    st.session_state[app_key] = st.session_state[widget_key]


def _copy_param(index_type: str, name: str, widget_key: str) -> None:
    params = dict(st.session_state.get(INDEX_KEYS["params"]) or {})
    params[index_type] = {**params.get(index_type, {}), name: int(st.session_state[widget_key])}
    st.session_state[INDEX_KEYS["params"]] = params


def index_settings(caps=None):
    """Index type, metric and the type's parameters as widgets bound to the app-wide keys; returns the config.
    Index types the connected server (``caps``) cannot build are left out, with the reason below."""
    from rag.store import INDEX_TYPES, METRICS

    no_index = {t: caps.index_reason(t) for t in INDEX_TYPES if caps and caps.index_reason(t)}
    offered = [t for t in INDEX_TYPES if t not in no_index]
    if index_config().index_type not in offered:
        st.session_state[INDEX_KEYS["type"]] = offered[0]
        st.session_state.pop("w_index_type", None)
    cfg = index_config()
    c1, c2 = st.columns(2)
    c1.selectbox("Index type (dense models)", offered, key=_seeded("w_index_type", cfg.index_type),
                 on_change=_copy, args=("w_index_type", INDEX_KEYS["type"]),
                 help="FLAT is exact search: the fair default for comparing models. The choice holds app-wide.")
    for why in no_index.values():
        c1.caption(f"⚪ {why}")
    c2.selectbox("Metric", list(METRICS), key=_seeded("w_index_metric", cfg.metric),
                 on_change=_copy, args=("w_index_metric", INDEX_KEYS["metric"]))
    cfg = index_config()
    build, search = INDEX_TYPES[cfg.index_type]
    values = cfg.all_params()
    cols = st.columns(max(len(values), 1))
    for col, name in zip(cols, values):
        wk = f"w_index_param_{cfg.index_type}_{name}"
        col.number_input(name, min_value=1, max_value=65536, step=1, key=_seeded(wk, values[name]),
                         on_change=_copy_param, args=(cfg.index_type, name, wk),
                         help="build parameter: a change builds a new collection" if name in build
                         else "search parameter: applies at query time, the collection is reused")
    return index_config()


CUSTOM_MODELS_HELP = ("st:/path/to/model-folder, oai:nomic-embed-text@http://127.0.0.1:11434/v1, "
                      "openai-3-small:512")


def model_picker(label: str, key: str, prefer_indexed: bool = False) -> list[str]:
    """Registry models that can run here, the ones indexed on the Index page (the user's own spec
    strings included) and a field for more specs: the model keys a job runs and records under."""
    from rag.embedders import available_models, model_key

    runnable = [m.name for m, ok, _ in available_models(session_settings()) if ok]
    indexed = [m for m in st.session_state.get("indexed_models") or [] if m]
    default = (indexed if prefer_indexed else []) or [m for m in ("minilm", "bm25") if m in runnable]
    chosen = st.multiselect(label, list(dict.fromkeys(runnable + indexed)), default=default)
    custom = st.text_input("Your own models (comma-separated)", key=f"{key}_custom", placeholder=CUSTOM_MODELS_HELP)
    return list(dict.fromkeys(chosen + [model_key(c) for c in custom.split(",") if model_key(c)]))


def dataset_caption(ds: Dataset) -> None:
    st.caption(f"Dataset **{ds.name}**: {len(ds.documents):,} documents, {len(ds.judged_queries):,} judged "
               f"questions, {sum(len(v) for v in ds.qrels.values()):,} judgments.")


def server_capabilities():
    """What the connected Milvus can run (rag.capabilities), or None when Milvus is down."""
    from rag.milvus_server import MilvusUnavailable

    try:
        return _workbench().store.capabilities
    except MilvusUnavailable:
        return None


def sidebar_status() -> None:
    """Which Milvus, whether it answers, the LLM, and which models can run."""
    from rag.capabilities import models_on
    from rag.embedders import runtime_info
    from rag.milvus_server import MilvusUnavailable
    from rag.settings import get_settings

    with st.sidebar:
        st.markdown("### Status")
        try:  # ping over the cached connection: no new client on every rerun
            wb = _workbench()
            wb.store.ping()
            ok, msg = True, f"{wb.info.describe()} answers ({wb.store.capabilities.short()})"
        except MilvusUnavailable as e:
            ok, msg = False, str(e)
        (st.success if ok else st.error)(msg, icon="🗄️")
        s = session_settings()
        mine = " (this session's key)" if "llm_keys" in st.session_state else ""
        if s.openai_key:
            st.info(f"LLM: OpenAI-compatible API{' at ' + s.openai_base_url if s.openai_base_url else ''}{mine}",
                    icon="🤖")
        else:
            st.caption("🤖 No LLM configured: offline mode (extractive answers, non-LLM Ragas metrics). "
                       "Set OPENAI_API_KEY (environment, .env or below) to enable LLM answers and judges.")
        with st.expander("API key and endpoint"):
            key = st.text_input("OpenAI API key", type="password", key="openai_key_input",
                                help="Used by this browser session only (kept in its memory, never on disk, "
                                     "never shared with other sessions); the environment's key is the default.")
            base = st.text_input("Base URL (Ollama, vLLM, …)", value=get_settings().openai_base_url or "",
                                 key="base_url_input")
            if st.button("Use these"):
                _apply_llm_settings(key, base)
                st.rerun()
        st.caption("🖥️ Local encoders: {device}, batch {embed_batch} (WORKBENCH_DEVICE, WORKBENCH_EMBED_BATCH)"
                   .format(**runtime_info()))
        with st.expander("Models"):
            # this session's keys and the server's limits too (bm25 needs Milvus >= 2.5)
            for spec, ok, why in models_on(server_capabilities(), session_settings()):
                st.markdown(f"{'🟢' if ok else '⚪'} **{spec.name}** — {spec.label}" + ("" if ok else f"  \n_{why}_"))


def _apply_llm_settings(key: str, base_url: str) -> None:
    """Keep a typed key / base URL in this session's state: never ``os.environ``, which every browser
    session of this server shares (measured: a typed key was used and billed by other sessions)."""
    from rag.settings import get_settings

    if key or (base_url and base_url != (get_settings().openai_base_url or "")):
        st.session_state["llm_keys"] = (key, base_url)
    else:
        st.session_state.pop("llm_keys", None)


def session_settings():
    """This browser session's settings, passed explicitly to the generator, judge and test-set LLM:
    the app-wide ones (environment, ``.env``) with a key / base URL typed in the sidebar."""
    from rag.settings import get_settings

    typed = st.session_state.get("llm_keys")
    return get_settings().with_keys(*typed) if typed else get_settings()


def show_error(e: Exception, what: str) -> None:
    """One clear message, the app stays up."""
    st.error(f"{what} failed: {e}", icon="⚠️")
