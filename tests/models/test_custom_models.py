"""The user's own models end to end: ``st:FOLDER`` and ``oai:MODEL@BASE_URL`` keyed by the spec typed.

Real parts: Milvus Lite, the packaged MiniLM folder given as ``st:<folder>``, Locust, Streamlit's
AppTest; the only stand-in is the local OpenAI-compatible test server's ``/v1/embeddings`` (hashed
bag-of-words vectors), whose exact rankings are computed here with numpy as the oracle.
"""

from __future__ import annotations

import html
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import cli
from evaluators.retrieval.metrics import score_run
from rag.milvus.store import canonical_order
from rag.models.base import ModelUnavailable
from rag.models.registry import resolve, resolve_all
from rag.models.text import minilm_path
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.judge_rules import embed
from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)

TIMEOUT = 300


def oai(server) -> str:
    return f"oai:test-embed@{server.base_url}"


def st_spec() -> str:
    return f"st:{minilm_path()}"


def oracle(ds, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
    """What an exact cosine search over the test server's vectors returns, in trec_eval order."""
    docs = np.array([embed(d.full_text) for d in ds.documents])
    return [canonical_order([(d.id, float(s)) for d, s in zip(ds.documents, docs @ np.array(embed(t)))])[:k]
            for t in texts]


def assert_same_ranking(got, expected):
    assert [d for d, _ in got] == [d for d, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=2e-6)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=os.environ.copy())


# ---------------------------------------------------------------- keys and resolution

def test_keys_are_the_spec_strings_and_slugs_are_unique(tmp_path):
    (tmp_path / "a" / "model").mkdir(parents=True)
    (tmp_path / "b" / "model").mkdir(parents=True)
    a, b = resolve(f"st:{tmp_path}/a/model"), resolve(f" st:{tmp_path}/b/model ")
    assert (a.ref, b.ref) == (f"st:{tmp_path}/a/model", f"st:{tmp_path}/b/model")
    assert a.name != b.name and a.name.startswith("st-model-") and b.name.startswith("st-model-")
    one, two = resolve("oai:m@http://127.0.0.1:1/v1"), resolve("oai:m@http://127.0.0.1:2/v1")
    assert one.name != two.name and one.ref == "oai:m@http://127.0.0.1:1/v1"
    assert resolve("minilm").ref == "minilm" and resolve("openai-3-small:512").ref == "openai-3-small:512"
    assert list(resolve_all(["minilm", " minilm ", "bm25"])) == ["minilm", "bm25"]
    with pytest.raises(ModelUnavailable, match=f"unknown model '{one.name}'"):
        resolve(one.name)  # the internal slug is not a key: nothing may be stored under it


def test_a_missing_folder_resolves_but_cannot_run():
    spec = resolve("st:/no/such/model")  # a stored run's model still resolves (for its price) ...
    assert spec.availability() == (False, "no sentence-transformers folder at /no/such/model")
    with pytest.raises(ModelUnavailable, match="^st:/no/such/model: no sentence-transformers folder"):
        resolve_all(["minilm", "st:/no/such/model"], check=True)  # ... and a job refuses it before any work
    with pytest.raises(ModelUnavailable, match="unknown model 'oai:@http://x/v1'"):
        resolve("oai:@http://x/v1")


# ---------------------------------------------------------------- st:<the packaged MiniLM folder>

def same_rankings(a: dict, b: dict) -> bool:
    """The same documents in the same order for every query, scores equal to float32 noise: the two
    collections' vectors were encoded in batches of different make-up (padding), which moves the 7th digit."""
    return a.keys() == b.keys() and all(
        [d for d, _ in a[q]] == [d for d, _ in b[q]]
        and all(abs(x - y) < 1e-5 for (_, x), (_, y) in zip(a[q], b[q])) for q in a)


def test_st_folder_scores_exactly_like_minilm(retriever, sample):
    from evaluators.retrieval.evaluate import evaluate_retrieval

    spec = st_spec()
    result = evaluate_retrieval(retriever, sample, ["minilm", spec], k=4)
    assert result.models == ["minilm", spec]
    assert same_rankings(result.rankings[spec], result.rankings["minilm"])
    assert result.metrics[spec] == result.metrics["minilm"]
    assert result.model_ids == {"minilm": "sentence-transformers/all-MiniLM-L6-v2",
                                spec: f"st:{Path(minilm_path()).resolve()}"}
    assert result.collections[spec] != result.collections["minilm"]  # its own collection


