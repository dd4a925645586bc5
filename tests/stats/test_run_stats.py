"""One set of statistics per run: computed once, stored by run id, read by every page, report and gate."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import cli
import evaluators.stats.run_stats as rs
from evaluators.formatting import CI_REASONS, display_frame, fmt_score
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.run_fixtures import make_dataset, write_load_run, write_rag_run, write_retrieval_run


@pytest.fixture
def computations(monkeypatch):
    """Counts real computations (``compute_stats`` calls) and clears the in-process memo."""
    calls = []
    real = rs.compute_stats

    def counting(*args, **kw):
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(rs, "compute_stats", counting)
    rs._MEMO.clear()
    return calls


def test_computed_once_stored_reused_and_invalidated_when_rows_change(tmp_path, computations):
    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset("once", n_queries=6)
    run = write_retrieval_run(store, ds, {"a": {f"q{i}": 0.1 * i for i in range(6)},
                                          "b": {f"q{i}": 0.5 for i in range(6)}})
    first = rs.run_stats(store, run)
    assert computations == [[run]] and first.metrics == ["ndcg@5", "precision@5"]
    assert rs.run_stats(store, "latest") is first  # same object, no work
    rs._MEMO.clear()
    again = rs.run_stats(store, run)  # read back from the run store
    assert computations == [[run]] and again is not first and again.to_json() == first.to_json()
    assert again.get("NDCG@5").summary("b").low == 0.5 and again.n_resamples == 10_000
    store.add_rows(run, [{"model": "b", "item_id": "q0", "ndcg@5": 1.0, "precision@5": 0.5}])
    changed = rs.run_stats(store, run)
    assert computations == [[run], [run]] and changed.get("ndcg@5").summary("b").mean == 3.5 / 6
    store.delete(run)
    assert store.derived(rs._key([run], rs.N_RESAMPLES, rs.SEED, rs.ALPHA)) is None


def test_retrieval_page_verdict_report_and_gate_show_the_same_numbers(retriever, sample, computations, capsys):
    from evaluators.report.build import build_report
    from evaluators.retrieval.evaluate import evaluate_retrieval, save_run

    store = RunStore.default()
    result = evaluate_retrieval(retriever, sample, ["minilm", "bm25"], k=4)
    run = save_run(store, sample, result)  # computes the statistics as the run finishes
    assert computations == [[run]]
    stats = rs.run_stats(store, run)
    cmp = stats.get("ndcg@4")
    s = {m: cmp.summary(m) for m in ("minilm", "bm25")}
    for m in s:  # the statistics are of the stored rows
        assert round(s[m].mean, 12) == round(result.metrics[m]["ndcg@4"], 12) and s[m].n == len(sample.judged_queries)

    rs._MEMO.clear()  # every consumer below reads the stored object
    at = AppTest.from_file(str(ROOT / "pages" / "3_Retrieval.py"), default_timeout=120)
    at.session_state["dataset"], at.session_state["retrieval_result"] = sample, result
    at.session_state["retrieval_run_id"] = run
    at.run()
    assert not at.exception
    ci, verdict = at.dataframe[0].value, next(d.value for d in at.dataframe if "mark" in d.value.columns)
    shown = display_frame(cmp.table(), CI_REASONS)  # the page shows the same numbers, formatted
    pd.testing.assert_frame_equal(verdict.reset_index(drop=True), shown, check_exact=True, check_dtype=False)
    for m, x in s.items():
        assert ci.loc[m, "ndcg@4"] == f"{x.mean:.3f} [{x.low:.3f}, {x.high:.3f}]"
        row = verdict.set_index("model").loc[m]
        assert (row["mean"], row["ci_low"], row["ci_high"], row["n"]) == (fmt_score(x.mean), fmt_score(x.low),
                                                                          fmt_score(x.high), str(x.n))
    bars = {t["name"]: t for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    for m, x in s.items():  # the chart's error bars are the same CI
        at_ndcg = list(bars[m]["x"]).index("ndcg@4")
        assert _array(bars[m]["error_y"]["array"])[at_ndcg] == x.high - x.mean
        assert _array(bars[m]["error_y"]["arrayminus"])[at_ndcg] == x.mean - x.low
    sentences = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert sentences == [f"- {v}" for v in cmp.verdicts()]

    page = " ".join(re.sub(r"<[^>]+>", " ", build_report(store, [run])).split())
    best = cmp.result.best
    assert f"Best on nDCG@4: {best}, {s[best].mean:.3f} [{s[best].low:.3f}, {s[best].high:.3f}]" in page
    for m, x in s.items():
        assert f"{m} {x.mean:.3f} [{x.low:.3f}, {x.high:.3f}]" in page  # the CI table

    assert cli.main(["gate", "--run", run, "--metric", "ndcg@4", "--ci-low", "0"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == (f"gate passed (run {run}): ndcg@4 95% CI low >= 0: " + ", ".join(
        f"{m} {x.mean:.4f} [{x.low:.4f}, {x.high:.4f}]" for m, x in s.items()))
    assert computations == [[run]]  # page, verdict, report and gate: one computation


def _array(v) -> list[float]:
    """A Plotly JSON array: a list, or ``{"dtype", "bdata"}`` (base64, Plotly >= 6)."""
    if isinstance(v, dict):
        return list(np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]))
    return list(v)


@pytest.fixture(scope="module")
def gated():
    """A run whose CIs are known by hand: ``a`` scores 0.75 on all 4 queries (CI [0.75, 0.75], width 0);
    ``b`` scores 0.25, 0.75, 0.25, 0.75 (mean 0.5). Each bootstrap resample of 4 draws is all-0.25 with
    probability 1/16 = 6.25% > 2.5% (and all-0.75 likewise), so b's 95% CI is exactly [0.25, 0.75]."""
    store = RunStore.default()
    ds = make_dataset("gate-ci", n_queries=4)
    return write_retrieval_run(store, ds, {"a": {f"q{i}": 0.75 for i in range(4)},
                                           "b": {f"q{i}": (0.25, 0.75)[i % 2] for i in range(4)}}, k=4)


