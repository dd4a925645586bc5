"""Micro-batching in the load-test service, against real MiniLM and the real Milvus Lite server.

Concurrency is real: the requests go to the service's ASGI app on one event loop at once
(``asyncio.gather`` over ``httpx.ASGITransport``), so the batcher sees them queued together, exactly as
uvicorn hands them over. What is checked is behaviour (same hits as one at a time, batch sizes, errors
kept to their own request, the setting recorded), not speed.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def states(milvus):
    from loadtests.service_state import ServiceConfig, ServiceState

    on = ServiceState(ServiceConfig(models=["minilm", "bm25"]), log=lambda m: None)
    off = ServiceState(ServiceConfig(models=["minilm", "bm25"], batching=False), log=lambda m: None)
    yield on, off
    for st in (on, off):
        for lm in st.models.values():
            if lm.batcher is not None:
                lm.batcher.close()


def _post_all(state, path: str, bodies: list) -> list[httpx.Response]:
    """Every body POSTed at once to the service's app (a str body is sent as raw JSON text)."""
    from loadtests.service import create_app

    app = create_app(state)

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
            return await asyncio.gather(*(
                c.post(path, content=b, headers={"content-type": "application/json"}) if isinstance(b, str)
                else c.post(path, json=b) for b in bodies))
    return asyncio.run(go())


def _hits(r: httpx.Response) -> list[tuple[str, float]]:
    assert r.status_code == 200, r.text
    return [(h["id"], h["score"]) for h in r.json()["hits"]]


def _same_hits(got, want) -> None:
    assert [d for d, _ in got] == [d for d, _ in want]
    assert all(abs(a - b) < 1e-5 for (_, a), (_, b) in zip(got, want)), (got, want)


def test_concurrent_searches_are_batched_and_get_their_own_hits(states, sample):
    on, off = states
    qs = [q.text for q in sample.queries]
    alone = [_hits(_post_all(off, "/search", [{"model": "minilm", "query": q, "k": 5}])[0]) for q in qs]
    rs = _post_all(on, "/search", [{"model": "minilm", "query": q, "k": 5} for q in qs])
    for r, want in zip(rs, alone):
        _same_hits(_hits(r), want)
    sizes = [r.json()["timings"]["batch_size"] for r in rs]
    assert max(sizes) > 1 and all(1 <= s <= 32 for s in sizes)
    t = rs[0].json()["timings"]
    assert set(t) == {"wait_ms", "batch_size", "embed_ms", "search_ms", "server_ms"} and t["embed_ms"] > 0


def test_different_k_in_one_batch_each_get_their_k(states, sample):
    on, off = states
    q = sample.queries[0].text
    rs = _post_all(on, "/search", [{"model": "minilm", "query": q, "k": k} for k in (1, 3, 3, 7)])
    assert [len(r.json()["hits"]) for r in rs] == [1, 3, 3, 7]
    full = _hits(_post_all(off, "/search", [{"model": "minilm", "query": q, "k": 7}])[0])
    for r in rs:
        _same_hits(_hits(r), full[:len(r.json()["hits"])])
    assert max(r.json()["timings"]["batch_size"] for r in rs) > 1


def test_no_batching_serves_one_at_a_time(states, sample):
    _, off = states
    rs = _post_all(off, "/search", [{"model": "minilm", "query": q.text, "k": 3} for q in sample.queries[:8]])
    assert [r.json()["timings"]["batch_size"] for r in rs] == [1] * 8
    assert off.models["minilm"].batcher is None


def test_lone_request_does_not_wait_for_the_window(states, sample):
    on, _ = states
    _post_all(on, "/search", [{"model": "minilm", "query": q.text, "k": 3} for q in sample.queries])  # a burst
    time.sleep(0.3)
    for _ in range(3):
        t = _post_all(on, "/search", [{"model": "minilm", "query": sample.queries[1].text, "k": 3}])[0].json()
        assert t["timings"]["batch_size"] == 1
        assert t["timings"]["wait_ms"] < on.cfg.batch_window_ms, t["timings"]


def test_bm25_is_searched_per_request(states, sample):
    on, off = states
    qs = [q.text for q in sample.queries[:6]]
    alone = [_hits(_post_all(off, "/search", [{"model": "bm25", "query": q, "k": 4}])[0]) for q in qs]
    rs = _post_all(on, "/search", [{"model": "bm25", "query": q, "k": 4} for q in qs])
    for r, want in zip(rs, alone):
        _same_hits(_hits(r), want)
    assert [r.json()["timings"]["batch_size"] for r in rs] == [1] * 6 and on.models["bm25"].batcher is None


def test_rag_is_batched_and_answers_each_question(states, sample):
    on, off = states
    qs = [q.text for q in sample.queries[:6]]
    rs = _post_all(on, "/rag", [{"model": "minilm", "question": q, "k": 3} for q in qs])
    for q, r in zip(qs, rs):
        assert r.status_code == 200, r.text
        want = _hits(_post_all(off, "/search", [{"model": "minilm", "query": q, "k": 3}])[0])
        body = r.json()
        _same_hits([(c["id"], c["score"]) for c in body["contexts"]], want)
        assert body["answer"] and body["timings"]["generate_ms"] > 0
    assert max(r.json()["timings"]["batch_size"] for r in rs) > 1


