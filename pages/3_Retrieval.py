"""Retrieval: the article's side-by-side table per query, and metrics with uncertainty per model."""

import streamlit as st

from ui.pickers import model_picker
from ui.retrieval_panel import compare, metrics_panel, shown_result
from ui.state import current_dataset, index_config
from ui.tables import dataset_caption, query_drilldown

st.title("🔎 Retrieval")
ds = current_dataset()
dataset_caption(ds)
st.caption(f"Index: {index_config().label()} (set on the Index page)")
if not ds.judged_queries:
    st.warning("This dataset has no relevance judgments, so retrieval cannot be scored. Add a 'relevant' column "
               "to the questions on the Data page.")
    st.stop()

c1, c2 = st.columns([3, 1])
with c1:
    models = model_picker("Models", "retrieval_models", prefer_indexed=True)
k = c2.number_input("k (top documents)", 1, 100, 4 if len(ds.documents) <= 100 else 10)

if st.button("Compare", type="primary", disabled=not models):
    compare(ds, models, k)

result, run_id = shown_result(ds)
if result is None:
    st.info("Choose models and k, then press **Compare**.")
    st.stop()
if not metrics_panel(result, run_id):
    st.stop()

st.subheader("Per query: which documents each model ranks where")
query_drilldown(ds, result)
