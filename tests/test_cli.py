"""The CLI as a user runs it: a real subprocess on the sample, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


@pytest.mark.slow
def test_retrieval_on_the_sample_writes_the_documented_json(milvus, tmp_path):
    out = tmp_path / "results.json"
    p = run_cli("retrieval", "--dataset", "sample", "--models", "minilm,bm25", "--k", "4", "--output", str(out))
    assert p.returncode == 0, p.stderr
    assert "ndcg@4" in p.stdout and "minilm" in p.stdout and "run_id" in p.stdout
    data = json.loads(out.read_text())
    assert data["dataset"] == "sample" and data["k"] == 4 and data["run_id"]
    assert set(data["metrics"]) == {"minilm", "bm25"}
    assert set(data["metrics"]["bm25"]) == {"precision@4", "recall@4", "hit@4", "mrr@4", "map@4", "ndcg@4"}
    assert len(data["rankings"]["minilm"]) == 16
    for model in ("minilm", "bm25"):
        for ranked in data["rankings"][model].values():
            assert all(isinstance(d, str) and isinstance(s, float) for d, s in ranked)
            assert len(ranked) == 4 if model == "minilm" else 1 <= len(ranked) <= 4  # what BM25 matched
    # q11 shares terms with 3 documents only (measured): the JSON lists those 3, no zero-score filler
    assert [d for d, _ in data["rankings"]["bm25"]["q11"]] == ["sql", "clojure", "cpp"]
    gc = data["rankings"]["minilm"]["q1"]
    assert gc[1][0] == "java"


@pytest.mark.parametrize("args,message", [
    (["--dataset", "sample", "--models", "minilm,nope"], "unknown model 'nope'"),
    (["--dataset", "/no/such/folder"], "/no/such/folder"),
    (["--dataset", "sample", "--k", "0"], "k must be at least 1"),
    (["--dataset", "sample", "--index", "DISKANN"], "unknown index type 'DISKANN'"),
    (["--dataset", "sample", "--output", "/no/such/dir/r.json"], "folder /no/such/dir does not exist"),
])
def test_bad_input_exits_non_zero_with_one_line(milvus, args, message):
    p = run_cli("retrieval", *args)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], p.stderr