def _gate(capsys, *args):
    code = cli.main(["gate", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_gate_ci_low_on_hand_checked_intervals(gated, capsys):
    run = gated
    assert _gate(capsys, "--run", run, "--metric", "ndcg@4", "--min", "0.5") == (
        0, f"gate passed (run {run}): ndcg@4 >= 0.5: a 0.7500, b 0.5000", "")
    assert _gate(capsys, "--run", run, "--metric", "ndcg@4", "--ci-low", "0.5") == (
        1, "", f"GATE FAILED (run {run}): b ndcg@4 95% CI low = 0.2500 < 0.5 (mean 0.5000)")
    assert _gate(capsys, "--run", run, "--metric", "nDCG@4", "--ci-low", "0.25") == (
        0, f"gate passed (run {run}): ndcg@4 95% CI low >= 0.25: a 0.7500 [0.7500, 0.7500], "
           "b 0.5000 [0.2500, 0.7500]", "")
    assert _gate(capsys, "--run", run, "--metric", "ndcg@4", "--ci-low", "0.5", "--model", "a")[0] == 0
    assert _gate(capsys, "--run", run, "--metric", "ndcg@4", "--min", "0.4", "--ci-low", "0.3") == (
        1, "", f"GATE FAILED (run {run}): b ndcg@4 95% CI low = 0.2500 < 0.3 (mean 0.5000)")
    load = write_load_run(RunStore.default(), make_dataset("gate-ci", n_queries=4),
                          {"a": {"p50_ms": 10, "p95_ms": 20, "p99_ms": 30}})
    assert _gate(capsys, "--run", load, "--metric", "p95_ms", "--ci-low", "1") == (
        2, "", f"error: --ci-low needs per-query scores; load run {load} has only aggregates (use --max)")


def test_gate_ci_low_in_a_real_process_on_latest(gated):
    store = RunStore.default()
    run = write_retrieval_run(store, make_dataset("gate-ci", n_queries=4),
                              {"a": {f"q{i}": 0.75 for i in range(4)},
                               "b": {f"q{i}": (0.25, 0.75)[i % 2] for i in range(4)}}, k=4)
    args = [sys.executable, "cli.py", "gate", "--run", "latest", "--metric", "ndcg@4", "--ci-low"]
    fail = subprocess.run([*args, "0.5"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (fail.returncode, fail.stdout, fail.stderr.strip()) == (
        1, "", f"GATE FAILED (run {run}): b ndcg@4 95% CI low = 0.2500 < 0.5 (mean 0.5000)")
    ok = subprocess.run([*args, "0.25"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (ok.returncode, ok.stderr) == (0, "") and ok.stdout.startswith(f"gate passed (run {run}): ")


def test_history_compare_of_retrieval_and_rag_uses_the_family_object_and_says_not_scored(computations):
    store = RunStore.default()
    ds = make_dataset("stats-family", n_queries=6)
    ret = write_retrieval_run(store, ds, {"minilm": {f"q{i}": 0.5 + 0.05 * i for i in range(6)},
                                          "bm25": {f"q{i}": 0.4 + 0.05 * i for i in range(6)}})
    # (faithfulness varies: a constant 0.8 on every question is "no signal", never a best; issue 22)
    rag = write_rag_run(store, ds, {"e5": {f"q{i}": {"faithfulness": 0.7 + 0.02 * i} for i in range(6)}})
    stats = rs.run_stats(store, [ret, rag])
    cmp = stats.get("ndcg@5")
    marks = dict(zip(cmp.table()["model"], cmp.table()["mark"]))
    assert marks == {"minilm": "★ best", "bm25": "", "e5": "not scored"}
    assert "Not scored on nDCG@5: e5." in cmp.verdicts()
    assert not any("counted as tied" in v for v in cmp.verdicts())
    faith = dict(zip(stats.get("faithfulness").table()["model"], stats.get("faithfulness").table()["mark"]))
    assert faith == {"e5": "★ best", "minilm": "not scored", "bm25": "not scored"}
    assert computations == [[ret, rag]]

    at = AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=120).run()
    at.multiselect(key="history_selected").select(ret).select(rag).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "mark" in d.value.columns)
    pd.testing.assert_frame_equal(table.reset_index(drop=True), display_frame(cmp.table(), CI_REASONS),
                                  check_exact=True, check_dtype=False)
    assert "- Not scored on nDCG@5: e5." in " ".join(m.value for m in at.markdown)
    assert computations == [[ret, rag]]  # the page read the same stored family object


def test_rag_quality_table_shows_the_run_stats_ci(tmp_path):
    """The RAG page's table: mean [95% CI] (scored/applicable), from the run's stats. Hand-checked: scores
    0.9 and 0.7 (the third row unscored) give mean 0.8 and, resampling two values, CI [0.7, 0.9]."""
    from evaluators.rag.tables import metrics_frame, metrics_table

    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset("rag-ci", n_queries=3)
    rag = write_rag_run(store, ds, {"minilm": {"q0": {"faithfulness": 0.9}, "q1": {"faithfulness": 0.7},
                                               "q2": {"faithfulness": None}}})
    stats = rs.run_stats(store, rag)
    frame = metrics_frame(store.get(rag).summary, stats)
    s = stats.get("faithfulness").summary("minilm")
    assert (s.mean, s.low, s.high, s.n) == (0.8, 0.7, 0.9, 2)
    assert frame.loc[0, ["mean", "ci_low", "ci_high", "n", "total"]].tolist() == [0.8, 0.7, 0.9, 2, 3]
    assert metrics_table(frame).loc["minilm", "Faithfulness"] == "0.800 [0.700, 0.900] (2/3)"
