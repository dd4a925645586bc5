"""RAG quality: answers from each model's top-k contexts, scored with Ragas (judge LLM optional)."""

import streamlit as st

from rag.i18n import N_, _
from rag.models.generators import GENERATORS
from rag.models.llm import PROVIDERS
from rag.runs import RunStore
from ui.images import text_only
from ui.interface_language import use_session_language
from ui.pickers import fit_check, llm_picker, model_picker
from ui.sign_in import require_sign_in
from ui.state import current_dataset
from ui.tables import dataset_caption

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("🧠 " + _("RAG quality"))
text_only(current_dataset(), _("answers are generated from text contexts"))
with st.spinner(_("Loading Ragas…")):
    from ui.rag_panel import dataset_runs, rag_config, run_button, run_panel, testset_panel
ds, store = current_dataset(), RunStore.default()
dataset_caption(ds)

c1, c2 = st.columns([3, 1])
with c1:
    models = model_picker(_("Embedding models"), "rag_models")
fit_check(models, ds)  # a clip:/img: model typed on a text dataset: the reason (the job refuses it too)
k = int(c2.number_input(_("Top-k contexts"), 1, 20, 4, key="rag_k"))
# the role names the pickers' widget keys: marked for the catalog, translated where the picker shows them
generator, gen_url = llm_picker(N_("Generator"), list(GENERATORS), "extractive")
judge, judge_url = llm_picker(N_("Judge"), ["none", *PROVIDERS], "none")
cfg = rag_config(ds, models, k, generator, gen_url, judge, judge_url)
run_button(ds, cfg, models, store)
testset_panel(ds)

runs = dataset_runs(store, ds)
if not runs:
    st.info(_("Choose models, a generator and (optionally) a judge, then press **Run**."))

    st.stop()
run_panel(ds, store, runs)
