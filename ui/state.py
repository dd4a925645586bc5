"""Session state no widget owns: the current dataset, its chunking, the app-wide index settings and
this session's LLM key / base URL.

Why keys no widget owns: Streamlit deletes a widget's key on every run where that widget is not
rendered (a page switch), so a choice kept only in the Index page's selectbox fell back to FLAT on the
Retrieval page. The widgets of ``index_settings`` are seeded from these keys and copy their value back
on change (tests/pages/test_page_index_settings.py switches pages and back).

Usage:
    ds = current_dataset()          # the sample until the Data page loads another
    cfg = index_config()            # FLAT/COSINE until the Index page changes it
    settings = session_settings()   # app-wide settings with this session's typed key
"""

from __future__ import annotations

import streamlit as st

from rag.data.dataset import Dataset
from rag.i18n import _

INDEX_KEYS = {"type": "app_index_type", "metric": "app_index_metric", "params": "app_index_params",
              "analyzer": "app_bm25_analyzer"}


@st.cache_data(show_spinner=False)
def _cached_sample() -> Dataset:
    from rag.data.samples.text import load_sample

    return load_sample()


def _sample() -> Dataset:
    with st.spinner(_("Loading the sample…")):
        return _cached_sample()


def current_dataset() -> Dataset:
    """The dataset chosen on the Data page; the built-in sample until the user picks another."""
    if "dataset" not in st.session_state:
        st.session_state["dataset"] = _sample()
    return st.session_state["dataset"]


def set_dataset(ds: Dataset, chunking: str = "") -> None:
    st.session_state["dataset"] = ds
    st.session_state["chunking"] = chunking
    st.session_state.pop("retrieval_result", None)


def remember_asr(ds: Dataset, record: dict) -> None:
    """The speech-to-text record (``evaluators.retrieval.asr_record``) of a dataset the Data page transcribed."""
    st.session_state.setdefault("asr_records", {})[ds.content_hash()] = record


def asr_record(ds: Dataset) -> dict | None:
    """The speech-to-text record of ``ds`` if this session transcribed it (by content hash: the same
    transcript, whatever its name), else None."""
    records = st.session_state.get("asr_records") or {}
    return records.get(ds.content_hash()) if records else None


def chunking() -> str:
    return st.session_state.get("chunking", "")


def index_config():
    """The app-wide IndexConfig (FLAT/COSINE with default parameters until the user chooses)."""
    from rag.milvus.index_config import IndexConfig

    ss = st.session_state
    t = ss.get(INDEX_KEYS["type"], "FLAT")
    params = (ss.get(INDEX_KEYS["params"]) or {}).get(t, {})
    return IndexConfig(t, ss.get(INDEX_KEYS["metric"], "COSINE"), dict(params), ss.get(INDEX_KEYS["analyzer"], "auto"))


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
    from rag.milvus.index_config import INDEX_TYPES, METRICS

    no_index = {t: caps.index_reason(t) for t in INDEX_TYPES if caps and caps.index_reason(t)}
    offered = [t for t in INDEX_TYPES if t not in no_index]
    if index_config().index_type not in offered:
        st.session_state[INDEX_KEYS["type"]] = offered[0]
        st.session_state.pop("w_index_type", None)
    cfg = index_config()
    c1, c2 = st.columns(2)
    c1.selectbox(_("Index type (dense models)"), offered, key=_seeded("w_index_type", cfg.index_type),
                 on_change=_copy, args=("w_index_type", INDEX_KEYS["type"]),
                 help=_("FLAT is exact search: the fair default for comparing models. The choice holds app-wide."))
    for why in no_index.values():
        c1.caption(f"⚪ {why}")
    c2.selectbox(_("Metric"), list(METRICS), key=_seeded("w_index_metric", cfg.metric),
                 on_change=_copy, args=("w_index_metric", INDEX_KEYS["metric"]))
    cfg = index_config()
    build, search = INDEX_TYPES[cfg.index_type]
    values = cfg.all_params()
    cols = st.columns(max(len(values), 1))
    for col, name in zip(cols, values):
        wk = f"w_index_param_{cfg.index_type}_{name}"
        col.number_input(name, min_value=1, max_value=65536, step=1, key=_seeded(wk, values[name]),
                         on_change=_copy_param, args=(cfg.index_type, name, wk),
                         help=_("build parameter: a change builds a new collection") if name in build
                         else _("search parameter: applies at query time, the collection is reused"))
    return index_config()


def apply_llm_settings(key: str, base_url: str) -> None:
    """Keep a typed key / base URL in this session's state: never ``os.environ``, which every browser
    session of this server shares (measured: a typed key was used and billed by other sessions)."""
    from rag.settings import get_settings

    if key or (base_url and base_url != (get_settings().openai_base_url or "")):
        st.session_state["llm_keys"] = (key, base_url)
    else:
        st.session_state.pop("llm_keys", None)


def apply_provider_key(base_url: str, key: str) -> None:
    """Keep a typed embedding-provider key in this session's state, bound to that provider's URL."""
    keys = dict(st.session_state.get("provider_keys", {}))
    if key:
        keys[base_url] = key
    else:
        keys.pop(base_url, None)
    st.session_state["provider_keys"] = keys


def session_settings():
    """This browser session's settings, passed explicitly to the generator, judge and test-set LLM:
    the app-wide ones (environment, ``.env``) with a key / base URL typed in the sidebar, and provider
    keys typed on the Index page (each bound to its provider's URL)."""
    from rag.settings import get_settings

    typed = st.session_state.get("llm_keys")
    s = get_settings().with_keys(*typed) if typed else get_settings()
    provider_keys = st.session_state.get("provider_keys")
    return s.with_endpoint_keys(provider_keys) if provider_keys else s
