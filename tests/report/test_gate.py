"""The CI gate: exit 0 on pass, 1 with one clear line on a miss, 2 on bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cli
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.run_fixtures import make_dataset, write_load_run, write_rag_run, write_retrieval_run


@pytest.fixture(scope="module")
def runs():
    """Runs in the session's default store (what ``cli.py`` reads)."""
    store = RunStore.default()
    ds = make_dataset("gate", n_queries=4)
    ret = write_retrieval_run(store, ds, {"minilm": {f"q{i}": 0.7 for i in range(4)},
                                          "bm25": {f"q{i}": 0.5 for i in range(4)}}, k=10)
    rag = write_rag_run(store, ds, {"minilm": {"q0": {"faithfulness": 0.9, "rouge_l": None},
                                               "q1": {"faithfulness": 0.7, "rouge_l": None}}})
    load = write_load_run(store, ds, {"minilm": {"p50_ms": 40, "p95_ms": 120, "p99_ms": 200}})
    running = write_retrieval_run(store, ds, {"minilm": {"q0": 0.9}}, k=10, status="running")
    return {"retrieval": ret, "rag": rag, "load": load, "running": running}


def gate(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["gate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_pass_and_miss(runs, capsys):
    code, out, err = gate(capsys, "--run", runs["retrieval"], "--metric", "ndcg@10", "--min", "0.45")
    assert code == 0 and out.startswith("gate passed") and "minilm 0.7000" in out and not err
    code, out, err = gate(capsys, "--run", runs["retrieval"], "--metric", "nDCG@10", "--min", "0.6")
    assert code == 1 and not out
    assert err.strip().splitlines() == [f"GATE FAILED (run {runs['retrieval']}): bm25 ndcg@10 = 0.5000 < min 0.6"]


def test_one_model_only(runs, capsys):
    args = ["--run", runs["retrieval"], "--metric", "ndcg@10", "--min", "0.6"]
    assert gate(capsys, *args, "--model", "minilm")[0] == 0
    assert gate(capsys, *args, "--model", "bm25")[0] == 1


def test_rag_and_load_metrics(runs, capsys):
    assert gate(capsys, "--run", runs["rag"], "--metric", "faithfulness", "--min", "0.75")[0] == 0
    assert gate(capsys, "--run", runs["rag"], "--metric", "faithfulness", "--min", "0.85")[0] == 1
    code, _, err = gate(capsys, "--run", runs["rag"], "--metric", "rouge_l", "--min", "0")
    assert code == 1 and "minilm has no rouge_l value" in err  # unscored must not pass CI
    assert gate(capsys, "--run", runs["load"], "--metric", "p95_ms", "--max", "150")[0] == 0
    code, _, err = gate(capsys, "--run", runs["load"], "--metric", "p95_ms", "--max", "100")
    assert code == 1 and "minilm p95_ms = 120.0000 > max 100" in err


@pytest.mark.parametrize("args, message", [
    (["--run", "no-such-run", "--metric", "ndcg@10", "--min", "0.5"], "no run 'no-such-run'"),
    (["--run", "{retrieval}", "--metric", "ndcg@3", "--min", "0.5"], "metric 'ndcg@3' is not in run"),
    (["--run", "{retrieval}", "--metric", "ndcg@10", "--min", "0.5", "--model", "e5"], "model 'e5' is not in run"),
    (["--run", "{retrieval}", "--metric", "ndcg@10"], "give --min, --max and/or --ci-low"),
    (["--run", "{running}", "--metric", "ndcg@10", "--min", "0.5"], "is 'running', not done"),
])
def test_bad_input_exits_2_with_one_line(runs, capsys, args, message):
    code, out, err = gate(capsys, *[a.format(**runs) for a in args])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_latest_and_a_real_process(runs):
    newest = write_retrieval_run(RunStore.default(), make_dataset("gate2", n_queries=2),
                                 {"minilm": {"q0": 0.4, "q1": 0.6}}, k=10)
    proc = subprocess.run([sys.executable, "cli.py", "gate", "--run", "latest", "--metric", "ndcg@10", "--min",
                           "0.6"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == f"GATE FAILED (run {newest}): minilm ndcg@10 = 0.5000 < min 0.6"
    ok = subprocess.run([sys.executable, "cli.py", "gate", "--run", "latest", "--metric", "ndcg@10", "--min",
                         "0.5"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "gate passed" in ok.stdout
