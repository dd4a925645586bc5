"""Sweep: compare whole retrieval setups (model × chunking × fusion × k × reranker) and see who is tied."""

import streamlit as st

from evaluators.retrieval.metrics import METRICS
from rag.i18n import _
from ui.images import text_only
from ui.interface_language import use_session_language
from ui.pickers import fit_check, model_picker
from ui.sign_in import require_sign_in
from ui.state import current_dataset
from ui.sweep_panel import grid_fields, leaderboard_panel, plan_panel, rerank_prices, run
from ui.tables import dataset_caption

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("🧪 " + _("Sweep"))
ds = current_dataset()
dataset_caption(ds)
if ds.modality != "audio":  # an audio folder sweeps clap:/aud: models and text models over an ASR model's transcript
    text_only(ds, _("a sweep varies chunking, fusion and rerankers, which are text setups"))
if not ds.judged_queries:
    st.warning(_("This dataset has no relevance judgments, so setups cannot be scored. Add a 'relevant' column "
                 "to the questions on the Data page."))
    st.stop()

models = model_picker(_("Models"), "sweep_models")
# a clip:/img: model typed on a text dataset: the reason (audio: the plan says which text model lacks an ASR model)
fits = fit_check(models, ds) if ds.modality != "audio" else True
setups = grid_fields(models)
prices = rerank_prices()  # only asked when an endpoint reranker is in the grid
rank_by = st.selectbox(_("Rank by"), ["ndcg", *(m for m in METRICS if m != "ndcg")], key="sweep_rank_by")
ready = bool(setups) and plan_panel(ds, setups)
if st.button(_("Run sweep"), type="primary", disabled=not ready or not fits or prices is None, key="sweep_run"):
    run(ds, setups, rank_by, prices)

result = st.session_state.get("sweep_result")
if result is None or result.dataset != ds.name:
    st.info(_("Choose models and the grid, then press **Run sweep**."))

    st.stop()
leaderboard_panel(result)
