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
from rag.i18n import _
from ui.decide_panel import md, title
from ui.tables import localized


def _report(record: dict) -> str:
    """The report over the decision run and the runs it cites, built once per record."""
    if st.session_state.get("decide_report", (None,))[0] != record["run_id"]:
        from evaluators.report.build import build_report
        from rag.runs import RunStore

        runs = [record["run_id"], *(v for v in record["evaluation"]["runs"].values() if v)]
        with st.spinner(_("Building the report…")):
            html = build_report(RunStore.default(), runs, title=f"Decision: {record['profile']['dataset']}")
        st.session_state["decide_report"] = (record["run_id"], html)
    return st.session_state["decide_report"][1]


def show_record(record: dict) -> None:
    rec = record["recommended"]
    st.subheader(title("record"))
    head = _("Recommended: {model}").format(model=rec) if rec else _("No recommendation")
    (st.success if rec else st.warning)(md(f"**{head}** · {record['reason']}"))
    if record.get("runner_up"):
        st.info(md(_("**Runner-up: {model}** · What would change the decision: {what}").format(
            model=record["runner_up"], what=record["what_would_change"])))
    st.caption(md(_("Decision run {run} · policy: {policy}").format(run=record["run_id"], policy=record["policy"])))
    st.markdown(_("**Every candidate against the brief**"))
    st.dataframe(localized(candidates_frame(record)), hide_index=True)
    st.markdown(_("**Every constraint, per candidate** (measured value, 95% CI, pass or fail)"))
    st.dataframe(localized(checks_frame(record)), hide_index=True)
    _details(record)
    _downloads(record)


def _details(record: dict) -> None:
    with st.expander(_("{step}: findings").format(step=title("data"))):
        st.dataframe(localized(pd.DataFrame(record["profile"]["findings"])[["title", "value", "meaning"]]),
                     hide_index=True)
    with st.expander(_("{step}: exclusions and public scores").format(step=title("shortlist"))):
        st.dataframe(localized(exclusions_frame(record)), hide_index=True)
        st.caption(md(_("Public scores: {note}").format(note=record["shortlist"]["public"]["note"])))
        if record["evaluation"]["agreement"].get("note"):
            st.caption(md(_("Public benchmark vs your data: {note}").format(
                note=record["evaluation"]["agreement"]["note"])))
    with st.expander(_("{step}: deployment per candidate").format(step=title("plan"))):
        cols = ["model", "index_type", "index_reason", "memory_mb", "memory_basis", "embed_seconds", "one_off_usd",
                "cost_month_usd", "cost_basis", "milvus", "milvus_reason"]
        st.dataframe(localized(pd.DataFrame([{c: p.get(c) for c in cols} for p in record["plans"].values()])),
                     hide_index=True)
    with st.expander(_("{step}: gates for CI").format(step=title("verification"))):
        for g in record["verification"]["gates"]:
            st.code(g["command"], language="bash")
            st.caption(md(("✅ " if g["passes"] else "❌ ") + g["message"]))


def _downloads(record: dict) -> None:
    st.markdown(_("**Downloads**"))
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("⬇️ decision.json", json.dumps(output_json(record), indent=2, ensure_ascii=False),
                       "decision.json", "application/json")
    reg = record["verification"].get("regression") or {}
    c2.download_button("⬇️ regression.json", json.dumps(reg, indent=2, ensure_ascii=False), "regression.json",
                       "application/json", disabled=not reg)
    script = (record["plans"].get(record["recommended"] or "") or {}).get("script") or ""
    c3.download_button(_("⬇️ setup.py (recommended)"), script, f"setup_{record['recommended']}.py", "text/x-python",
                       disabled=not script)
    c4.download_button(_("⬇️ decision report (HTML)"), _report(record), "decision-report.html", "text/html")
