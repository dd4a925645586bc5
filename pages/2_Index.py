"""Index: pick embedding models and build one Milvus collection per model, with live progress.

An image dataset is indexed with clip:/img: models (typed, as on the Retrieval page): the registry's
models embed text, and a model that cannot evaluate the dataset says why before anything is built."""

import streamlit as st

from rag.i18n import _
from rag.milvus.capabilities import models_on
from ui.index_panel import build, collections_panel, model_chooser
from ui.interface_language import use_session_language
from ui.language_panel import analyzer_setting, language_caption, model_fit_notes
from ui.pickers import fit_check, model_keys, model_picker
from ui.providers_panel import providers_panel
from ui.resources import server_capabilities
from ui.sign_in import require_sign_in
from ui.state import current_dataset, index_config, index_settings, session_settings
from ui.tables import dataset_caption

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("🗄️ " + _("Index"))
ds = current_dataset()
dataset_caption(ds)
language_caption(ds)

caps = server_capabilities()  # models and index types this Milvus cannot run are shown disabled, with why
if ds.modality in ("image", "audio", "video"):  # a video folder: image models on its frames
    names = model_picker(_("Models to index"), "index_models", modality=ds.modality)
    # indexing embeds the corpus only: an img:/aud: model indexes it too
    ds = ds.select_queries("image" if ds.modality == "video" else ds.modality)
else:
    names = model_keys(*model_chooser(models_on(caps, session_settings())))
fits = fit_check(names, ds)  # a text model on images, an image model on text: the reason, nothing built
model_fit_notes(names, ds)  # an English model on Chinese documents: said, not refused
cfg = index_settings(caps)  # app-wide: Retrieval, RAG quality and Load test use the same index
if ds.modality == "text":
    analyzer_setting(caps, ds)  # app-wide too
    cfg = index_config()

if st.button(_("Build collections"), type="primary", disabled=not names or not fits):
    build(ds, names, caps, cfg)
if ds.modality == "text":
    providers_panel()  # Cohere, Voyage, Jina, Gemini, DashScope, Zhipu, SiliconFlow: price, limits, keys

collections_panel(cfg)
