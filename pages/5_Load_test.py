"""Load test: Locust against the HTTP service, one model at a time, live; then charts, SLO and web UI."""

import streamlit as st

from loadtests.runner import dataset_spec
from rag.i18n import _
from ui.images import text_only
from ui.interface_language import use_session_language
from ui.load_panel import live_panel, load_form, results_panel, run_controls, web_ui_panel
from ui.sign_in import require_sign_in
from ui.state import current_dataset, index_config
from ui.tables import dataset_caption

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("🚦 " + _("Load test"))
ds = current_dataset()
dataset_caption(ds)
text_only(ds, _("the load-test service searches text collections"))
spec = dataset_spec(ds)
if spec is None:
    st.info(_("The service loads datasets from disk; **{name}** came from an upload, so load tests use the "
              "built-in sample. Load a BEIR folder on the Data page to test on it.").format(name=ds.name))
    spec = "sample"
index = index_config()  # app-wide, chosen on the Index page
st.caption(_("Index: {index} (set on the Index page). Each model runs on its own (the service to itself) with "
             "Locust's `FastHttpUser` on 127.0.0.1; requests ask the dataset's questions. The service loads the "
             "models once and stays up for later runs.").format(index=index.label()))


models, form = load_form()
job, running = run_controls(models, form, spec, index)
live_panel(job, running)
results_panel(running)

st.divider()
web_ui_panel(models, form, spec, index, running)
