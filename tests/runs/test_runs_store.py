"""The run store round-trips runs, exports them (CSV, Parquet, JSON), and never keeps a secret.

The secrets test puts a fake API key into a real retrieval run's configuration, rows, summary and
error on purpose, then searches the SQLite files' bytes, every export and the report for it.
"""

from __future__ import annotations

import io
import json
import os

import pandas as pd
import pytest

from evaluators.report.history import filter_runs, runs_frame
from evaluators.retrieval.evaluate import evaluate_retrieval
from rag.runs import RunNotFound, RunStore
from rag.runs.export import export_rows, rows_frame, run_json
from tests.support.run_fixtures import make_dataset, write_rag_run, write_retrieval_run

FAKE_KEY = "sk-test-4f9c1d2e8b7a6f5e4d3c2b1a0fake"


@pytest.fixture()
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite")


@pytest.fixture(scope="module")
def real_result(retriever, sample):
    """A real retrieval over the sample (real Milvus, real MiniLM and BM25)."""
    return evaluate_retrieval(retriever, sample, ["minilm", "bm25"], k=5)


def test_round_trip_of_a_real_retrieval_run(store, sample, real_result):
    from evaluators.retrieval.evaluate import save_run

    run_id = save_run(store, sample, real_result, {"index_type": "FLAT", "metric": "COSINE"})
    run = store.get(run_id)
    assert (run.kind, run.status, run.dataset, run.dataset_hash) == ("retrieval", "done", "sample",
                                                                     sample.content_hash())
    assert run.config["models"] == ["minilm", "bm25"] and run.config["k"] == 5
    assert run.config["model_ids"]["minilm"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert run.config["environment"]["packages"]["pymilvus"]
    assert run.summary["metrics"] == real_result.metrics  # JSON keeps floats exactly
    rows = store.rows(run_id)
    assert len(rows) == 2 * len(sample.judged_queries)
    q1 = next(r for r in rows if r["model"] == "bm25" and r["item_id"] == "q1")
    assert q1["scores"]["ndcg@5"] == pytest.approx(real_result.per_query["bm25"]["q1"]["ndcg@5"])
    assert [d for d, _ in q1["ranking"]] == [d for d, _ in real_result.rankings["bm25"]["q1"]]
    assert store.get("latest").id == run_id and store.resolve_ids("latest") == [run_id]


def test_list_filters_latest_by_kind_delete_and_restore(store):
    ds = make_dataset("alpha")
    r1 = write_retrieval_run(store, ds, {"a": {"q0": 0.5, "q1": 0.7}})
    r2 = write_rag_run(store, make_dataset("beta"), {"a": {"q0": {"rouge_l": 0.3}}})
    assert [r.id for r in store.list()] == [r2, r1]
    assert [r.id for r in store.list(kind="retrieval")] == [r1]
    assert [r.id for r in store.list(dataset="beta")] == [r2]
    assert store.get("latest", kind="retrieval").id == r1
    assert store.resolve_ids(f"{r1}, {r2},{r1}") == [r1, r2]
    assert [r.id for r in filter_runs(store.list(), kinds=["rag"])] == [r2]
    assert [r.id for r in filter_runs(store.list(), text="Q_NOT_THERE")] == []
    assert list(runs_frame(store.list())["id"]) == [r2, r1]

    snap = store.snapshot(r1)
    store.delete(r1)
    with pytest.raises(RunNotFound):
        store.get(r1)
    assert store.rows(r1) == []
    store.restore(snap)  # the History page's undo
    assert store.snapshot(r1) == snap


def test_unknown_run_and_kind_are_clear_errors(store):
    with pytest.raises(RunNotFound, match="no run 'nope'"):
        store.get("nope")
    with pytest.raises(RunNotFound):
        store.get("latest")
    with pytest.raises(ValueError):
        store.create("training", {})


def test_exports_csv_parquet_json(store, tmp_path):
    ds = make_dataset()
    run_id = write_retrieval_run(store, ds, {"minilm": {f"q{i}": i / 10 for i in range(6)},
                                             "bm25": {f"q{i}": 1 - i / 10 for i in range(6)}})
    frame = rows_frame(store, run_id)
    assert list(frame.columns[:3]) == ["run_id", "model", "item_id"] and len(frame) == 12
    csv = pd.read_csv(io.BytesIO(export_rows(store, run_id, "csv")))
    parquet = pd.read_parquet(io.BytesIO(export_rows(store, run_id, "parquet")))
    for got in (csv, parquet):
        assert len(got) == 12
        assert got["ndcg@5"].tolist() == pytest.approx(frame["ndcg@5"].tolist())
        assert json.loads(got["ranking"].iloc[0])[0][0] == "d0"  # nested values as JSON text
    whole = json.loads(export_rows(store, run_id, "json"))
    assert whole == run_json(store, run_id) and whole["run"]["id"] == run_id and len(whole["rows"]) == 12
    other = RunStore(tmp_path / "other.sqlite")  # a JSON export moves a run to another store
    other.restore(whole)
    assert other.snapshot(run_id) == store.snapshot(run_id)
    with pytest.raises(ValueError, match="unknown export format"):
        export_rows(store, run_id, "xlsx")


def test_rag_rows_with_missing_scores_export(store):
    run_id = write_rag_run(store, make_dataset(), {"m": {"q0": {"faithfulness": 0.5}, "q1": {"faithfulness": None}}})
    frame = pd.read_parquet(io.BytesIO(export_rows(store, run_id, "parquet")))
    assert frame["faithfulness"].isna().tolist() == [False, True]
    assert "judge timed out" in frame.loc[1, "errors"]


@pytest.fixture()
def fake_key():
    from rag.settings import reset_settings

    old = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = FAKE_KEY
    reset_settings()
    try:
        yield FAKE_KEY
    finally:
        if old is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old
        reset_settings()


def test_an_api_key_never_reaches_the_store_exports_or_report(fake_key, tmp_path, sample, real_result):
    from evaluators.report.build import build_report
    from evaluators.retrieval.evaluate import save_run

    store = RunStore(tmp_path / "secret-runs.sqlite")
    leaky = {"api_key": fake_key, "note": f"called with {fake_key}", "headers": {"Authorization": f"Bearer {fake_key}"},
             "judge": {"provider": "openai", "model": "gpt-4o-mini", "openai_api_key": fake_key}}
    ret_id = save_run(store, sample, real_result, leaky)
    rag_id = write_rag_run(store, sample, {"minilm": {"q1": {"faithfulness": 0.9}, "q2": {"faithfulness": 0.4}},
                                           "bm25": {"q1": {"faithfulness": 0.8}, "q2": {"faithfulness": 0.6}}},
                           responses={("minilm", "q1"): f"the key is {fake_key}"}, prompt=f"{fake_key} {{context}}")
    store.add_rows(ret_id, [{"model": "minilm", "item_id": "extra", "token": fake_key, "text": fake_key}])
    store.finish(ret_id, {"metrics": real_result.metrics, "debug": f"env OPENAI_API_KEY={fake_key}"},
                 error=f"failed with {fake_key}")
    outputs = {"report": build_report(store, [ret_id, rag_id], n_resamples=500).encode()}
    for rid in (ret_id, rag_id):
        for fmt in ("csv", "parquet", "json"):
            outputs[f"{rid}.{fmt}"] = export_rows(store, rid, fmt)
    store._conn().execute("PRAGMA wal_checkpoint(FULL)")
    for f in tmp_path.glob("secret-runs.sqlite*"):
        outputs[f.name] = f.read_bytes()
    assert any(name.endswith(".sqlite") for name in outputs)
    for name, data in outputs.items():
        assert fake_key.encode() not in data, f"the key leaked into {name}"
    assert store.get(ret_id).config["note"] == "called with ***"  # masked, the rest kept
    assert "api_key" not in store.get(ret_id).config
