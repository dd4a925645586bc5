"""Index: pick embedding models and build one Milvus collection per model, with live progress."""

import streamlit as st

from rag.capabilities import models_on
from ui.index_panel import build, collections_panel, model_chooser
from ui.pickers import model_keys
from ui.resources import server_capabilities
from ui.state import current_dataset, index_settings, session_settings
from ui.tables import dataset_caption

st.title("🗄️ Index")
ds = current_dataset()
dataset_caption(ds)

caps = server_capabilities()  # models and index types this Milvus cannot run are shown disabled, with why
chosen, custom = model_chooser(models_on(caps, session_settings()))
cfg = index_settings(caps)  # app-wide: Retrieval, RAG quality and Load test use the same index

names = model_keys(chosen, custom)
if st.button("Build collections", type="primary", disabled=not names):
    build(ds, names, caps, cfg)

collections_panel(cfg)
