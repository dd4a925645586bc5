"""Decide: the front door. State what you need, and the six steps run to a decision record."""

import streamlit as st

from rag.models.registry import REGISTRY
from ui.decide_panel import brief_form, run_flow, show_record
from ui.state import current_dataset

st.title("🧭 Decide")
st.write("Choose an embedding model in six steps: your brief, your data analysed, a shortlist with reasons, "
         "an evaluation on your data, a deployment plan and the checks to keep it true, ending in a decision "
         "record you can forward. Each step's own page stays available for experts.")

ds = current_dataset()
st.caption(f"Dataset: **{ds.name}** · {len(ds.documents):,} documents, {len(ds.queries):,} questions "
           "(change it on the Data page).")
brief = brief_form()
models = st.multiselect("Candidates (empty: every model in the registry)", list(REGISTRY),
                        default=["minilm", "bm25", "hybrid"], key="decide_models")
if st.button("Decide", type="primary", disabled=brief is None):
    run_flow(brief, models)
show_record(st.session_state.get("decide_record"))
