"""The Decide page's decision record (step 7): the recommendation and why, the runner-up and what would
change it, every candidate against every constraint as tables, the details of steps 2-6, and the
downloads (decision.json, the regression file, the recommended setup as code, the report).

Every number drawn here is read from the record (``flows.decide``), which copies it from the runs.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from evaluators.report.decision_section import candidates_frame, checks_frame, exclusions_frame
from flows.decide.flow import output_json
from ui.decide_panel import TITLES, md


def _report(record: dict) -> str:
    """The report over the decision run and the runs it cites, built once per record."""
    if st.session_state.get("decide_report", (None,))[0] != record["run_id"]:
        from evaluators.report.build import build_report
        from rag.runs import RunStore

        runs = [record["run_id"], *(v for v in record["evaluation"]["runs"].values() if v)]
        with st.spinner("Building the report…"):
            html = build_report(RunStore.default(), runs, title=f"Decision: {record['profile']['dataset']}")
        st.session_state["decide_report"] = (record["run_id"], html)
    return st.session_state["decide_report"][1]


def show_record(record: dict) -> None:
    rec = record["recommended"]
    st.subheader(TITLES["record"])
    (st.success if rec else st.warning)(md(f"**{'Recommended: ' + rec if rec else 'No recommendation'}** · "
                                           f"{record['reason']}"))
    if record.get("runner_up"):
        st.info(md(f"**Runner-up: {record['runner_up']}** · What would change the decision: "
                   f"{record['what_would_change']}"))
    st.caption(md(f"Decision run {record['run_id']} · policy: {record['policy']}"))
    st.markdown("**Every candidate against the brief**")
    st.dataframe(candidates_frame(record), hide_index=True)
    st.markdown("**Every constraint, per candidate** (measured value, 95% CI, pass or fail)")
    st.dataframe(checks_frame(record), hide_index=True)
    _details(record)
    _downloads(record)


def _details(record: dict) -> None:
    with st.expander(f"{TITLES['data']}: findings"):
        st.dataframe(pd.DataFrame(record["profile"]["findings"])[["title", "value", "meaning"]], hide_index=True)
    with st.expander(f"{TITLES['shortlist']}: exclusions and public scores"):
        st.dataframe(exclusions_frame(record), hide_index=True)
        st.caption(md(f"Public scores: {record['shortlist']['public']['note']}"))
        if record["evaluation"]["agreement"].get("note"):
            st.caption(md(f"Public benchmark vs your data: {record['evaluation']['agreement']['note']}"))
    with st.expander(f"{TITLES['plan']}: deployment per candidate"):
        cols = ["model", "index_type", "index_reason", "memory_mb", "memory_basis", "embed_seconds", "one_off_usd",
                "cost_month_usd", "cost_basis", "milvus", "milvus_reason"]
        st.dataframe(pd.DataFrame([{c: p.get(c) for c in cols} for p in record["plans"].values()]), hide_index=True)
    with st.expander(f"{TITLES['verification']}: gates for CI"):
        for g in record["verification"]["gates"]:
            st.code(g["command"], language="bash")
            st.caption(md(("✅ " if g["passes"] else "❌ ") + g["message"]))


def _downloads(record: dict) -> None:
    st.markdown("**Downloads**")
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("⬇️ decision.json", json.dumps(output_json(record), indent=2, ensure_ascii=False),
                       "decision.json", "application/json")
    reg = record["verification"].get("regression") or {}
    c2.download_button("⬇️ regression.json", json.dumps(reg, indent=2, ensure_ascii=False), "regression.json",
                       "application/json", disabled=not reg)
    script = (record["plans"].get(record["recommended"] or "") or {}).get("script") or ""
    c3.download_button("⬇️ setup.py (recommended)", script, f"setup_{record['recommended']}.py", "text/x-python",
                       disabled=not script)
    c4.download_button("⬇️ decision report (HTML)", _report(record), "decision-report.html", "text/html")
