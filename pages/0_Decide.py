"""Decide: the front door. State what you need, and the six steps run to a decision record."""

import streamlit as st

from rag.i18n import _, fmt_number
from ui.decide_brief import brief_form
from ui.decide_panel import run_flow, show_steps
from ui.decide_record import show_record
from ui.interface_language import use_session_language
from ui.sign_in import require_sign_in
from ui.state import current_dataset

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("🧭 " + _("Decide"))
st.write(_("Choose an embedding model in six steps: your brief, your data analysed, a shortlist with reasons, "
           "an evaluation on your data, a deployment plan and the checks to keep it true, ending in a decision "
           "record you can forward. Each step's own page stays available for experts."))

ds = current_dataset()
st.caption(_("Dataset: **{name}** · {documents} documents, {questions} questions (change it on the Data page).")
           .format(name=ds.name, documents=fmt_number(len(ds.documents)), questions=fmt_number(len(ds.queries))))
asked = brief_form()
if asked:
    run_flow(*asked)
record = st.session_state.get("decide_record")
if record:
    show_steps(record)
    show_record(record)
else:
    st.info(_("State the brief, pick candidates and press **Decide**: every step runs on the current dataset."))
