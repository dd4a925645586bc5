"""Index: pick embedding models and build one Milvus collection per model, with live progress."""

import time

import pandas as pd
import streamlit as st

from pages.common import chunking, current_dataset, dataset_caption, server_capabilities, show_error, workbench
from rag.capabilities import models_on
from rag.embedders import ModelUnavailable, resolve
from rag.store import INDEX_TYPES, METRICS

st.title("🗄️ Index")
ds = current_dataset()
dataset_caption(ds)

caps = server_capabilities()  # models and index types this Milvus cannot run are shown disabled, with why
models = models_on(caps)
st.dataframe(pd.DataFrame([{"model": m.name, "what": m.label, "kind": m.kind, "can run": "🟢 yes" if ok else "⚪ no",
                            "why not": "" if ok else why} for m, ok, why in models]), hide_index=True, width="stretch")
runnable = [m.name for m, ok, _ in models if ok]
chosen = st.multiselect("Models to index", runnable, default=[m for m in ("minilm", "bm25") if m in runnable],
                        help="Models that cannot run here are listed above with the reason.")
custom = st.text_input("Your own models (comma-separated)", placeholder="st:/path/to/model-folder, "
                       "oai:nomic-embed-text@http://127.0.0.1:11434/v1, openai-3-small:512")
c1, c2 = st.columns(2)
no_index = {t: caps.index_reason(t) for t in INDEX_TYPES if caps and caps.index_reason(t)}
index_type = c1.selectbox("Index type (dense models)", [t for t in INDEX_TYPES if t not in no_index], key="index_type",
                          help="FLAT is exact search: the fair default for comparing models.")
for why in no_index.values():
    c1.caption(f"⚪ {why}")
metric = c2.selectbox("Metric", list(METRICS), key="metric")

names = chosen + [c.strip() for c in custom.split(",") if c.strip()]
if st.button("Build collections", type="primary", disabled=not names):
    wb = workbench(index_type, metric)
    try:
        for n in names:  # unknown or unavailable models fail here, before anything is written
            spec = resolve(n)
            ok, why = spec.availability()
            why = why if not ok else (caps.model_reason(spec) if caps else None)
            if why:
                raise ModelUnavailable(f"{n}: {why}")
    except ModelUnavailable as e:
        st.error(str(e), icon="⚠️")
        wb = None
    if wb is not None:
        bars = {n: st.progress(0.0, text=f"{n}: waiting") for n in names}
        started: dict[str, float] = {}

        def progress(model, stage, done, total, _names=tuple(names)):
            key = next((n for n in _names if resolve(n).name == model), model)
            t0 = started.setdefault(model, time.perf_counter())
            elapsed = max(time.perf_counter() - t0, 1e-6)
            rate = done / elapsed if done else 0.0
            eta = (total - done) / rate if rate else float("nan")
            speed = f" · {rate:,.0f} docs/s · {eta:,.0f} s left" if rate and elapsed > 0.5 else ""
            bars[key].progress(done / max(total, 1), text=f"{model}: {stage} {done:,}/{total:,} docs{speed}")

        try:
            built = wb.index(ds, names, chunking(), progress)
        except Exception as e:  # Milvus or model errors: show, keep what was built
            show_error(e, "Indexing")
        else:
            st.success("Ready: " + ", ".join(f"{m} ({'reused' if b.reused else f'{b.docs_per_s:,.0f} docs/s'})"
                                             for m, b in built.items()), icon="✅")
            st.session_state["indexed_models"] = list(built)

wb = workbench(index_type, metric)
if wb is not None:
    st.subheader("Collections in Milvus")
    cols = wb.store.collections()
    st.dataframe(pd.DataFrame(cols or [{"name": "(none yet)", "rows": 0}]), hide_index=True, width="stretch")
    if cols:
        drop = st.selectbox("Drop a collection", [c["name"] for c in cols], index=None,
                            placeholder="choose one (it is rebuilt on the next build)")
        if drop and st.button(f"Drop {drop}"):
            wb.store.drop(drop)
            st.rerun()
