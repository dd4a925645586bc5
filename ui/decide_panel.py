"""The Decide page's run: the six steps with a progress bar while they run, then each step's result
with links to the expert pages that show it in full.

Logic is ``flows.decide`` (tested without Streamlit); these functions only draw it. The record is kept
in ``st.session_state["decide_record"]`` (and the report built from it in ``decide_report``) so it
survives page switches.
"""

from __future__ import annotations

import streamlit as st

from flows.decide.brief import Brief
from flows.decide.flow import STEPS
from flows.decide.steps import STEP_INFO, step_results
from rag.i18n import N_, _
from ui.resources import retriever
from ui.state import current_dataset, session_settings

ICONS = {"running": "⏳", "done": "✅", "failed": "❌", "skipped": "⏭️"}
TITLES = {**{s: t for s, (t, _p) in STEP_INFO.items()}, "record": N_("7 · Decision record")}
# The step titles flows.decide defines (English, no language at import): keys here, translated at use by title().
STEP_TITLES = (N_("1 · Brief"), N_("2 · Data"), N_("3 · Shortlist"), N_("4 · Evaluation"), N_("5 · Plan"),
               N_("6 · Verification"))
STATUS = {"running": N_("running"), "done": N_("done"), "failed": N_("failed"), "skipped": N_("skipped")}


def title(step: str) -> str:
    """A step's title in the session's language."""
    return _(TITLES[step])


def md(text: str) -> str:
    return text.replace("$", "\\$")  # "$0.05 … $0.5" would be read as LaTeX


def page_title(page: str) -> str:
    """"pages/3_Retrieval.py" → "Retrieval" (the page's title, a key of the catalog: "检索" in Chinese)."""
    return _(page.rsplit("/", 1)[-1].removesuffix(".py").split("_", 1)[1].replace("_", " "))


def run_flow(brief: Brief, models: list[str]) -> None:
    """Run the six steps under a progress bar with a line per step; keep the record and its report."""
    from flows.decide.flow import run_decide

    wb = retriever()
    if wb is None:
        return
    lines: dict[str, str] = {}
    bar = st.progress(0.0, text=_("Starting…"))
    with st.status(_("Deciding…"), expanded=True) as box:
        view = st.empty()

        def progress(step, status, detail):
            lines[step] = f"{ICONS.get(status, '•')} **{title(step)}** · {detail}"[:400]
            done = STEPS.index(step) + (1.0 if status in ("done", "failed", "skipped") else 0.5)
            bar.progress(min(done / len(STEPS), 1.0), text=f"{title(step)}: {_(STATUS.get(status, status))}")
            view.markdown(md("\n".join(f"- {lines[s]}" for s in STEPS if s in lines)))
        try:
            record = run_decide(current_dataset(), brief, models or None, wb, progress=progress,
                                settings=session_settings())
        except (ValueError, RuntimeError) as e:
            box.update(label=_("Stopped"), state="error")
            st.error(str(e).splitlines()[0])
            return
        box.update(label=_("Decision recorded"), state="complete", expanded=False)
    bar.empty()
    st.session_state["decide_record"] = record
    st.session_state.pop("decide_report", None)


def show_steps(record: dict) -> None:
    """Each step's result in one line, with a link to each expert page that shows it in full."""
    st.subheader(_("The six steps"))
    for s in step_results(record):
        c1, c2 = st.columns([5, 1])
        c1.markdown(md(f"{ICONS[s['status']]} **{_(s['title'])}** · {s['result']}"))
        for page in s["pages"]:
            c2.page_link(page, label=_("Open {page}").format(page=page_title(page)))
