"""Retrieval: the article's side-by-side table per query, and metrics with uncertainty per model.

An image dataset is evaluated here (and only here) with clip:/img: models: a Queries choice picks all,
the text or the image queries, and each model that cannot evaluate them says why before any work."""

import streamlit as st

from rag.i18n import _
from ui.interface_language import use_session_language
from ui.language_panel import language_caption, model_fit_notes
from ui.pickers import fit_check, keep, kept, model_picker, query_kind_picker
from ui.retrieval_panel import compare, metrics_panel, shown_result
from ui.sign_in import require_sign_in
from ui.state import current_dataset, index_config
from ui.tables import dataset_caption, query_drilldown

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("🔎 " + _("Retrieval"))
ds = current_dataset()
dataset_caption(ds)
language_caption(ds)
st.caption(_("Index: {index} (set on the Index page)").format(index=index_config().label()))
if not ds.judged_queries:
    st.warning(_("This dataset has no relevance judgments, so retrieval cannot be scored. Add a 'relevant' "
                 "column to the questions on the Data page."))
    st.stop()

queries = query_kind_picker(ds, "retrieval_queries")
c1, c2 = st.columns([3, 1])
with c1:
    models = model_picker(_("Models"), "retrieval_models", prefer_indexed=True, modality=ds.modality)
k_key = kept("retrieval_k")  # kept across page switches, like the models typed (Streamlit drops widget keys)
k = keep(k_key, c2.number_input(_("k (top documents)"), 1, 100, None if k_key in st.session_state
                                else 4 if len(ds.documents) <= 100 else 10, key=k_key))
if ds.modality in ("image", "video") and not models:
    st.info(_("Image datasets are searched with image models: type a clip:FOLDER (CLIP / SigLIP: text and image "
              "queries) or img:FOLDER (ResNet / ViT / DINOv2: image queries only) spec above."))
if ds.modality == "audio" and not models:
    st.info(_("Audio datasets are searched with audio models: type a clap:FOLDER (CLAP: text and audio queries) "
              "or aud:FOLDER (AST / wav2vec2: audio queries only) spec above."))
fits = fit_check(models, ds.select_queries(queries))  # an img: model given text queries, a text model on images
model_fit_notes(models, ds)  # next to its scores: an English model on Chinese documents

if st.button(_("Compare"), type="primary", disabled=not models or not fits):
    compare(ds, models, k, queries)

result, run_id = shown_result(ds, queries)
if result is None:
    st.info(_("Choose models and k, then press **Compare**."))
    st.stop()
if not metrics_panel(result, run_id):
    st.stop()

st.subheader(_("Per query: which documents each model ranks where"))
query_drilldown(ds.select_queries(queries), result)
