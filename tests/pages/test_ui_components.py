"""The pure functions the ui/ components are built on: tested without Streamlit running a page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.runs import RunNotFound, RunStore
from tests.support.run_fixtures import make_dataset, write_retrieval_run
from ui import demo_panel, index_panel, load_panel, pickers, progress, stats, tables


def test_model_keys_keep_the_picked_then_the_typed_specs_once_each():
    assert pickers.model_keys(["minilm", "bm25"], " st:/m , minilm,, oai:e@http://h:1/v1 ,") == \
        ["minilm", "bm25", "st:/m", "oai:e@http://h:1/v1"]
    assert pickers.model_keys([], "") == []
    assert pickers.default_models(["hybrid", "bm25", "minilm"]) == ["minilm", "bm25"]
    assert pickers.default_models(["hybrid"]) == []
    assert pickers.index_of(["a", "b", "c"], "c") == 2 and pickers.index_of(["a", "b"], None) == 0


def test_progress_texts():
    assert progress.index_text("minilm", "encode", 0, 31, 0.0) == "minilm: encode 0/31 docs"
    assert progress.index_text("minilm", "encode", 1000, 5183, 0.4) == "minilm: encode 1,000/5,183 docs"  # < 0.5 s
    assert progress.index_text("minilm", "encode", 1000, 5183, 2.0) == \
        "minilm: encode 1,000/5,183 docs · 500 docs/s · 8 s left"
    assert progress.retrieval_step(0, "bm25", "index", 5, 31) == (0, "bm25: index 5/31")
    assert progress.retrieval_step(1, "bm25", "search", 16, 16) == (2, "bm25: searched 16 queries")


def test_demo_page_titles_and_what_the_demo_leaves_for_the_pages():
    assert demo_panel.page_title("pages/3_Retrieval.py") == "Retrieval"
    assert demo_panel.page_title("pages/4_RAG_quality.py") == "RAG quality"
    assert demo_panel.md("$0.05 … $0.5") == "\\$0.05 … \\$0.5"
    result = SimpleNamespace(run_ids={"retrieval": "r1", "rag": "g1", "rag_judged": "g2", "load": "l1"},
                             retrieval="the result", decision={"recommended": "bm25"})
    assert demo_panel.session_updates(result) == {"demo_result": result, "retrieval_result": "the result",
                                                  "retrieval_run_id": "r1", "rag_run_id": "g2", "load_run_shown": "l1",
                                                  "decide_record": {"recommended": "bm25"}}  # for the Decide page
    offline = SimpleNamespace(run_ids={"rag": "g1"}, retrieval=None, decision=None)
    assert demo_panel.session_updates(offline) == {"demo_result": offline, "rag_run_id": "g1"}


def test_index_panel_frames():
    spec = SimpleNamespace(name="bm25", label="Milvus BM25", kind="sparse")
    frame = index_panel.models_frame([(spec, True, ""), (SimpleNamespace(name="e5", label="E5", kind="dense"),
                                                         False, "needs a key")])
    assert frame.to_dict("records") == [
        {"model": "bm25", "what": "Milvus BM25", "kind": "sparse", "can run": "🟢 yes", "why not": "—"},
        {"model": "e5", "what": "E5", "kind": "dense", "can run": "⚪ no", "why not": "needs a key"}]
    cols = [{"name": "wb_a", "dataset": "sample", "model": "minilm", "index": "FLAT/COSINE"},
            {"name": "wb_b", "dataset": "old", "model": "", "index": ""}]
    assert index_panel.collection_label(cols, "wb_a") == "wb_a (sample · minilm · FLAT/COSINE)"
    assert index_panel.collection_label(cols, "wb_b") == "wb_b (old · model not recorded)"


def test_dataset_frames_and_query_order():
    ds = make_dataset("frames", n_queries=2, n_docs=3)
    assert tables.documents_frame(ds).to_dict("records")[0] == {"id": "d0", "title": "Doc 0",
                                                                "text": "text of document 0"}
    assert tables.questions_frame(ds).to_dict("records") == [
        {"id": "q0", "question": "question 0", "reference answer": "answer 0", "relevant": "d0, d1"},
        {"id": "q1", "question": "question 1", "reference answer": "answer 1", "relevant": "d1, d2"}]
    assert tables.judgments_frame(ds).to_dict("records") == [
        {"query": "q0", "document": "d0", "grade": "1"}, {"query": "q0", "document": "d1", "grade": "2"},
        {"query": "q1", "document": "d1", "grade": "1"}, {"query": "q1", "document": "d2", "grade": "2"}]
    queries = {"a": SimpleNamespace(text="java"), "b": SimpleNamespace(text="auto garbage collection"),
               "c": SimpleNamespace(text="rust")}
    assert tables.query_order(queries) == ["b", "a", "c"]
    rows = [{"model": "minilm", "question_id": "q1", "question": "x" * 100}, {"model": "bm25", "question_id": "q2"}]
    assert tables.row_labels(rows) == {0: f"minilm · q1: {'x' * 90}", 1: "bm25 · q2: "}


def test_load_panel_texts():
    assert load_panel.duration_caption(2, 20, False, 8, 32) == \
        "About 40 s of load, plus ~15 s to start the service the first time."
    assert load_panel.duration_caption(2, 20, True, 8, 32) == \
        "About 40 s of load, plus up to 96 s of SLO steps, plus ~15 s to start the service the first time."
    run = SimpleNamespace(config={"endpoint": "search", "users": 10, "spawn_rate": 5.0, "duration": 20,
                                  "batching": True, "batch_window_ms": 5, "max_batch": 32},
                          dataset="sample", summary={})
    assert load_panel.config_caption(run) == ("Endpoint `search` · 10 users · spawn 5.0/s · 20 s per model · "
                                              "dataset sample · micro-batching on (window 5 ms, max batch 32)")
    old = SimpleNamespace(config={}, dataset=None, summary={})
    assert load_panel.config_caption(old) == (
        "Endpoint `— not recorded` · — not recorded users · spawn — not recorded/s · — not recorded s per model · "
        "dataset — not recorded · micro-batching off (one request at a time; recorded before the setting existed)")


def test_rag_panel_helpers():
    from ui import rag_panel

    assert rag_panel.missing_and_failed({"expected_rows": 12, "rows": 5, "failed_rows": 2}) == (7, 2)
    assert rag_panel.missing_and_failed({"expected_rows": None, "rows": 5, "failed_rows": 0}) == (0, 0)
    assert [rag_panel.resume_mode(r, t) for r, t in ((False, False), (True, False), (False, True), (True, True))] \
        == [None, False, True, True]
    est = {"rows": 4, "total_calls": 12, "total_tokens": 3456, "cost_usd": 0.0123, "unpriced_models": ["m"]}
    assert rag_panel.estimate_text(est) == ("Estimate: **4** rows · **12** LLM calls · ≈3,456 tokens · ≈**$0.01** "
                                            "(no price for m)")
    assert rag_panel.estimate_text({**est, "cost_usd": None, "unpriced_models": []}).endswith("≈**— no price**")


def test_stats_key_follows_the_runs_stamp(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset("stamp", n_queries=3)
    run = write_retrieval_run(store, ds, {"a": {f"q{i}": 0.5 for i in range(3)}})
    path, ids, stamp = stats.stats_key(store, [run])
    assert (path, ids, stamp) == (str(tmp_path / "runs.sqlite"), (run,), store.stamp(run))
    store.add_rows(run, [{"model": "a", "item_id": "q0", "ndcg@5": 1.0, "precision@5": 0.5}])
    assert stats.stats_key(store, [run])[2] == store.stamp(run) != stamp
    store.delete(run)
    with pytest.raises(RunNotFound):
        stats.stats_key(store, [run])


def test_model_pickers_leave_out_what_this_milvus_cannot_run_and_say_why(monkeypatch):
    """Every page's model picker offers what the server runs: on Milvus 2.3.5 no bm25 / hybrid (BM25 needs
    2.5), with the reason in the picker's help; on Milvus Lite both are offered."""
    from rag.milvus.capabilities import Capabilities, models_on

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    old = models_on(Capabilities("Milvus", "v2.3.5"))
    lite = models_on(Capabilities("Milvus Lite", "milvus_lite-3.2.2"))
    assert [s.name for s, ok, _ in old if ok] == ["minilm"]
    assert [s.name for s, ok, _ in lite if ok] == ["minilm", "bm25", "hybrid"]
    assert pickers.unavailable_help(old).startswith(
        "Not offered here: bm25: bm25 needs Milvus >= 2.5 (BM25 function); this server is 2.3.5; "
        "hybrid: hybrid needs Milvus >= 2.5 (BM25 function); this server is 2.3.5; openai-3-small: needs")
    assert "bm25" not in (pickers.unavailable_help(lite) or "")
