"""The RAG quality job end to end: real Milvus Lite, real MiniLM, real Ragas, the local test LLM server.

Covers the offline path on the sample (CLI JSON), a judged run whose call count matches the estimate,
fault injection emptying only the affected rows, "retry failed rows", the spend cap, a dataset without
reference answers (n/a, not 0), and a CLI run killed with SIGKILL that resumes with nothing lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

import cli
from evaluators.rag.config import RagConfig
from evaluators.rag.job import resume_rag, run_rag, run_view
from rag.data.dataset import Dataset, Query
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow
ALL = ["faithfulness", "answer_relevancy", "context_precision", "context_recall", "nonllm_context_precision",
       "nonllm_context_recall", "rouge_l", "bleu", "string_similarity"]


def judged(server, **kw) -> RagConfig:
    url = server.base_url
    base = dict(models=["minilm", "bm25"], generator=f"compat:gen-model@{url}", judge=f"compat:judge-model@{url}",
                k=3, limit=4, concurrency=4, timeout=10, max_retries=0)
    return RagConfig(**{**base, **kw})


def test_offline_cli_on_the_sample(retriever, sample, tmp_path):
    out = tmp_path / "rag.json"
    code = cli.main(["rag", "--dataset", "sample", "--models", "minilm,bm25", "--generator", "extractive",
                     "--judge", "none", "--k", "4", "--output", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["run_id"] and data["status"] == "done"
    assert set(data["metrics"]) == {"minilm", "bm25"}
    for model, ms in data["metrics"].items():
        assert set(ms) == {"nonllm_context_precision", "nonllm_context_recall", "rouge_l", "bleu",
                           "string_similarity"}
        for name, v in ms.items():
            assert v["n"] == v["total"] == 16 and 0.0 < v["mean"] <= 1.0, (model, name)
    assert set(data["metrics_skipped"]) == {"faithfulness", "answer_relevancy", "context_precision", "context_recall"}
    assert data["generator"]["baseline"] is True
    assert len(data["rows"]) == 32
    row = next(r for r in data["rows"] if r["model"] == "minilm" and r["question_id"] == "q1")
    assert len(row["retrieved_ids"]) == 4 and row["response"] and row["errors"] == {}
    assert "faithfulness" not in row and isinstance(row["rouge_l"], float)
    # The sample has qrels ids: the context metrics ran by id, i.e. they are retrieval P/R of the top 4
    for model in ("minilm", "bm25"):
        assert {n: data["metrics"][model][n]["variant"] for n in ("nonllm_context_precision",
                                                                 "nonllm_context_recall")} == {
            "nonllm_context_precision": "by id", "nonllm_context_recall": "by id"}
    for r in data["rows"]:
        got, rel = set(r["retrieved_ids"]), set(sample.relevant(r["question_id"]))
        assert r["nonllm_context_recall"] == len(got & rel) / len(rel)
        assert r["nonllm_context_precision"] == len(got & rel) / len(got)
        assert r["variants"] == {"nonllm_context_precision": "by id", "nonllm_context_recall": "by id"}


def test_judged_run_matches_its_estimate(retriever, sample, llm_server):  # noqa: F811
    from evaluators.rag.config import questions_for
    from evaluators.rag.estimate import estimate_run

    cfg = judged(llm_server)
    est = estimate_run(questions_for(sample, cfg), sample, cfg)
    result = run_rag(sample, cfg, retriever=retriever)
    assert result.status == "done" and len(result.rows) == 8
    for model in ("minilm", "bm25"):
        for name in ALL:
            v = result.summary["metrics"][model][name]
            assert v["n"] == v["total"] == 4 and v["mean"] is not None, (model, name)
        assert result.summary["metrics"][model]["faithfulness"]["mean"] == 1.0  # answers copy a context sentence
    calls = llm_server.stats()["chat_calls"]
    assert calls == est.total_calls == 8 * (1 + 2 + 3 + 3 + 1)  # generator + judge calls per row, k = 3
    usage = result.summary["usage"]
    assert usage["calls"] == calls and usage["prompt_tokens"] == llm_server.stats()["prompt_tokens"]
    assert set(usage["by_model"]) == {"gen-model", "judge-model"}
    row = result.rows[0]
    assert row["usage"]["judge-model"]["prompt_tokens"] > 0   # per-row usage survives the run store
    assert {r["verdict"] for r in row["reasons"]["faithfulness"][1]["statements"]} == {1}


def test_fault_injection_empties_only_affected_rows_and_retry_recovers_them(retriever, sample, llm_server):  # noqa: F811
    llm_server.set_faults([{"kind": "http500", "match": "memory safety without a garbage collector"}])  # q3
    store = RunStore.default()
    first = run_rag(sample, judged(llm_server), retriever=retriever, store=store)
    assert first.status == "done" and first.summary["failed_rows"] == 2
    bad = [r for r in first.rows if r["errors"]]
    assert {r["question_id"] for r in bad} == {"q3"}
    for r in bad:
        assert r["response"] is None and "500" in r["errors"]["generation"]
        assert r["scores"]["faithfulness"] is None and r["scores"]["context_recall"] is None
        assert "500" in r["errors"]["context_recall"]
        assert r["scores"]["nonllm_context_recall"] is not None   # needs no LLM: still scored
    for model in ("minilm", "bm25"):
        v = first.summary["metrics"][model]["faithfulness"]
        assert (v["n"], v["total"], v["failed"]) == (3, 4, 1)   # the mean's coverage says so
    good_before = {(r["model"], r["question_id"]): r for r in first.rows if not r["errors"]}

    llm_server.set_faults([])
    llm_server.reset_stats()
    again = resume_rag(first.run_id, retriever=retriever, ds=sample, store=store, retry_failed=True)
    assert again.status == "done" and again.summary["failed_rows"] == 0
    assert llm_server.stats()["chat_calls"] == 2 * (1 + 2 + 3 + 3 + 1)   # only the two failed rows re-ran
    for model in ("minilm", "bm25"):
        assert all(v["n"] == v["total"] == 4 for v in again.summary["metrics"][model].values())
    for r in again.rows:
        if (r["model"], r["question_id"]) in good_before:
            assert r == good_before[(r["model"], r["question_id"])]   # untouched


def test_spend_cap_stops_cleanly_and_resume_finishes(retriever, sample, llm_server):  # noqa: F811
    cfg = judged(llm_server, concurrency=1, metrics=["faithfulness"], spend_cap_usd=0.5,
                 prices={"judge-model": [1000.0, 1000.0], "gen-model": [0.0, 0.0]})
    stopped = run_rag(sample, cfg, retriever=retriever)
    assert stopped.status == "stopped" and 1 <= len(stopped.rows) < 8
    assert stopped.summary["usage"]["cost_usd"] >= 0.5
    done = resume_rag(stopped.run_id, retriever=retriever, ds=sample, overrides={"spend_cap_usd": None})
    assert done.status == "done" and len(done.rows) == 8
    assert sorted((r["model"], r["question_id"]) for r in done.rows) == \
        sorted((m, q) for m in ("minilm", "bm25") for q in ("q1", "q2", "q3", "q4"))


def test_questions_without_reference_answers_are_not_applicable(retriever, sample):
    noref = Dataset("sample-noref", sample.documents, [replace(q, reference=None) for q in sample.queries],
                    sample.qrels, source="")
    assert all(isinstance(q, Query) for q in noref.queries)
    result = run_rag(noref, RagConfig(models=["bm25"], k=4, limit=5), retriever=retriever)
    ms = result.summary["metrics"]["bm25"]
    for name in ("rouge_l", "bleu", "string_similarity"):
        assert ms[name] == {"mean": None, "n": 0, "total": 0, "not_applicable": 5, "failed": 0}
    assert ms["nonllm_context_recall"]["n"] == 5       # qrels still give reference contexts
    assert all("not applicable" in r["not_applicable"]["rouge_l"] for r in result.rows)


def test_kill_9_mid_run_loses_nothing_and_resumes(retriever, sample, llm_server):  # noqa: F811
    llm_server.latency = 0.4
    store = RunStore.default()
    before = {r.id for r in store.list(kind="rag")}
    cmd = [sys.executable, "cli.py", "rag", "--dataset", "sample", "--models", "minilm,bm25", "--generator",
           "extractive", "--judge", f"compat:judge-model@{llm_server.base_url}", "--metrics", "faithfulness,rouge_l",
           "--limit", "6", "--k", "3", "--concurrency", "1", "--retries", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_id, deadline = None, time.time() + 180
    try:
        while time.time() < deadline and proc.poll() is None:
            new = [r.id for r in store.list(kind="rag") if r.id not in before]
            run_id = new[0] if new else None
            if run_id and len(store.rows(run_id)) >= 3:
                break
            time.sleep(0.1)
        assert run_id and proc.poll() is None, f"CLI ended early: {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = {(r["model"], r["question_id"]): r for r in store.rows(run_id)}
    assert 3 <= len(stored) < 12 and store.get(run_id).status == "running"
    summary, _ = run_view(store.get(run_id), store, sample)   # the page's view of a killed run
    assert summary["rows"] == len(stored) and summary["expected_rows"] == 12

    llm_server.latency = 0.0
    llm_server.reset_stats()
    result = resume_rag(run_id, retriever=retriever, store=store)
    assert result.status == "done" and len(result.rows) == 12
    keys = [(r["model"], r["question_id"]) for r in result.rows]
    assert len(set(keys)) == 12                                   # nothing duplicated
    for r in result.rows:
        if (r["model"], r["question_id"]) in stored:
            assert r == stored[(r["model"], r["question_id"])]      # nothing lost, nothing redone
        assert r["scores"]["faithfulness"] == 1.0 and r["errors"] == {}
    assert llm_server.stats()["chat_calls"] == 2 * (12 - len(stored))  # only the missing rows ran


def test_cli_honours_openai_env_and_never_stores_the_key(retriever, llm_server, tmp_path, monkeypatch):  # noqa: F811
    from rag.settings import get_settings, reset_settings

    secret = "sk-test-DO-NOT-STORE-1234567890"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    reset_settings()
    out = tmp_path / "rag.json"
    try:
        code = cli.main(["rag", "--dataset", "sample", "--models", "bm25", "--generator", "openai:gpt-4o-mini",
                         "--judge", "openai:gpt-4o-mini", "--metrics", "faithfulness,rouge_l", "--limit", "2",
                         "--k", "2", "--output", str(out)])
        assert code == 0
        data = json.loads(out.read_text())
        assert data["metrics"]["bm25"]["faithfulness"]["n"] == 2
        assert llm_server.stats()["chat_calls"] == 2 * (1 + 2)       # generator + faithfulness, via OPENAI_BASE_URL
        assert data["usage"]["cost_usd"] > 0 and data["generator"]["label"] == "OpenAI: gpt-4o-mini"
        db = get_settings().path("runs.sqlite")
        # read in another process: opening the files here would drop this process's SQLite locks
        stored = subprocess.run(["cat", *map(str, db.parent.glob("runs.sqlite*"))], capture_output=True).stdout
        assert secret.encode() not in stored and secret not in out.read_text()
    finally:
        monkeypatch.delenv("OPENAI_API_KEY")
        monkeypatch.delenv("OPENAI_BASE_URL")
        reset_settings()


def test_mixed_question_set_says_which_variant_ran_and_a_lost_count_is_unknown(retriever, sample):
    from evaluators.rag.job import create_run
    from evaluators.rag.rows import rows_text
    from evaluators.rag.tables import run_caption
    from rag.data.question_sets import EvalQuestion, _path, save_question_set

    java = sample.doc("java").full_text
    save_question_set("mixed", [EvalQuestion("a", "Which language has a garbage collector?", None, [java], ["java"]),
                                EvalQuestion("b", "Which language has a garbage collector?", None, [java], [])])
    cfg = RagConfig(models=["bm25"], k=2, question_set="mixed", metrics=["nonllm_context_recall"])
    result = run_rag(sample, cfg, retriever=retriever)
    assert result.summary["metrics"]["bm25"]["nonllm_context_recall"]["variant"] == "by id 1 · by text 1"
    assert [r["variants"] for r in result.rows] == [{"nonllm_context_recall": "by id"},
                                                    {"nonllm_context_recall": "by text"}]
    store = RunStore.default()
    partial = create_run(sample, cfg, store)
    store.add_rows(partial, result.rows[:1])
    _path("mixed").unlink()                                   # the question set is gone: its size is unknown
    summary, rows = run_view(store.get(partial), store, sample)
    reason = "the question count is unknown: DatasetError: no question set named 'mixed' (saved sets: none)"
    assert (summary["rows"], summary["expected_rows"], summary["expected_rows_unknown"]) == (1, None, reason)
    assert rows_text(summary) == f"rows 1/unknown ({reason})"
    assert f"rows 1/unknown ({reason})" in run_caption(store.get(partial), summary)
    done, _ = run_view(store.get(result.run_id), store, sample)  # a finished run keeps its recorded count
    assert rows_text(done) == "rows 2/2"


def test_rows_are_stored_off_the_event_loop_each_before_it_counts(retriever, sample, tmp_path):
    """The store write (a SQLite commit) runs on the job's writer thread, not on the event loop the LLM calls
    share; each row is stored before the progress line counts it, and the stored rows are the run's rows."""
    import sqlite3
    import threading

    calls, seen = [], []

    class Recording(RunStore):
        def add_rows(self, run_id, rows):
            calls.append(threading.current_thread().name)
            super().add_rows(run_id, rows)

    store = Recording(tmp_path / "runs.sqlite")
    cfg = RagConfig(models=["bm25"], generator="extractive", judge="none", k=3, limit=3, concurrency=2)

    def stored() -> int:
        with sqlite3.connect(tmp_path / "runs.sqlite") as c:
            return c.execute("SELECT COUNT(*) FROM rows").fetchone()[0]

    res = run_rag(sample, cfg, retriever=retriever, store=store, progress=lambda p: seen.append((p.done, stored())))
    assert len(calls) == 3 and all(name.startswith("rag-rows") for name in calls)
    assert [done for done, _n in seen] == [1, 2, 3] and all(n >= done for done, n in seen)
    assert [r["question_id"] for r in res.rows] == ["q1", "q2", "q3"]
    assert len(store.rows(res.run_id)) == 3
