"""The Decide page (AppTest through app.py, where it is the landing page): the brief form filled in,
Decide pressed on the sample with minilm and bm25 and a one-second load test, and the recorded
decision's numbers on the page checked against the runs it was built from (the retrieval run's
statistics, the load run's p95), the six steps with their expert-page links, the downloads."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def by_label(widgets, label):
    return next(w for w in widgets if w.label == label)


@pytest.fixture(scope="module")
def decided(milvus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=400).run()
    assert not at.exception and at.title[0].value == "🧭 Decide"
    by_label(at.number_input, "Minimum acceptable").set_value(0.6)
    by_label(at.number_input, "Latency SLO: p95 ≤ (ms)").set_value(250.0)
    by_label(at.number_input, "at concurrent users").set_value(2)
    by_label(at.number_input, "Load test seconds per model").set_value(1)
    by_label(at.number_input, "Monthly budget (USD)").set_value(5.0)
    by_label(at.number_input, "at queries per day").set_value(20_000)
    by_label(at.number_input, "Memory limit (MB)").set_value(2000.0)
    by_label(at.multiselect, "Candidates (empty: every model in the registry)").set_value(["minilm", "bm25"])
    by_label(at.button, "Decide").click().run()
    return at


def test_decide_shows_the_runs_numbers(decided):
    from evaluators.stats.run_stats import run_stats
    from rag.runs import RunStore

    at = decided
    assert not at.exception and not at.error
    rec = at.session_state["decide_record"]
    store = RunStore.default()
    runs = rec["evaluation"]["runs"]
    cmp = run_stats(store, runs["retrieval"]).get("ndcg@10")
    load = store.get(runs["load"]).summary["results"]
    assert store.get(rec["run_id"]).kind == "decision" and store.get(runs["load"]).config["users"] == 2
    table = at.dataframe[0].value   # every candidate against the brief, as drawn
    assert list(table["model"]) == ["minilm", "bm25"]
    for _, row in table.iterrows():
        s = cmp.summary(row["model"])
        assert row["ndcg@10 [95% CI]"] == f"{s.mean:.3f} [{s.low:.3f}, {s.high:.3f}]"
        assert row["p95 ms"] == load[row["model"]]["p95_ms"]
        assert row["$/month"] == 0.0
    checks = at.dataframe[1].value  # every candidate × every constraint
    assert list(checks["constraint"]) == ["quality", "p95_ms", "cost_month_usd", "memory_mb"] * 2
    q = checks[(checks["model"] == "minilm") & (checks["constraint"] == "quality")].iloc[0]
    s = cmp.summary("minilm")
    assert (q["limit"], q["value"], q["95% CI"]) == ("≥ 0.6", f"{s.mean:.3f}", f"[{s.low:.3f}, {s.high:.3f}]")
    mem = checks[(checks["model"] == "minilm") & (checks["constraint"] == "memory_mb")].iloc[0]
    assert (mem["limit"], mem["value"]) == ("≤ 2000", f"{round(384 * 4 * 31 / 1e6 + 87.0, 3):g}")  # vectors + weights
    head = at.success[0].value if rec["recommended"] else at.warning[0].value
    assert rec["reason"].replace("$", "\\$") in head
    if rec["runner_up"]:
        assert at.info[0].value.startswith(f"**Runner-up: {rec['runner_up']}** · What would change the decision: ")


def test_decide_shows_six_steps_with_expert_links_and_downloads(decided):
    at = decided
    rec = at.session_state["decide_record"]
    steps = [m.value for m in at.markdown if m.value[:1] in "✅❌" and "** · " in m.value]
    assert [s.split("** · ")[0][2:] for s in steps] == ["**1 · Brief", "**2 · Data", "**3 · Shortlist",
                                                         "**4 · Evaluation", "**5 · Plan", "**6 · Verification"]
    assert steps[0] == ("✅ **1 · Brief** · retrieval; ndcg@10 ≥ 0.6; p95 ≤ 250 ms at 2 users; ≤ \\$5/month at "
                        "20,000 queries/day; memory ≤ 2000 MB; local models and hosted APIs; licenses allowing "
                        "commercial use")
    assert steps[1].endswith("31 documents, 16 judged questions; " + rec["profile"]["language_summary"]
                             + steps[1].split(rec["profile"]["language_summary"])[1])
    assert "2 kept (minilm, bm25)" in steps[2]
    s = rec["evaluation"]["quality"]["minilm"]
    assert f"minilm {s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" in steps[3]
    links = [p.proto.label for p in at.get("page_link")]
    assert links == ["Open Data", "Open Index", "Open Retrieval", "Open RAG quality", "Open Load test", "Open Sweep",
                     "Open History"]
    downloads = {b.label: b for b in at.get("download_button")}
    assert list(downloads) == ["⬇️ decision.json", "⬇️ regression.json", "⬇️ setup.py (recommended)",
                               "⬇️ decision report (HTML)"]
    html = at.session_state["decide_report"][1]
    assert "Decision · sample" in html and rec["run_id"] in html and "Every constraint, per candidate" in html
    assert json.loads(json.dumps(rec, default=str))["recommended"] == rec["recommended"]


def test_a_brief_nobody_meets_is_one_line_and_keeps_the_record(decided):
    """minilm alone under a 1 MB memory limit: the shortlist excludes it, the run stops with one line."""
    at = decided
    before = at.session_state["decide_record"]["run_id"]
    by_label(at.number_input, "Memory limit (MB)").set_value(1.0)
    by_label(at.multiselect, "Candidates (empty: every model in the registry)").set_value(["minilm"])
    by_label(at.button, "Decide").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "no candidate passes the shortlist: minilm: weights need 87 MB > the brief's 1 MB"]
    assert at.session_state["decide_record"]["run_id"] == before   # the last decision stays on the page
    assert at.session_state["decide_brief"]["memory_mb"] == 1.0     # the brief is kept, editable
