"""Pickers the pages share: embedding models, an LLM (provider, model, base URL), a stored run, a metric.

Usage:
    models = model_picker("Models", "retrieval_models", prefer_indexed=True)
    spec, base_url = llm_picker("Judge", ["none", *PROVIDERS], "none")
    run_id = run_picker("Run", runs, st.session_state.get("rag_run_id"))
"""

from __future__ import annotations

import streamlit as st

from ui.state import session_settings

CUSTOM_MODELS_HELP = ("st:/path/to/model-folder, oai:nomic-embed-text@http://127.0.0.1:11434/v1, "
                      "openai-3-small:512")
OWN_MODELS_LABEL = "Your own models (comma-separated)"
DEFAULT_MODELS = ("minilm", "bm25")


def model_keys(chosen: list[str], custom: str) -> list[str]:
    """The picked models then the typed specs (comma-separated), as model keys, each once, in order."""
    from rag.embedders import model_key

    return list(dict.fromkeys(chosen + [model_key(c) for c in custom.split(",") if model_key(c)]))


def default_models(runnable: list[str]) -> list[str]:
    """minilm and bm25 where they can run: the offline pair every page starts with."""
    return [m for m in DEFAULT_MODELS if m in runnable]


def index_of(options: list, value) -> int:
    """The position of ``value`` among ``options`` for a selectbox's ``index``, the first when absent."""
    return options.index(value) if value in options else 0


def model_picker(label: str, key: str, prefer_indexed: bool = False) -> list[str]:
    """Registry models that can run here (keys, folders and this Milvus server's features: a model the
    server cannot run is left out, with why, as on the Index page), the ones indexed on the Index page (the
    user's own spec strings included) and a field for more specs: the model keys a job runs and records under."""
    from rag.capabilities import models_on
    from ui.resources import server_capabilities

    options = models_on(server_capabilities(), session_settings())
    runnable = [m.name for m, ok, _ in options if ok]
    indexed = [m for m in st.session_state.get("indexed_models") or [] if m]
    default = (indexed if prefer_indexed else []) or default_models(runnable)
    chosen = st.multiselect(label, list(dict.fromkeys(runnable + indexed)), default=default,
                            help=unavailable_help(options))
    custom = st.text_input(OWN_MODELS_LABEL, key=f"{key}_custom", placeholder=CUSTOM_MODELS_HELP)
    return model_keys(chosen, custom)


def unavailable_help(options: list[tuple[object, bool, str]]) -> str | None:
    """The models left out of a picker and why (``rag.capabilities.models_on``), for its help text."""
    out = [f"{spec.name}: {why}" for spec, ok, why in options if not ok]
    return ("Not offered here: " + "; ".join(out)) if out else None


def llm_picker(role: str, options: list[str], default: str) -> tuple[str, str | None]:
    """Provider + model + base URL → (spec, base_url); 'none'/'extractive' need neither."""
    from rag.generators import GENERATORS
    from rag.llm import PROVIDERS

    c1, c2, c3 = st.columns([2, 2, 3])
    kind = c1.selectbox(role, options, index=options.index(default), key=f"{role}_kind",
                        format_func=lambda o: GENERATORS[o].label if o in GENERATORS else "none (no judge)")
    if kind not in PROVIDERS:
        return kind, None
    model = c2.text_input(f"{role} model", PROVIDERS[kind].default_model, key=f"{role}_{kind}_model")
    url = c3.text_input(f"{role} base URL", PROVIDERS[kind].base_url or "", key=f"{role}_{kind}_url",
                        help=PROVIDERS[kind].help) or None
    return f"{kind}:{model}", url


def run_picker(label: str, runs: list, current: str | None) -> str:
    """A stored run by its label, ``current`` (the one a job just wrote) first when it is listed."""
    ids = [r.id for r in runs]
    return st.selectbox(label, ids, index=index_of(ids, current),
                        format_func=lambda i: next(r.label for r in runs if r.id == i))


def metric_choices(store, ids: list[str]) -> tuple[list[str], int]:
    """Every metric of the runs ``ids`` and the position of the first run's default metric."""
    from evaluators.comparison import default_metric, run_metrics

    names = list(dict.fromkeys(n for i in ids for n in run_metrics(store, store.get(i))))
    return names, index_of(names, default_metric(store, store.get(ids[0])))


def metric_picker(store, ids: list[str], key: str) -> str | None:
    """The metric to compare the runs ``ids`` on (their default first), or None when they have none."""
    names, index = metric_choices(store, ids)
    return st.selectbox("Metric", names, index=index, key=key) if names else None
