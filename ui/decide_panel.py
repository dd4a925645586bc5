"""The Decide page's parts: the brief form, the run with a line per step, and the decision record.

Logic is ``flows.decide`` (tested without Streamlit); these functions only draw it. The record is kept
in ``st.session_state["decide_record"]`` so it survives page switches; the brief in ``decide_brief``.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from flows.decide.brief import Brief
from flows.decide.flow import STEPS, output_json
from ui.resources import retriever
from ui.state import current_dataset, session_settings

STEP_TITLES = {"brief": "1 · Brief", "data": "2 · Data", "shortlist": "3 · Shortlist", "evaluation": "4 · Evaluation",
               "plan": "5 · Plan", "verification": "6 · Verification", "record": "7 · Decision record"}
ICONS = {"running": "⏳", "done": "✅", "failed": "❌", "skipped": "⏭️"}


def brief_form() -> Brief | None:
    """Step 1: the brief, defaults filled in; None until it validates (the error is one line)."""
    b = Brief(**st.session_state.get("decide_brief", {}))
    with st.expander("1 · Brief: what you need", expanded=True):
        c1, c2, c3 = st.columns(3)
        vals = {"metric": c1.selectbox("Metric", ["ndcg", "recall", "mrr", "map", "precision", "hit_rate"],
                                       index=["ndcg", "recall", "mrr", "map", "precision", "hit_rate"].index(b.metric)),
                "k": c1.number_input("k", 1, 100, b.k),
                "min_quality": c1.number_input("Minimum acceptable", 0.0, 1.0, b.min_quality, 0.05),
                "p95_ms": c2.number_input("p95 latency ≤ (ms)", 1.0, 60_000.0, b.p95_ms or 200.0),
                "users": c2.number_input("at concurrent users", 1, 500, b.users),
                "queries_per_day": c2.number_input("Queries per day", 0, 10**9, b.queries_per_day),
                "where": c3.radio("Models may run", ["api", "local"], index=["api", "local"].index(b.where),
                                  format_func=lambda w: "local or APIs" if w == "api" else "local only"),
                "commercial": c3.checkbox("Commercial use", b.commercial),
                "memory_mb": c3.number_input("Memory limit (MB, 0 = none)", 0.0, 10**7 * 1.0, b.memory_mb or 0.0)
                or None,
                "budget_month_usd": c3.number_input("Monthly budget (USD, 0 = none)", 0.0, 10**7 * 1.0,
                                                    b.budget_month_usd or 0.0) or None,
                "load_seconds": b.load_seconds, "spend_cap_usd": b.spend_cap_usd}
    try:
        brief = Brief.of(**vals)
    except ValueError as e:
        st.error(str(e))
        return None
    st.session_state["decide_brief"] = brief.to_json()
    return brief


def run_flow(brief: Brief, models: list[str]) -> None:
    """Run the six steps with one line per step, keep the record in the session."""
    from flows.decide.flow import run_decide

    wb = retriever()
    if wb is None:
        return
    lines: dict[str, str] = {}
    with st.status("Deciding…", expanded=True) as box:
        view = st.empty()

        def progress(step, status, detail):
            lines[step] = f"{ICONS.get(status, '•')} **{STEP_TITLES[step]}** · {detail}"[:400]
            view.markdown("\n".join(f"- {lines[s]}" for s in STEPS if s in lines))
        try:
            record = run_decide(current_dataset(), brief, models or None, wb, progress=progress,
                                settings=session_settings())
        except (ValueError, RuntimeError) as e:
            box.update(label="Stopped", state="error")
            st.error(str(e).splitlines()[0])
            return
        box.update(label="Decision recorded", state="complete", expanded=False)
    st.session_state["decide_record"] = record


def show_record(record: dict | None) -> None:
    """Steps 2-7 of a finished run: findings, shortlist, the candidates table, plan and checks."""
    if not record:
        st.info("State the brief, pick candidates and press **Decide**: every step runs on the current dataset.")
        return
    rec = record["recommended"]
    (st.success if rec else st.warning)(f"**{'Recommended: ' + rec if rec else 'No recommendation'}** · "
                                         f"{record['reason']}")
    if record.get("runner_up"):
        st.caption(f"Runner-up {record['runner_up']}: {record['what_would_change']}")
    from evaluators.report.decision_section import candidates_frame, exclusions_frame

    st.subheader(STEP_TITLES["record"])
    st.dataframe(candidates_frame(record), hide_index=True)
    with st.expander(STEP_TITLES["data"]):
        st.dataframe(pd.DataFrame(record["profile"]["findings"])[["title", "value", "meaning"]], hide_index=True)
    with st.expander(STEP_TITLES["shortlist"]):
        st.dataframe(exclusions_frame(record), hide_index=True)
        st.caption(f"Public scores: {record['shortlist']['public']['note']}")
    with st.expander(STEP_TITLES["evaluation"]):
        st.write(record["evaluation"]["agreement"].get("note", ""))
        st.json(record["evaluation"]["runs"])
    with st.expander(STEP_TITLES["plan"]):
        st.dataframe(pd.DataFrame([{k: v for k, v in p.items() if k != "script"} for p in record["plans"].values()]),
                     hide_index=True)
    with st.expander(STEP_TITLES["verification"]):
        for g in record["verification"]["gates"]:
            st.code(g["command"], language="bash")
            st.caption(g["message"])
    st.download_button("Download decision.json", json.dumps(output_json(record), indent=2, ensure_ascii=False),
                       "decision.json", "application/json")
