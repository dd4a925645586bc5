"""RAG evaluation workbench: the Streamlit entry point.

    streamlit run app.py

Pages live in ``pages/``; this file only sets up navigation and the sidebar status.
"""

from pathlib import Path

import streamlit as st

from rag.i18n import _
from rag.logs import setup_logging
from ui.interface_language import use_session_language
from ui.sidebar import sidebar_status
from ui.sign_in import gate

setup_logging()  # libraries' records (pymilvus retries, transformers) to the data folder's log, not the console
use_session_language()  # first: the titles below and every page speak this session's language
st.set_page_config(page_title=_("RAG workbench"), page_icon="🧪", layout="wide")

if (screen := gate()) is not None:  # sign-in configured and nobody (allowed) signed in: every URL shows it
    st.navigation([st.Page(screen, title=_("Sign in"), icon="🔐")]).run()
    st.stop()

HERE = Path(__file__).resolve().parent
PAGES = [  # (file, title, icon): a new page is one entry; the title is its page's _("…") title key
    ("pages/0_Decide.py", "Decide", "🧭"),   # the front door: the six steps to a decision
    ("pages/1_Data.py", "Data", "📂"),
    ("pages/2_Index.py", "Index", "🗄️"),
    ("pages/3_Retrieval.py", "Retrieval", "🔎"),
    ("pages/4_RAG_quality.py", "RAG quality", "🧠"),
    ("pages/5_Load_test.py", "Load test", "🚦"),
    ("pages/6_History.py", "History", "🗂️"),
    ("pages/7_Sweep.py", "Sweep", "🧪"),
]
page = st.navigation([st.Page(f, title=_(t), icon=i, default=n == 0)
                      for n, (f, t, i) in enumerate(PAGES) if (HERE / f).exists()])
sidebar_status()  # before the page: pages may st.stop() early
page.run()
