"""The load-test service's endpoints, in process, against the real Milvus Lite server and real MiniLM."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT, free_port
from tests.support.asgi_counting import CountingApp


@pytest.fixture(scope="module")
def state(milvus):
    from loadtests.service_state import ServiceConfig, ServiceState

    return ServiceState(ServiceConfig(dataset="sample", models=["minilm", "bm25"]), log=lambda m: None)


@pytest.fixture(scope="module")
def client(state):
    from loadtests.service import create_app

    with TestClient(create_app(state)) as c:
        yield c


def test_health_and_models(client, sample):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["dataset"] == "sample" and h["models"] == ["minilm", "bm25"]
    assert "127.0.0.1" in h["milvus"]
    assert client.get("/health", params={"deep": True}).status_code == 200
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert set(models) == {"minilm", "bm25"}
    assert models["minilm"]["rows"] == len(sample.documents)
    assert models["minilm"]["collection"].startswith("wb_sample_minilm_")
    assert models["bm25"]["index"] == "BM25" and models["minilm"]["index"] == "FLAT/COSINE"
    assert models["bm25"]["bm25_analyzer"] == "english" and "bm25_analyzer" not in models["minilm"]


def test_load_runs_record_the_analyzer_that_served(client, tmp_path):
    """A load run's config keeps what was asked ("auto"); its summary what the service's collections used."""
    from loadtests.results import LoadRecorder
    from rag.runs import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    rec = LoadRecorder(store, {"models": ["minilm", "bm25"], "bm25_analyzer": "auto"})
    rec.service_settings(client.get("/models").json())
    run = store.get(rec.run_id)
    assert run.config["bm25_analyzer"] == "auto"
    assert run.summary["service"]["bm25_analyzers"] == {"bm25": "english"}


def test_reuses_the_apps_collections(state, retriever, sample):
    built = retriever.index(sample, ["minilm", "bm25"])
    assert {m: lm.collection for m, lm in state.models.items()} == {m: b.name for m, b in built.items()}


def test_service_serves_the_index_config_it_is_given_and_keeps_the_others(retriever, sample):
    """An HNSW service reuses the app's HNSW minilm build (stored inputs), builds nothing, and leaves FLAT alone."""
    from loadtests.service_state import ServiceConfig, ServiceState
    from rag.milvus.index_config import IndexConfig

    flat = retriever.index(sample, ["minilm"])["minilm"].name
    retriever.index_config = IndexConfig("HNSW", "COSINE", {"M": 8})
    try:
        hnsw = retriever.index(sample, ["minilm"])["minilm"].name
    finally:
        retriever.index_config = IndexConfig()
    logs: list[str] = []
    st = ServiceState(ServiceConfig(models=["minilm"], index_type="HNSW", index_params={"M": 8}), log=logs.append)
    assert st.models["minilm"].collection == hnsw != flat
    assert st.models["minilm"].index == IndexConfig("HNSW", "COSINE", {"M": 8})
    assert logs[0].startswith(f"model minilm: collection {hnsw} reused")
    assert retriever.store.client.has_collection(flat)
    st.store.client.close()


