"""▶ Run the demo (Data page): every step on the sample in one progress view, then a link to each step's page."""

from __future__ import annotations

import streamlit as st

from flows import demo
from rag.data.samples.text import load_sample
from rag.i18n import N_, _, fmt_number
from ui.resources import retriever
from ui.state import session_settings, set_dataset

# flows.judged.NO_LLM (English there: the demo records it as the step's reason), shown with _(why)
NO_LLM_TEXT = N_("no LLM configured: set OPENAI_API_KEY (environment, .env or the sidebar) or an OpenAI-compatible "
                 "base URL to add LLM answers and the judged metrics")


def md(text: str) -> str:
    return text.replace("$", "\\$")  # "$0.05 … $0.5" would be read as LaTeX


def page_title(page: str) -> str:
    """"pages/3_Retrieval.py" → "Retrieval": the name a step's page link reads (the page's title, a catalog key)."""
    return _(page.rsplit("/", 1)[-1].removesuffix(".py").split("_", 1)[1].replace("_", " "))


def session_updates(result) -> dict:
    """What the demo leaves for the other pages: the runs each one opens on."""
    ids, out = result.run_ids, {"demo_result": result}
    if "retrieval" in ids:
        out["retrieval_result"], out["retrieval_run_id"] = result.retrieval, ids["retrieval"]
    if "rag_judged" in ids or "rag" in ids:
        out["rag_run_id"] = ids.get("rag_judged", ids.get("rag"))
    if "load" in ids:
        out["load_run_shown"] = ids["load"]
    if result.decision:
        out["decide_record"] = result.decision
    return out


@st.cache_data(show_spinner=False)
def _cached_estimate() -> dict:
    return demo.judged_estimate(load_sample(), demo.DemoOptions())


def _judged_estimate() -> dict:
    """The judged step's estimate (cached; the spinner's text in the session's language)."""
    with st.spinner(_("Estimating the judged step…")):
        return _cached_estimate()


def demo_panel() -> None:
    with st.container(border=True):
        st.subheader(_("▶ One-click demo"))
        st.caption(_("On the built-in sample, offline: indexes minilm, bm25 and hybrid (reusing what is built), "
                     "compares them, runs the offline RAG quality job, a short load test per model (2 users × 3 s), "
                     "the Decide flow over those runs (a decision record) and builds the report. About a minute. "
                     "A step that fails says why; the others still run."))
        settings = session_settings()
        llm, why = demo.llm_configured(settings)
        cap = 0.5
        if llm:
            cap = st.number_input(_("Spend cap of the judged step (USD)"), 0.01, 100.0, 0.5, 0.1, key="demo_cap")
            est = _judged_estimate()
            st.info(md(_("An LLM is configured: the demo also writes LLM answers and runs the judged metrics. "
                         "Estimate: {rows} rows, {calls} LLM calls, ≈{tokens} tokens, ≈${cost}; it stops at the "
                         "${cap} cap.").format(rows=est["rows"], calls=est["total_calls"],
                                               tokens=fmt_number(est["total_tokens"]),
                                               cost=f"{est['cost_usd']:.4f}", cap=f"{cap:g}")), icon="🧮")
        else:
            st.caption(_("Judged metrics: {why}.").format(why=_(why)))
        if st.button(_("▶ Run the demo"), type="primary") and not _run(cap, settings):
            return
        _show(st.session_state.get("demo_result"))


def _run(cap: float, settings) -> bool:
    """Run every step with live lines; False when Milvus is down (the error is shown)."""
    sample = load_sample()
    set_dataset(sample)
    wb = retriever()
    if wb is None:
        return False
    with st.status(_("Running the demo…"), expanded=True) as box:
        lines = st.empty()
        result = demo.run_demo(sample, wb, opts=demo.DemoOptions(spend_cap_usd=cap, settings=settings),
                               progress=lambda steps, _s: lines.markdown(
                                   "\n".join(f"- {md(s.line())}" for s in steps)))
        failed = [s.title for s in result.steps if s.status == demo.FAILED]
        box.update(label=_("Demo finished: {n} step(s) failed").format(n=len(failed)) if failed
                   else _("Demo finished"),
                   state="error" if failed else "complete", expanded=False)
    st.session_state.update(session_updates(result))
    return True


def _show(result) -> None:
    if result is None:
        return
    for step in result.steps:
        c1, c2 = st.columns([5, 1])
        c1.markdown(md(step.line()))
        c2.page_link(step.page, label=_("Open {page}").format(page=page_title(step.page)))
    if result.report_html:
        st.download_button(_("⬇️ Demo report (report.html)"), result.report_html, file_name="demo-report.html",
                           mime="text/html", type="primary")
