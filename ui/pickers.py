"""Pickers the pages share: embedding models, an LLM (provider, model, base URL), a stored run, a metric.

Usage:
    models = model_picker("Models", "retrieval_models", prefer_indexed=True, modality=ds.modality)
    if fit_check(models, ds): ...           # each model that cannot evaluate ds: an error with why
    spec, base_url = llm_picker("Judge", ["none", *PROVIDERS], "none")
    run_id = run_picker("Run", runs, st.session_state.get("rag_run_id"))
"""

from __future__ import annotations

import streamlit as st

from rag.i18n import N_, _
from ui.sign_in import refused_models
from ui.state import session_settings

CUSTOM_MODELS_HELP = ("hf:BAAI/bge-small-zh-v1.5, st:/path/to/model-folder, "
                      "oai:nomic-embed-text@http://127.0.0.1:11434/v1, minilm#dim=256, voyage:voyage-3.5")
IMAGE_MODELS_HELP = "clip:/path/to/clip-or-siglip-folder, img:/path/to/resnet-vit-or-dinov2-folder"
AUDIO_MODELS_HELP = "clap:/path/to/clap-folder, aud:/path/to/ast-or-wav2vec2-folder"
OWN_MODELS_LABEL = N_("Your own models (comma-separated)")  # shown with _(OWN_MODELS_LABEL)
OWN_MODELS_TIP = N_("Text datasets: hf:ORG/NAME[@REVISION] (the Hugging Face hub, HF_ENDPOINT for a mirror), "
                  "st:FOLDER (a sentence-transformers folder), oai:MODEL@BASE_URL (an "
                  "OpenAI-compatible endpoint), openai-3-small:DIMS, PROVIDER:MODEL[:DIMS] (cohere, voyage, jina, "
                  "gemini, dashscope, zhipu, siliconflow: see the Index page's providers table). "
                  "Image datasets: clip:FOLDER (a CLIP / SigLIP "
                  "folder saved with transformers, or a sentence-transformers CLIP: text and image queries) and "
                  "img:FOLDER (a ResNet / ViT / DINOv2 backbone: image queries only). Options after #, e.g. "
                  "hf:intfloat/multilingual-e5-small#query=query:%20&dim=256 (query, document, dim, max_tokens, "
                  "revision; %20 for a trailing space, %2C for a comma).")
DEFAULT_MODELS = ("minilm", "bm25")
# rag.models.registry's reason an OpenAI model cannot run (English there: the CLI and runs say it), shown with _()
NO_OPENAI_KEY = N_("needs OPENAI_API_KEY (environment, .env, or the sidebar)")


def model_keys(chosen: list[str], custom: str) -> list[str]:
    """The picked models then the typed specs (comma-separated), as model keys, each once, in order."""
    from rag.models.registry import model_key

    return list(dict.fromkeys(chosen + [model_key(c) for c in custom.split(",") if model_key(c)]))


def default_models(runnable: list[str]) -> list[str]:
    """minilm and bm25 where they can run: the offline pair every page starts with."""
    return [m for m in DEFAULT_MODELS if m in runnable]


def kept(widget_key: str, allowed=None, slot: str = "") -> str:
    """``widget_key``, seeded from the last value this session gave it: Streamlit deletes a widget's key on
    every run where it is not rendered (a page switch, see ui/state.py), so a typed model spec or the Queries
    choice came back empty / "all" and the run made with them was no longer shown. Call ``keep`` (same
    ``slot``) after the widget. ``allowed``: the values it may be seeded with; ``slot``: one remembered value
    per slot (the own-models field keeps a text dataset's specs apart from an image dataset's)."""
    app_key = f"app_{widget_key}{slot}"
    if widget_key not in st.session_state and app_key in st.session_state and (
            allowed is None or st.session_state[app_key] in allowed):
        st.session_state[widget_key] = st.session_state[app_key]
    return widget_key


def keep(widget_key: str, value, slot: str = ""):
    """Remember a ``kept`` widget's value for the next time it is rendered; returns the value."""
    st.session_state[f"app_{widget_key}{slot}"] = value
    return value


def index_of(options: list, value) -> int:
    """The position of ``value`` among ``options`` for a selectbox's ``index``, the first when absent."""
    return options.index(value) if value in options else 0