@pytest.mark.parametrize("model", ["minilm", "bm25"])
def test_search_matches_in_process_retrieval(client, retriever, sample, model):
    from rag.models.registry import resolve

    q = "memory safety without a garbage collector"
    r = client.post("/search", json={"model": model, "query": q, "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == model and len(body["hits"]) == 5
    expected = retriever.search(sample, resolve(model), [q], 5)[0]
    assert [h["id"] for h in body["hits"]] == [d for d, _ in expected]
    assert all(h["title"] == sample.doc(h["id"]).title for h in body["hits"])
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True)
    t = body["timings"]
    assert t["search_ms"] > 0 and t["server_ms"] >= t["embed_ms"] + t["search_ms"] - 0.01
    assert (t["embed_ms"] > 0) == (model == "minilm")


@pytest.mark.parametrize("body, status", [
    ({"model": "minilm", "query": "x", "k": 0}, 422),
    ({"model": "minilm", "query": "x", "k": 101}, 422),
    ({"model": "minilm", "query": "", "k": 3}, 422),
    ({"model": "minilm", "query": "x" * 2001, "k": 3}, 422),
    ({"model": "minilm", "k": 3}, 422),
    ({"model": "minilm", "query": "garbage " * 250, "k": 100}, 200),   # 2,000 characters, k 100: allowed
])
def test_search_validates_input(client, body, status):
    assert client.post("/search", json=body).status_code == status


def test_unknown_model_is_404_listing_the_known_ones(client):
    for path, body in (("/search", {"model": "nope", "query": "x"}), ("/rag", {"model": "nope", "question": "x"})):
        r = client.post(path, json=body)
        assert r.status_code == 404
        assert "unknown model 'nope'" in r.json()["detail"] and "minilm, bm25" in r.json()["detail"]
    assert client.get("/plan/milvus", params={"model": "nope"}).status_code == 404


def test_rag_answers_from_the_contexts_with_generate_time(client):
    r = client.post("/rag", json={"model": "bm25", "question": "memory safety without a garbage collector", "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] and body["generator"] == "extractive" and len(body["contexts"]) == 3
    assert all(c["text"] for c in body["contexts"])
    assert any(s.strip() and s.strip() in " ".join(c["text"] for c in body["contexts"])
               for s in body["answer"].split(". "))
    assert body["timings"]["generate_ms"] > 0


def test_timings_summary_and_reset(client):
    client.post("/stats/reset")
    for _ in range(3):
        client.post("/search", json={"model": "minilm", "query": "garbage collection", "k": 3})
    t = client.get("/stats/timings").json()["search"]["minilm"]
    assert t["embed_ms"]["n"] == 3 and t["search_ms"]["p95"] > 0 and t["server_ms"]["mean"] > 0
    client.post("/stats/reset")
    assert client.get("/stats/timings").json() == {}


def test_questions_and_milvus_plan(client, sample):
    qs = client.get("/questions").json()["questions"]
    assert qs == [q.text for q in sample.queries]
    plan = client.get("/plan/milvus", params={"model": "minilm", "limit": 3}).json()
    assert plan["collection"].startswith("wb_sample_minilm_") and len(plan["queries"]) == 3
    assert len(plan["vectors"]) == 3 and len(plan["vectors"][0]) == 384
    assert client.get("/plan/milvus", params={"model": "bm25"}).json()["vectors"] is None


def test_milvus_down_is_a_clear_startup_error(milvus):
    from loadtests.service_state import ServiceConfig, ServiceState
    from rag.milvus.server import MilvusUnavailable

    with pytest.raises(MilvusUnavailable, match="Cannot connect to Milvus at http://127.0.0.1:"):
        ServiceState(ServiceConfig(models=["bm25"], milvus_uri=f"http://127.0.0.1:{free_port()}"),
                     log=lambda m: None)


def test_port_in_use_fails_fast_with_a_clear_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "loadtests.service", "--port", str(port), "--models", "bm25"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in p.stderr


def test_a_lone_surrogate_in_a_query_is_a_clear_422_not_a_crash(client):
    """JSON may carry "\\ud800" (valid JSON, invalid UTF-8); the reply names the field and never echoes it."""
    r = client.post("/search", content=b'{"model": "bm25", "query": "java \\ud800", "k": 3}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json() == {"detail": [{
        "loc": ["body", "query"], "type": "string_unicode",
        "msg": "Input should be a valid string, unable to parse raw data as a unicode string"}]}


# ---------------------------------------------------------------- the raw /search route (loadtests.fast_search)

def test_parse_search_takes_only_bodies_the_pydantic_model_would_take_as_they_are():
    from loadtests.fast_search import parse_search

    ct = b"application/json"
    assert parse_search(b'{"model": "bm25", "query": "gc", "k": 3}', ct) == ("bm25", "gc", 3)
    assert parse_search(b'{"model": "bm25", "query": "gc", "extra": 1}', b"Application/JSON; charset=utf-8") \
        == ("bm25", "gc", 10)                                            # k defaults to 10, extra keys ignored
    assert parse_search(('{"model": "m", "query": "%s", "k": 100}' % ("x" * 2000)).encode(), ct) == ("m", "x" * 2000,
                                                                                                     100)
    for body in (b'{"model": "bm25", "query": "gc", "k": 0}', b'{"model": "bm25", "query": "gc", "k": 101}',
                 b'{"model": "bm25", "query": "gc", "k": "3"}', b'{"model": "bm25", "query": "gc", "k": 3.0}',
                 b'{"model": "bm25", "query": "gc", "k": true}', b'{"model": "bm25", "query": ""}',
                 b'{"model": "", "query": "gc"}', b'{"model": "bm25"}', b'{"query": "gc"}', b'[1]', b'nope',
                 b'{"model": "bm25", "query": "java \\ud800"}', b'{"model": "bm25", "query": "gc", "k": 1e999}',
                 b'{"model": "bm25", "query": "gc", "k": 99999999999999999999999}',
                 ('{"model": "bm25", "query": "%s"}' % ("x" * 2001)).encode(),
                 ('{"model": "%s", "query": "gc"}' % ("m" * 201)).encode()):
        assert parse_search(body, ct) is None, body                      # FastAPI says what is wrong
    assert parse_search(b'{"model": "bm25", "query": "gc"}', None) is None
    assert parse_search(b'{"model": "bm25", "query": "gc"}', b"text/plain") is None


@pytest.fixture(scope="module")
def both(state):
    """(fast path over a counted FastAPI app, FastAPI alone): the same state behind each."""
    from loadtests.fast_search import FastSearch
    from loadtests.service import create_fastapi_app

    counted = CountingApp(create_fastapi_app(state))
    with TestClient(FastSearch(counted, state)) as fast, TestClient(create_fastapi_app(state)) as plain:
        yield fast, plain, counted


@pytest.mark.parametrize("body", [
    b'{"model": "bm25", "query": "gc", "k": 0}', b'{"model": "bm25", "query": "gc", "k": "many"}',
    b'{"model": "bm25", "query": ""}', b'{"model": "bm25"}', b'[1, 2]', b'{"model": "bm25", "query": "gc"',
    b'{"model": "bm25", "query": "java \\ud800", "k": 3}', b'{"model": "bm25", "query": "gc", "k": 3.5}',
])
def test_invalid_searches_get_fastapis_own_answer_byte_for_byte(both, body):
    fast, plain, counted = both
    before = counted.calls
    a = fast.post("/search", content=body, headers={"content-type": "application/json"})
    b = plain.post("/search", content=body, headers={"content-type": "application/json"})
    assert counted.calls == before + 1                                   # handed to FastAPI, body replayed
    assert (a.status_code, a.headers["content-type"], a.content) == (b.status_code, b.headers["content-type"],
                                                                     b.content)


def test_the_fast_paths_validation_messages_are_the_documented_ones(both):
    fast = both[0]
    r = fast.post("/search", json={"model": "bm25", "query": "gc", "k": 0})
    assert r.status_code == 422 and r.json() == {"detail": [{"loc": ["body", "k"], "type": "greater_than_equal",
                                                             "msg": "Input should be greater than or equal to 1"}]}
    r = fast.post("/search", json={"model": "bm25", "query": "x" * 2001})
    assert r.json() == {"detail": [{"loc": ["body", "query"], "type": "string_too_long",
                                    "msg": "String should have at most 2000 characters"}]}
    r = fast.post("/search", json={"model": "bm25"})
    assert r.json() == {"detail": [{"loc": ["body", "query"], "type": "missing", "msg": "Field required"}]}
    r = fast.post("/search", content=b'{"model": "bm25", "query": "gc", "k": "3"}',  # pydantic's lax int: served
                  headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["k"] == 3


@pytest.mark.parametrize("model", ["bm25", "minilm"])
def test_valid_searches_never_reach_fastapi_and_answer_as_it_would(both, model):
    fast, plain, counted = both
    before = counted.calls
    body = {"model": model, "query": "memory safety without a garbage collector", "k": 5}
    a, b = fast.post("/search", json=body), plain.post("/search", json=body)
    assert counted.calls == before
    assert a.status_code == b.status_code == 200 and a.headers["content-type"] == "application/json"
    ja, jb = a.json(), b.json()
    assert ja["hits"] == jb["hits"] and (ja["model"], ja["k"]) == (model, 5) and len(ja["hits"]) == 5
    assert set(ja["timings"]) == set(jb["timings"]) and int(a.headers["content-length"]) == len(a.content)


def test_unknown_model_on_the_fast_path_is_fastapis_404_byte_for_byte(both):
    fast, plain, counted = both
    before = counted.calls
    a = fast.post("/search", json={"model": "nope", "query": "gc"})
    b = plain.post("/search", json={"model": "nope", "query": "gc"})
    assert counted.calls == before
    assert (a.status_code, a.content) == (b.status_code, b.content) == (
        404, b"{\"detail\":\"unknown model 'nope'; known: minilm, bm25\"}")


def test_a_lone_bm25_search_runs_on_the_loop_and_a_burst_in_worker_threads(state, monkeypatch):
    """Alone, no thread hop (0.25-0.35 ms of a 2 ms query); six at once: each in a worker thread, same hits."""
    import asyncio

    import anyio.to_thread

    hops, real = [], anyio.to_thread.run_sync

    async def counted(fn, *a, **kw):
        hops.append(1)
        return await real(fn, *a, **kw)
    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)

    async def at_once(n: int) -> list[dict]:
        return await asyncio.gather(*(state.search_query("bm25", "garbage collection", 3) for _ in range(n)))
    alone = asyncio.run(at_once(1))
    assert hops == [] and len(alone[0]["hits"]) == 3
    burst = asyncio.run(at_once(6))
    assert len(hops) == 6 and all(r["hits"] == alone[0]["hits"] for r in burst)
    assert state._in_flight == 0


def test_a_prompted_model_is_served_with_its_query_prompt(milvus, retriever, sample):
    """The service embeds a query as retrieval does, with the model's query prompt ("query: " here): the same
    hits and the same scores as in-process retrieval of the same spec, batched or one request at a time. (It
    used to call the model's plain ``encode``: the prompt recorded under "Models as encoded" was not served.)"""
    from loadtests.service import create_app
    from loadtests.service_state import ServiceConfig, ServiceState
    from rag.models.registry import resolve

    spec = "minilm#query=query:%20"
    q = "memory safety without a garbage collector"
    expected = retriever.search(sample, resolve(spec), [q], 5)[0]
    plain = retriever.search(sample, resolve("minilm"), [q], 5)[0]
    assert [round(s, 4) for _d, s in expected] != [round(s, 4) for _d, s in plain]  # the prompt changes the vector
    for batching in (True, False):
        st = ServiceState(ServiceConfig(dataset="sample", models=[spec], batching=batching), log=lambda m: None)
        with TestClient(create_app(st)) as c:
            hits = c.post("/search", json={"model": spec, "query": q, "k": 5}).json()["hits"]
        assert [h["id"] for h in hits] == [d for d, _s in expected], batching
        assert [h["score"] for h in hits] == pytest.approx([s for _d, s in expected], abs=1e-5), batching
        st.store.client.close()
