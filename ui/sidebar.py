"""The sidebar app.py draws before every page: Milvus status (and a restart of the embedded server), the run
store's health, the LLM, this session's key and the models."""

from __future__ import annotations

import time

import streamlit as st

from rag.i18n import _, tidy
from ui.interface_language import language_switch
from ui.resources import server_capabilities, shared_retriever
from ui.sign_in import account_box
from ui.state import apply_llm_settings, session_settings


def sidebar_status() -> None:
    """Which Milvus, whether it answers, the LLM, and which models can run."""
    from rag.milvus.capabilities import models_on
    from rag.milvus.server import MilvusUnavailable
    from rag.models.devices import runtime_info
    from rag.settings import get_settings

    with st.sidebar:
        account_box()
        language_switch()
        st.markdown("### " + _("Status"))
        try:  # ping over the cached connection: no new client on every rerun
            wb = shared_retriever()
            wb.store.ping()
            ok, msg = True, tidy(_("{server} answers ({capabilities})").format(
                server=wb.info.describe(), capabilities=wb.store.capabilities.short()))
        except MilvusUnavailable as e:
            ok, msg = False, str(e)
        (st.success if ok else st.error)(msg, icon="🗄️")
        if (note := restart_note()) is not None:
            st.warning(note, icon="🔁")
        if (damaged := store_damage(str(get_settings().user_path("runs.sqlite")))) is not None:
            st.error(damaged, icon="🗃️")
        _llm_status()
        st.caption("🖥️ " + _("Local encoders: {device}, batch {embed_batch} (WORKBENCH_DEVICE, WORKBENCH_EMBED_BATCH)")
                   .format(**runtime_info()))
        with st.expander(_("Models")):
            # this session's keys and the server's limits too (bm25 needs Milvus >= 2.5)
            for spec, ok, why in models_on(server_capabilities(), session_settings()):
                # a registry label is a catalog key (N_); a reason is formed in the reader's language already
                st.markdown(f"{'🟢' if ok else '⚪'} **{spec.name}** — {_(spec.label)}"
                            + ("" if ok else f"  \n_{_(why)}_"))


def _llm_status() -> None:
    """The LLM this session uses, and the form for a key / base URL of its own (ui.state keeps them)."""
    from rag.settings import get_settings

    s = session_settings()
    mine = _(" (this session's key)") if "llm_keys" in st.session_state else ""
    if s.openai_key:
        where = _("LLM: OpenAI-compatible API at {url}").format(url=s.openai_base_url) if s.openai_base_url \
            else _("LLM: OpenAI-compatible API")
        st.info(where + mine, icon="🤖")
    else:
        st.caption("🤖 " + _("No LLM configured: offline mode (extractive answers, non-LLM Ragas metrics). "
                             "Set OPENAI_API_KEY (environment, .env or below) to enable LLM answers and judges."))
    with st.expander(_("API key and endpoint")):
        key = st.text_input(_("OpenAI API key"), type="password", key="openai_key_input",
                            help=_("Used by this browser session only (kept in its memory, never on disk, "
                                   "never shared with other sessions); the environment's key is the default."))
        base = st.text_input(_("Base URL (Ollama, vLLM, …)"), value=get_settings().openai_base_url or "",
                             key="base_url_input")
        if st.button(_("Use these")):
            apply_llm_settings(key, base)
            st.rerun()


def restart_note(within_s: float = 24 * 3600) -> str | None:
    """The embedded Milvus' latest restart (``rag.milvus.server.heal``) if it happened in the last day."""
    from rag.milvus.healing import last_restart
    from rag.settings import get_settings

    r = last_restart()
    if r is None or time.time() - r["time"] > within_s:
        return None
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["time"]))
    return _("Milvus Lite (embedded) stopped and was restarted at {when} ({reason}); the job went on at {uri}. "
             "Details: {log}").format(when=when, reason=r["reason"], uri=r["uri"],
                                      log=get_settings().path("logs", "milvus.log"))


@st.cache_data(ttl=60, show_spinner=False)
def store_damage(path: str) -> str | None:
    """One line when the run store at ``path`` (this user's) is damaged (SQLite's quick check, at most once a
    minute per store), else None."""
    from rag.runs.safety import StoreDamaged, damage

    detail = damage(path)
    return None if detail is None else str(StoreDamaged(path, detail))
