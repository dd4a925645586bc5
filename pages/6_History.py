"""History: every stored run. List, filter, open, delete (with undo), compare, export, report.

Thin by design: the panels are in ``ui/history_panel.py``; reading, statistics, exports and the report
live in ``rag.runs.export``, ``evaluators.stats.comparison``, ``evaluators.report.frontier`` and
``evaluators.report.build``.
"""

import streamlit as st

from rag.i18n import _
from rag.runs import RunStore
from ui.history_panel import compare_runs, open_run, run_list, undo_banner
from ui.interface_language import use_session_language
from ui.sign_in import require_sign_in

use_session_language()  # the session's language, also when this page runs on its own (AppTest)
require_sign_in()  # and its user: a page run on its own (AppTest, Streamlit's pages/ fallback) is gated too
st.title("🗂️ " + _("History"))
store = RunStore.default()
undo_banner(store)

runs = store.list(limit=2000)
if not runs:
    st.info(_("No runs yet. Retrieval, RAG quality and load-test runs appear here (also `python cli.py runs`)."))

    st.stop()

selected = run_list(runs)
if not selected:
    st.stop()
if len(selected) == 1:
    open_run(store, selected[0])
else:
    compare_runs(store, selected)