def test_cli_st_folder_run_is_saved_under_the_spec(milvus, tmp_path):
    spec = st_spec()
    out = tmp_path / "st.json"
    assert cli.main(["retrieval", "--dataset", "sample", "--models", f"minilm,{spec}", "--k", "4",
                     "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    assert list(data["metrics"]) == ["minilm", spec] and data["metrics"][spec] == data["metrics"]["minilm"]
    assert same_rankings(data["rankings"][spec], data["rankings"]["minilm"])
    run = RunStore.default().get(data["run_id"])
    assert run.config["models"] == ["minilm", spec]
    assert run.config["model_ids"][spec] == f"st:{Path(minilm_path()).resolve()}"


# ---------------------------------------------------------------- oai:<model>@<test server>

@pytest.mark.slow
def test_cli_oai_model_saves_a_run_a_report_and_a_gate(milvus, judge_server, sample, tmp_path):  # noqa: F811
    spec = oai(judge_server)
    out = tmp_path / "oai.json"
    p = run_cli("retrieval", "--dataset", "sample", "--models", f"bm25,{spec}", "--k", "4", "--output", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text())
    run_id = data["run_id"]
    run = RunStore.default().get(run_id)
    assert run.status == "done" and run.config["models"] == ["bm25", spec]
    assert run.config["model_ids"] == {"bm25": "milvus-bm25-k1_0.9-b_0.4", spec: spec}
    assert list(run.summary["metrics"]) == ["bm25", spec]
    queries = sample.judged_queries
    expected = oracle(sample, [q.text for q in queries], 4)
    for q, exp in zip(queries, expected):
        assert_same_ranking([tuple(h) for h in data["rankings"][spec][q.id]], exp)
    _, means = score_run({q.id: e for q, e in zip(queries, expected)}, sample.qrels, 4)
    assert run.summary["metrics"][spec] == means and round(means["ndcg@4"], 4) == 0.3982  # measured

    g = run_cli("gate", "--run", run_id, "--metric", "ndcg@4", "--min", "0.3", "--model", spec)
    assert g.returncode == 0 and g.stdout == f"gate passed (run {run_id}): ndcg@4 >= 0.3: {spec} 0.3982\n"
    g = run_cli("gate", "--run", run_id, "--metric", "ndcg@4", "--min", "0.5", "--model", spec)
    assert g.returncode == 1 and g.stderr == f"GATE FAILED (run {run_id}): {spec} ndcg@4 = 0.3982 < min 0.5\n"

    report = tmp_path / "report.html"
    r = run_cli("report", "--runs", run_id, "--output", str(report))
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"wrote {report} (runs {run_id})\n"
    assert html.escape(spec) in report.read_text() and "self-hosted endpoint" in report.read_text()


def test_frontier_says_where_each_cost_comes_from(judge_server, tmp_path):  # noqa: F811
    from evaluators.report.frontier import frontier_table
    from tests.support.run_fixtures import make_dataset, write_retrieval_run

    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset(n_queries=4)
    spec = oai(judge_server)
    run = write_retrieval_run(store, ds, {m: {f"q{i}": 0.5 for i in range(4)} for m in
                                          [spec, st_spec(), "openai-3-small:512", "bm25", "oai-fake"]},
                              config={"query_tokens": 10})
    frame = frontier_table(store, run).set_index("setup")
    assert frame.loc[spec, "cost_per_1k"] == 0.0
    assert frame.loc[spec, "cost_basis"] == (f"self-hosted endpoint {judge_server.base_url} "
                                             "(no per-token price; hardware not priced)")
    assert frame.loc[st_spec(), "cost_basis"] == "local sentence-transformers folder on this machine " \
                                                 "(hardware not priced)"
    assert frame.loc["openai-3-small:512", "cost_per_1k"] == pytest.approx(10 * 0.02 * 1000 / 1e6)
    assert frame.loc["openai-3-small:512", "cost_basis"] == "~10 tokens/query (recorded) × $0.02/1M tokens " \
                                                            "(API list price)"
    assert frame.loc["bm25", "cost_basis"] == "no embedding: Milvus' built-in BM25 (hardware not priced)"
    assert math.isnan(frame.loc["oai-fake", "cost_per_1k"])  # a key that does not resolve is unknown, not $0
    assert frame.loc["oai-fake", "cost_basis"].startswith("unknown: unknown model 'oai-fake'. Known: minilm")
    guessed = write_retrieval_run(store, ds, {"openai-3-small": {f"q{i}": 0.5 for i in range(4)}})
    row = frontier_table(store, guessed).iloc[0]  # no recorded tokens, and test:synthetic cannot be read
    assert row["cost_per_1k"] == pytest.approx(16 * 0.02 * 1000 / 1e6)
    assert row["cost_basis"].startswith("~16 tokens/query (default: dataset test:synthetic unreadable (")


@pytest.mark.slow
def test_rag_job_with_an_oai_model(retriever, judge_server, sample, tmp_path):  # noqa: F811
    from evaluators.rag.config import RagConfig, questions_for
    from evaluators.rag.job import run_rag

    spec = oai(judge_server)
    store = RunStore(tmp_path / "rag.sqlite")
    res = run_rag(sample, RagConfig(models=[spec], generator="extractive", judge="none", k=3, limit=4),
                  retriever=retriever, store=store)
    run = store.get(res.run_id)
    assert run.status == "done" and run.config["models"] == [spec] and run.config["model_ids"] == {spec: spec}
    assert list(run.summary["metrics"]) == [spec]
    rows = store.rows(run.id)
    by_q = {r["question_id"]: r for r in rows}
    assert len(rows) == 4 and {r["model"] for r in rows} == {spec}
    questions = questions_for(sample, RagConfig(models=[spec], limit=4))
    for q, exp in zip(questions, oracle(sample, [q.question for q in questions], 3)):
        assert by_q[q.id]["retrieved_ids"] == [d for d, _ in exp]


def test_service_serves_an_oai_model_by_its_spec(milvus, judge_server, sample):  # noqa: F811
    from fastapi.testclient import TestClient

    from loadtests.service import create_app
    from loadtests.service_state import ServiceConfig, ServiceState

    spec = oai(judge_server)
    state = ServiceState(ServiceConfig(dataset="sample", models=["bm25", f" {spec} "]), log=lambda m: None)
    with TestClient(create_app(state)) as client:
        assert [m["name"] for m in client.get("/models").json()["models"]] == ["bm25", spec]
        q = "memory safety without a garbage collector"
        client.post("/stats/reset")
        r = client.post("/search", json={"model": spec, "query": q, "k": 4})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"] == spec
        assert_same_ranking([(h["id"], h["score"]) for h in body["hits"]], oracle(sample, [q], 4)[0])
        assert list(client.get("/stats/timings").json()["search"]) == [spec]
        missing = client.post("/search", json={"model": resolve(spec).name, "query": q, "k": 4})
        assert missing.status_code == 404
        assert missing.json()["detail"] == f"unknown model '{resolve(spec).name}'; known: bm25, {spec}"


@pytest.mark.slow
def test_load_test_with_an_oai_model_is_recorded_under_the_spec(milvus, judge_server, tmp_path):  # noqa: F811
    from evaluators.report.frontier import frontier_table
    from loadtests.config import LoadConfig
    from loadtests.runner import run_load_test
    from rag.settings import get_settings
    from tests.support.run_fixtures import make_dataset, write_retrieval_run

    spec = oai(judge_server)
    store = RunStore(tmp_path / "load.sqlite")
    report = run_load_test(LoadConfig(models=[spec], users=2, spawn_rate=2, duration=3), store=store)
    r = report.results[spec].stats
    assert r.name == f"search[{spec}]" and r.requests > 0 and r.failures == 0
    run = store.get(report.run_id)
    assert run.status == "done" and run.config["models"] == [spec] and list(run.summary["results"]) == [spec]
    csv = get_settings().path("loadtests", run.id, f"{resolve(spec).name}_stats.csv")
    assert csv.is_file()  # the spec's slug names the files: "oai:…/v1" (or "st:/a/b") is no path
    ret = write_retrieval_run(store, make_dataset(n_queries=4), {spec: {f"q{i}": 0.5 for i in range(4)}})
    row = frontier_table(store, [ret, run.id]).iloc[0]
    assert row["setup"] == spec and row["p95_ms"] == r.p95_ms and row["latency_run"] == run.id


# ---------------------------------------------------------------- the pages

@pytest.mark.slow
def test_pages_index_retrieval_history_with_own_models(milvus, judge_server):  # noqa: F811
    spec = oai(judge_server)
    at = AppTest.from_file(str(ROOT / "pages" / "2_Index.py"), default_timeout=TIMEOUT).run()
    at.text_input[0].set_value(f"{spec} ,").run()
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("Ready: minilm (") and f", {spec} (" in at.success[0].value
    indexed = at.session_state["indexed_models"]
    assert indexed == ["minilm", "bm25", spec]

    rt = AppTest.from_file(str(ROOT / "pages" / "3_Retrieval.py"), default_timeout=TIMEOUT)
    rt.session_state["indexed_models"] = indexed  # what the Index page left for the next page
    rt.run()
    assert rt.multiselect[0].value == indexed
    rt.text_input[0].set_value(st_spec()).run()  # the Retrieval page's own field for more models
    rt.button[0].click().run()
    assert not rt.exception and not rt.error
    models = [*indexed, st_spec()]
    metrics = rt.dataframe[0].value
    assert list(metrics.index) == models
    table = next(d.value for d in rt.dataframe if list(d.value.index)[-2:] == ["Precision", "Recall"])
    assert list(table.columns) == models and table[st_spec()].tolist() == table["minilm"].tolist()
    run_id = rt.session_state["retrieval_run_id"]
    run = RunStore.default().get(run_id)
    assert run.config["models"] == models and list(run.summary["metrics"]) == models

    h = AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=TIMEOUT).run()
    listed = h.dataframe[0].value.set_index("id")
    assert listed.loc[run_id, "models"] == ", ".join(models)
    h.multiselect(key="history_selected").select(run_id).run()
    assert not h.exception and not h.error
    verdict = next(d.value for d in h.dataframe if "mark" in d.value.columns)  # the opened run's statistics
    assert sorted(verdict["model"]) == sorted(models)
    assert verdict.set_index("model").loc[spec, "n"] == "16"  # display text (evaluators.formatting)
