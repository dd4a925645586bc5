"""Index: pick embedding models and build one Milvus collection per model, with live progress."""

import time

import pandas as pd
import streamlit as st

from evaluators.formatting import display_frame, missing
from rag.capabilities import models_on
from rag.embedders import ModelUnavailable, model_key, resolve_all
from ui.common import (
    CUSTOM_MODELS_HELP,
    chunking,
    current_dataset,
    dataset_caption,
    index_settings,
    server_capabilities,
    session_settings,
    show_error,
    workbench,
)

# Collections built before a field was recorded have it empty; the table says so.
COLLECTION_REASONS = dict.fromkeys(["dataset", "model", "index", "chunking"], "not recorded")
st.title("🗄️ Index")
ds = current_dataset()
dataset_caption(ds)

caps = server_capabilities()  # models and index types this Milvus cannot run are shown disabled, with why
models = models_on(caps, session_settings())
st.dataframe(pd.DataFrame([{"model": m.name, "what": m.label, "kind": m.kind, "can run": "🟢 yes" if ok else "⚪ no",
                            "why not": missing() if ok else why} for m, ok, why in models]),
             hide_index=True, width="stretch")
runnable = [m.name for m, ok, _ in models if ok]
chosen = st.multiselect("Models to index", runnable, default=[m for m in ("minilm", "bm25") if m in runnable],
                        help="Models that cannot run here are listed above with the reason.")
custom = st.text_input("Your own models (comma-separated)", placeholder=CUSTOM_MODELS_HELP)
cfg = index_settings(caps)  # app-wide: Retrieval, RAG quality and Load test use the same index

names = list(dict.fromkeys(chosen + [model_key(c) for c in custom.split(",") if model_key(c)]))
if st.button("Build collections", type="primary", disabled=not names):
    wb = workbench(cfg)
    try:
        # unknown or unavailable models fail here, before anything is written
        for key, spec in resolve_all(names, check=True, settings=session_settings()).items():
            if why := (caps.model_reason(spec) if caps else None):
                raise ModelUnavailable(f"{key}: {why}")
    except ModelUnavailable as e:
        st.error(str(e), icon="⚠️")
        wb = None
    if wb is not None:
        bars = {n: st.progress(0.0, text=f"{n}: waiting") for n in names}
        started: dict[str, float] = {}

        def progress(model, stage, done, total):  # model: the spec string as typed
            t0 = started.setdefault(model, time.perf_counter())
            elapsed = max(time.perf_counter() - t0, 1e-6)
            rate = done / elapsed if done else 0.0
            eta = (total - done) / rate if rate else float("nan")
            speed = f" · {rate:,.0f} docs/s · {eta:,.0f} s left" if rate and elapsed > 0.5 else ""
            bars[model].progress(done / max(total, 1), text=f"{model}: {stage} {done:,}/{total:,} docs{speed}")

        try:
            built = wb.index(ds, names, chunking(), progress)
        except Exception as e:  # Milvus or model errors: show, keep what was built
            show_error(e, "Indexing")
        else:
            st.success("Ready: " + ", ".join(f"{m} ({'reused' if b.reused else f'{b.docs_per_s:,.0f} docs/s'})"
                                             for m, b in built.items()), icon="✅")
            st.session_state["indexed_models"] = list(built)

wb = workbench(cfg)
if wb is not None:
    st.subheader("Collections in Milvus")
    st.caption("Each index configuration keeps its own collections; a build replaces only its own stale "
               "build (same dataset, model, chunking and index, changed documents).")
    cols = wb.store.collections()
    st.dataframe(display_frame(pd.DataFrame(cols), COLLECTION_REASONS) if cols else
                 pd.DataFrame([{"name": missing("no collections yet: build one above"), "rows": "0"}]),
                 hide_index=True, width="stretch")
    if cols:
        drop = st.selectbox("Drop a collection", [c["name"] for c in cols], index=None,
                            format_func=lambda n: next(f"{n} ({c['dataset']} · {c['model'] or 'model not recorded'}"
                                                       f"{' · ' + c['index'] if c['index'] else ''})"
                                                       for c in cols if c["name"] == n),
                            placeholder="choose one (it is rebuilt on the next build that needs it)")
        if drop and st.button(f"Drop {drop}"):
            wb.store.drop(drop)
            st.rerun()
