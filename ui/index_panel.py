"""The Index page's panels: which models can run here, building collections with live progress, and
the collections in Milvus (with a drop).

Usage:
    chosen, custom = model_chooser(models_on(caps, session_settings()))
    build_panel(ds, names, caps, cfg)
    collections_panel(cfg)
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from evaluators.formatting import display_frame, missing
from rag.i18n import N_, _, fmt_number
from ui.errors import show_error
from ui.model_limits import limits_for
from ui.pickers import CUSTOM_MODELS_HELP, OWN_MODELS_LABEL, default_models
from ui.progress import index_bars
from ui.resources import retriever
from ui.state import chunking, session_settings

# Collections built before a field was recorded have it empty; the table says so.
COLLECTION_REASONS = dict.fromkeys(["dataset", "model", "index", "chunking"], "not recorded")
MODEL_KINDS = (N_("dense"), N_("sparse"), N_("hybrid"))  # a registry model's kind, shown translated


def models_frame(models) -> pd.DataFrame:
    """One row per registry model: whether it can run here and, when not, why (English: the frame the tests read;
    shown through ``ui.tables.localized``)."""
    return pd.DataFrame([{"model": m.name, "what": _(m.label), "kind": m.kind, "can run": "🟢 yes" if ok else "⚪ no",
                          "why not": missing() if ok else _(why)} for m, ok, why in models])


def collection_label(cols: list[dict], name: str) -> str:
    """"name (dataset · model · index)" for the drop picker."""
    unknown = _("model not recorded")  # not inside the f-string: the catalog's extractor reads only plain calls
    return next(f"{name} ({c['dataset']} · {c['model'] or unknown}"
                f"{' · ' + c['index'] if c['index'] else ''})" for c in cols if c["name"] == name)


def model_chooser(models) -> tuple[list[str], str]:
    """The models table, then the models to index (runnable ones) and the user's own specs (as typed)."""
    from ui.tables import localized

    st.dataframe(localized(models_frame(models)), hide_index=True, width="stretch")
    runnable = [m.name for m, ok, _why in models if ok]
    chosen = st.multiselect(_("Models to index"), runnable, default=default_models(runnable), key="index_chosen",
                            help=_("Models that cannot run here are listed above with the reason."))
    return chosen, st.text_input(_(OWN_MODELS_LABEL), placeholder=CUSTOM_MODELS_HELP, key="index_own_models")


def checked(names: list[str], caps) -> bool:
    """Unknown or unavailable models, and on a shared app model folders outside WORKBENCH_DATA_ROOTS, fail here,
    before anything is written (the error is shown)."""
    from rag.models.base import ModelUnavailable
    from rag.models.registry import resolve_all
    from ui.sign_in import refused_models

    if refused_models(names):
        return False

    try:
        for key, spec in resolve_all(names, check=True, settings=session_settings()).items():
            if why := (caps.model_reason(spec) if caps else None):
                raise ModelUnavailable(f"{key}: {why}")
    except ModelUnavailable as e:
        st.error(str(e), icon="⚠️")
        return False
    return True


def build(ds, names: list[str], caps, cfg) -> None:
    """Build one collection per model with a bar each; say which were reused and how fast the others went."""
    wb = retriever(cfg)
    if not checked(names, caps) or wb is None:
        return
    try:
        built = wb.index(ds, names, chunking(), index_bars(names))
    except Exception as e:  # Milvus or model errors: show, keep what was built
        show_error(e, _("Indexing"))
    else:
        st.success(_("Ready: {models}").format(models=", ".join(
            _("{model} (reused)").format(model=m) if b.reused else
            _("{model} ({rate} docs/s)").format(model=m, rate=fmt_number(round(b.docs_per_s)))
            for m, b in built.items())), icon="✅")
        st.session_state["indexed_models"] = list(built)
        limits_for(ds, list(built), cfg, session_settings())


TABLE_ROW_PX = 35  # Streamlit's data grid row height


def collections_panel(cfg) -> None:
    """Every collection in this Milvus, and a drop for one of them."""
    wb = retriever(cfg)
    if wb is None:
        return
    from ui.tables import localized

    st.subheader(_("Collections in Milvus"))
    st.caption(_("Each index configuration keeps its own collections; a build replaces only its own stale "
                 "build (same dataset, model, chunking and index, changed documents)."))
    cols = wb.store.collections()
    st.dataframe(localized(display_frame(pd.DataFrame(cols), COLLECTION_REASONS) if cols else
                           pd.DataFrame([{"name": missing(N_("no collections yet: build one above")), "rows": "0"}])),
                 hide_index=True, width="stretch",
                 # every collection in view up to 40 (auto shows ten), then the grid scrolls
                 height=TABLE_ROW_PX * (min(max(len(cols), 1), 40) + 1) + 3)
    if cols:
        drop = st.selectbox(_("Drop a collection"), [c["name"] for c in cols], index=None, key="drop_collection",
                            format_func=lambda n: collection_label(cols, n),
                            placeholder=_("choose one (it is rebuilt on the next build that needs it)"))
        if drop and st.button(_("Drop {collection}").format(collection=drop)):
            wb.store.drop(drop)
            st.rerun()
