"""Data: choose a built-in sample (text or images), a BEIR folder, an image folder, tables with a column mapping,
or documents."""

import streamlit as st

from rag.i18n import _
from ui.data_sources import SOURCE_FORMS, SOURCES
from ui.interface_language import keep_on_switch, use_session_language
from ui.language_panel import language_caption, language_details
from ui.sign_in import require_sign_in
from ui.state import current_dataset
from ui.tables import dataset_caption, dataset_tabs

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("📂 " + _("Data"))
st.write(_("Pick what to evaluate on. Every file is validated before anything is indexed; an error names the "
           "file, line and field (in a workbook the sheet, row and column), and the current dataset stays loaded."))

source = st.radio(_("Source"), SOURCES, horizontal=True, key=keep_on_switch("data_source"), format_func=_)
SOURCE_FORMS[source]()

st.divider()
ds = current_dataset()
dataset_caption(ds)
language_caption(ds)
dataset_tabs(ds)
language_details(ds)  # below the preview: the documents stay the page's first table