def test_a_query_the_model_rejects_fails_alone(milvus, judge_server, sample):  # noqa: F811
    """A remote embedding API rejects a whole batch for one bad input: that request fails, its batch
    mates are embedded again without it and answered."""
    from loadtests.service_state import ServiceConfig, ServiceState

    spec = f"oai:test-embed@{judge_server.base_url}"
    on = ServiceState(ServiceConfig(models=[spec]), log=lambda m: None)
    off = ServiceState(ServiceConfig(models=[spec], batching=False), log=lambda m: None)
    judge_server.set_faults([{"kind": "http400", "match": "zzrejectzz", "times": None}])
    try:
        qs = [q.text for q in sample.queries[:5]]
        bodies = [{"model": spec, "query": q, "k": 3} for q in qs]
        rs = _post_all(on, "/search", bodies[:2] + [{"model": spec, "query": "zzrejectzz memory", "k": 3}] + bodies[2:])
        bad = rs.pop(2)
        assert bad.status_code == 502
        assert bad.json()["detail"].startswith(f"model {spec} could not embed the query: BadRequestError: ")
        assert "injected: input rejected" in bad.json()["detail"]
        for b, r in zip(bodies, rs):
            _same_hits(_hits(r), _hits(_post_all(off, "/search", [b])[0]))
        assert max(r.json()["timings"]["batch_size"] for r in rs) == 6  # the bad one was in their batch
    finally:
        judge_server.set_faults([])
        on.models[spec].batcher.close()


def test_models_reports_the_setting(states):
    from fastapi.testclient import TestClient

    from loadtests.service import create_app

    on, off = states
    with TestClient(create_app(on)) as c:
        m = c.get("/models").json()
    assert (m["batching"], m["batch_window_ms"], m["max_batch"]) == (True, 5.0, 32)
    with TestClient(create_app(off)) as c:
        assert c.get("/models").json()["batching"] is False


def test_service_flags_and_labels():
    from loadtests.procs import batching_flags
    from rag.runs.models import batching_label

    assert batching_flags({"batching": False}) == ["--no-batching"]
    assert batching_flags({"batching": True, "batch_window_ms": 2, "max_batch": 8}) == \
        ["--batch-window-ms", "2", "--max-batch", "8"]
    assert batching_label({"batching": True, "batch_window_ms": 5.0, "max_batch": 32}) == \
        "micro-batching on (window 5 ms, max batch 32)"
    assert batching_label({"batching": True}, {"service": {"batching": False}}) == \
        "micro-batching off (one request at a time)"
    assert batching_label({}) == "micro-batching off (one request at a time; recorded before the setting existed)"


@pytest.mark.slow
def test_load_runs_record_the_setting(milvus, tmp_path, capsys):
    """A real service started with --no-batching --max-batch 8, loaded by Locust via the runner and the CLI."""
    from cli import main
    from loadtests import procs
    from loadtests.config import LoadConfig
    from loadtests.procs import ServiceProcess
    from loadtests.runner import run_load_test
    from rag.runs import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    with ServiceProcess("sample", ["minilm"], batching={"batching": False, "max_batch": 8}).start() as svc:
        cfg = LoadConfig(models=["minilm"], users=4, spawn_rate=4, duration=3, batching=False, max_batch=8)
        report = run_load_test(cfg, store=store, service=svc)
        assert procs.get_json(svc.url, "/stats/timings")["search"]["minilm"]["batch_size"]["p95"] == 1
        run = store.get(report.run_id)
        assert (run.config["batching"], run.config["batch_window_ms"], run.config["max_batch"]) == (False, 5.0, 8)
        served = run.summary["service"]  # also what each model was encoded with (issue 24: models_info)
        assert {k: served[k] for k in ("batching", "batch_window_ms", "max_batch")} == \
            {"batching": False, "batch_window_ms": 5.0, "max_batch": 8}
        assert served["models_info"]["minilm"]["dim"] == 384
        code = main(["loadtest", "--models", "minilm", "--users", "2", "--spawn-rate", "2", "--duration", "2",
                     "--host", svc.url, "--batch-window-ms", "2", "--max-batch", "16"])
        out = capsys.readouterr().out
        assert code == 0 and "served with micro-batching off (one request at a time)" in out
        run = RunStore.default().get(out.split("run_id ")[1].split()[0])
        # asked for batching, but the running service said it serves one at a time: both are kept
        assert (run.config["batching"], run.config["batch_window_ms"], run.config["max_batch"]) == (True, 2.0, 16)
        assert run.summary["service"]["batching"] is False


def test_bad_batch_settings_are_one_clear_error(capsys):
    from cli import main

    assert main(["loadtest", "--models", "minilm", "--max-batch", "0"]) == 2
    assert capsys.readouterr().err.strip().endswith("max batch must be 1-1024")


def test_every_encode_of_a_model_runs_on_its_one_thread(states):
    """Warm-up, batches and --no-batching requests all encode on the model's own thread (one OpenMP team
    per model, as in a plain process), never on the event loop or a shared pool thread."""
    import threading

    from loadtests.batcher import model_thread

    on, off = states
    lm_on, lm_off = on.models["minilm"], off.models["minilm"]
    assert lm_on.executor is lm_off.executor is model_thread(lm_on.spec.model_id)
    assert on.models["bm25"].executor is None  # nothing to encode
    raw = lm_on.encoder.raw
    seen: list[str] = []
    real = raw.encode

    def recording(texts, *a, **kw):  # the real encoder, recording which thread called it
        seen.append(threading.current_thread().name)
        return real(texts, *a, **kw)

    raw.encode = recording
    try:
        for st in (on, off):
            got = _post_all(st, "/search", [{"model": "minilm", "query": q, "k": 3} for q in ("rust", "java", "go")])
            assert [r.status_code for r in got] == [200] * 3
            assert all(r.headers["content-type"] == "application/json" and r.json()["hits"] for r in got)
    finally:
        del raw.encode
    [name] = set(seen)
    assert name.startswith("model-") and len(seen) >= 2  # batched (on) and one by one (off)