def model_picker(label: str, key: str, prefer_indexed: bool = False, modality: str = "text") -> list[str]:
    """Registry models that can run here (keys, folders and this Milvus server's features: a model the
    server cannot run is left out, with why, as on the Index page), the ones indexed on the Index page (the
    user's own spec strings included) and a field for more specs: the model keys a job runs and records under.
    Only models of the dataset's ``modality`` are offered: an image dataset has no registry model (the
    registry embeds text), only the ``clip:`` / ``img:`` specs typed or indexed."""
    from rag.milvus.capabilities import models_on
    from ui.resources import server_capabilities

    modality = "image" if modality == "video" else modality  # a video is searched by its frames: image models
    options = [o for o in models_on(server_capabilities(), session_settings()) if o[0].modality == modality]
    runnable = [m.name for m, ok, _ in options if ok]
    indexed = [m for m in st.session_state.get("indexed_models") or [] if m and model_modality(m) == modality]
    default = (indexed if prefer_indexed else []) or default_models(runnable)
    offered = list(dict.fromkeys(runnable + indexed))
    chosen = st.multiselect(label, offered, default=default, help=unavailable_help(options),
                            key=f"{key}_chosen") if offered else []
    field = f"{key}_custom"  # kept per modality: an image dataset's clip:/img: specs do not follow a text dataset
    custom = keep(field, st.text_input(_(OWN_MODELS_LABEL), key=kept(field, slot=modality), help=_(OWN_MODELS_TIP),
                                       placeholder={"image": IMAGE_MODELS_HELP, "audio": AUDIO_MODELS_HELP}.get(
                                           modality, CUSTOM_MODELS_HELP)),
                  slot=modality)
    keys = model_keys(chosen, custom)
    no = refused_models(keys)  # a shared app reads model folders under WORKBENCH_DATA_ROOTS only
    return [k for k in keys if k not in no]


def model_modality(key: str) -> str | None:
    """"text" or "image" for a model key (parsed only), None when it does not resolve."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve

    try:
        return resolve(key).modality
    except ModelUnavailable:
        return None


def fit_problems(models: list[str], ds) -> dict[str, str]:
    """Model key → why it cannot evaluate ``ds`` (``rag.models.spec.fit_problem``: a text model on images,
    an image model on text, an img: backbone given text queries). Unknown specs are left to the job,
    which says so."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve
    from rag.models.spec import fit_problem

    out = {}
    for m in models:
        try:
            why = fit_problem(resolve(m), ds)
        except ModelUnavailable:
            continue
        if why:
            out[m] = why
    return out


def fit_check(models: list[str], ds) -> bool:
    """Each model that cannot evaluate ``ds`` as an error with the reason; True when all fit."""
    problems = fit_problems(models, ds)
    for why in problems.values():
        st.error(why, icon="⚠️")
    return not problems


def query_kind_picker(ds, key: str) -> str:
    """An image dataset's "Queries" choice: all, text or image (with counts); "all" for a text dataset."""
    kinds = ds.query_kinds()
    if ds.modality not in ("image", "audio", "video") or not kinds:
        return "all"
    counts = {"all": sum(kinds.values()), **kinds}
    from ui.interface_language import keep_on_switch
    from ui.tables import QUERY_KINDS

    return keep(key, st.radio(_("Queries"), list(counts), horizontal=True, key=keep_on_switch(kept(key, counts)),
                              format_func=lambda o: f"{_(QUERY_KINDS.get(o, o))} ({counts[o]})",
                              help=_("img: / aud: models embed images / sounds only: pick 'image' / 'audio' to "
                                     "evaluate them on those queries.")))


def unavailable_help(options: list[tuple[object, bool, str]]) -> str | None:
    """The models left out of a picker and why (``rag.milvus.capabilities.models_on``), for its help text."""
    out = [f"{spec.name}: {_(why)}" for spec, ok, why in options if not ok]
    return _("Not offered here: {models}").format(models="; ".join(out)) if out else None


def llm_picker(role: str, options: list[str], default: str) -> tuple[str, str | None]:
    """Provider + model + base URL → (spec, base_url); 'none'/'extractive' need neither."""
    from rag.models.generators import GENERATORS
    from rag.models.llm import PROVIDERS

    c1, c2, c3 = st.columns([2, 2, 3])
    # the options' labels formed here, in the session's language (a format_func may run on another thread)
    shown = {o: _(GENERATORS[o].label) if o in GENERATORS else _("none (no judge)") for o in options}
    kind = c1.selectbox(_(role), options, index=options.index(default), key=f"{role}_kind", format_func=shown.get)
    if kind not in PROVIDERS:
        return kind, None
    model = c2.text_input(_("{role} model").format(role=_(role)), PROVIDERS[kind].default_model,
                          key=f"{role}_{kind}_model")
    tip = PROVIDERS[kind].help
    url = c3.text_input(_("{role} base URL").format(role=_(role)), PROVIDERS[kind].base_url or "",
                        key=f"{role}_{kind}_url", help=_(tip) if tip else None) or None
    return f"{kind}:{model}", url


def run_picker(label: str, runs: list, current: str | None) -> str:
    """A stored run by its label, ``current`` (the one a job just wrote) first when it is listed."""
    ids = [r.id for r in runs]
    return st.selectbox(label, ids, index=index_of(ids, current),
                        format_func=lambda i: next(r.label for r in runs if r.id == i))


def metric_choices(store, ids: list[str]) -> tuple[list[str], int]:
    """Every metric of the runs ``ids`` and the position of the first run's default metric."""
    from evaluators.stats.comparison import default_metric, run_metrics

    names = list(dict.fromkeys(n for i in ids for n in run_metrics(store, store.get(i))))
    return names, index_of(names, default_metric(store, store.get(ids[0])))


def metric_picker(store, ids: list[str], key: str) -> str | None:
    """The metric to compare the runs ``ids`` on (their default first), or None when they have none."""
    names, index = metric_choices(store, ids)
    return st.selectbox(_("Metric"), names, index=index, key=key) if names else None
