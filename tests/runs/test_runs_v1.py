"""A run store written before typed runs still opens: rows are migrated as they are read.

``tests/runs/fixtures/runs_v1.sqlite`` was written by the code before typed runs
(``tests/runs/fixtures/make_runs_v1.py``):
a real retrieval run (minilm + bm25 on the sample, k = 4), a real RAG run (bm25, extractive
baseline, non-LLM metrics, 4 questions) and a load run through ``LoadRecorder``, with metric values
beside the row fields. Every number asserted here is the one stored in that file.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evaluators.report.build import build_report
from evaluators.report.gate import check_gate
from evaluators.report.history import runs_frame
from evaluators.stats.comparison import compare_runs, default_metric, run_metrics
from rag.runs import RunStore
from rag.runs.export import export_rows
from rag.runs.models import RetrievalRow

V1 = Path(__file__).parent / "fixtures" / "runs_v1.sqlite"
RET, RAG, LOAD = "20261202-003131-768a", "20261202-003132-9056", "20261202-003133-9600"
NDCG = {"minilm": 0.8167816800210498, "bm25": 0.858059657899396}          # the file's summary means
RAG_MEANS = {"nonllm_context_precision": 0.5, "nonllm_context_recall": 0.35416666666666663,
             "rouge_l": 0.15872805355563976}


@pytest.fixture()
def store(tmp_path) -> RunStore:
    """A copy: reading computes statistics and stores them, the committed file stays as written."""
    shutil.copy(V1, tmp_path / "runs.sqlite")
    return RunStore(tmp_path / "runs.sqlite")


def test_old_rows_are_migrated_into_scores(store):
    rows = store.typed_rows(RET)
    assert len(rows) == 32 and all(isinstance(r, RetrievalRow) for r in rows)
    assert set(rows[0].scores) == {"precision@4", "recall@4", "hit@4", "mrr@4", "map@4", "ndcg@4"}
    assert "ndcg@4" not in rows[0].model_dump()  # not beside the fields any more
    rag = store.rows(RAG)
    assert len(rag) == 4 and all(set(r["scores"]) == set(RAG_MEANS) for r in rag)
    assert all(isinstance(r["seconds"], float) and "seconds" not in r["scores"] for r in rag)  # a field, not a metric
    load = {r.item_id: r for r in store.typed_rows(LOAD, model="bm25")}
    assert load["load"].scores["p95_ms"] == 41.0 and load["load"].users == 10 and len(load["load"].history) == 3


def test_history_list_of_an_old_store(store):
    frame = runs_frame(store.list())
    assert list(frame["id"]) == [LOAD, RAG, RET]
    assert list(frame["kind"]) == ["load", "rag", "retrieval"]
    headline = dict(zip(frame["id"], frame["headline"]))
    assert headline[RET] == "nDCG@4 minilm 0.817, bm25 0.858"
    assert headline[LOAD] == "bm25 p95 41 ms, minilm p95 330 ms"
    # issue 22: the History headline carries the coverage beside the mean (questions scored / asked)
    assert headline[RAG].startswith("bm25 ") and headline[RAG].endswith(" 0.500 (4/4)")


def test_comparisons_of_an_old_store_use_the_stored_scores(store):
    assert default_metric(store, store.get(RET)) == "ndcg@4"
    cmp = compare_runs(store, RET, n_resamples=500)
    assert {s.model: round(s.mean, 12) for s in cmp.result.models} == {m: round(v, 12) for m, v in NDCG.items()}
    assert cmp.result.best == "bm25" and all(s.n == 16 for s in cmp.result.models)
    assert run_metrics(store, store.get(RAG)) == list(RAG_MEANS)
    for metric, mean in RAG_MEANS.items():
        (s,) = compare_runs(store, RAG, metric, n_resamples=500).result.models
        assert (s.model, round(s.mean, 12), s.n) == ("bm25", round(mean, 12), 4)
    assert run_metrics(store, store.get(LOAD)) == []  # aggregates only: not compared per query


def test_gate_report_and_exports_of_an_old_store(store):
    assert check_gate(store, store.get(LOAD), "p95_ms", maximum=400).message == \
        f"gate passed (run {LOAD}): p95_ms <= 400: bm25 41.0000, minilm 330.0000"
    ok = check_gate(store, store.get(RET), "ndcg@4", minimum=0.85)
    assert not ok.ok and ok.message == f"GATE FAILED (run {RET}): minilm ndcg@4 = 0.8168 < min 0.85"
    html = build_report(store, [RET, RAG, LOAD], n_resamples=500)
    assert "nDCG@4: mean and 95% CI" in html and f"Load test · {LOAD}" in html and "0.858" in html
    csv = pd.read_csv(io.BytesIO(export_rows(store, RET, "csv")))
    assert len(csv) == 32 and "scores" not in csv
    assert csv.groupby("model")["ndcg@4"].mean().round(12).to_dict() == {m: round(v, 12) for m, v in NDCG.items()}
    rag = pd.read_parquet(io.BytesIO(export_rows(store, RAG, "parquet")))
    assert rag["rouge_l"].mean() == pytest.approx(RAG_MEANS["rouge_l"], rel=1e-12)
    load = pd.read_csv(io.BytesIO(export_rows(store, LOAD, "csv")))
    assert dict(zip(load["model"], load["p95_ms"])) == {"bm25": 41.0, "minilm": 330.0}
