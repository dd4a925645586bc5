"""Real Locust against the real service (subprocesses on 127.0.0.1): results, run records, faults, clean-up.

Runs are kept short (2 users, a few seconds); the point is that the whole path works and every
process it starts is gone afterwards, not the numbers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time

import psutil
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow


def _load_pids() -> set[int]:
    """Children of this test process that are a service or Locust (the Milvus server is the session's)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if p.status() != psutil.STATUS_ZOMBIE and ("locust" in cmd or "loadtests.service" in cmd):
            out.add(p.pid)
    return out


def _listening_hosts(pid: int) -> set[str]:
    conns = psutil.Process(pid).net_connections(kind="inet")
    return {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN}


@pytest.fixture(scope="module")
def service(milvus):
    from loadtests.procs import ServiceProcess

    svc = ServiceProcess("sample", ["minilm", "bm25"]).start()
    yield svc
    svc.stop()


@pytest.fixture()
def store(tmp_path):
    from rag.runs import RunStore

    return RunStore(tmp_path / "runs.sqlite")


def test_histogram_percentile_is_locusts():
    """Same answers as Locust's own function (asked in a subprocess: importing Locust patches gevent in)."""
    import subprocess
    import sys

    from loadtests.results import histogram_percentile

    cases = [({"10": 50, "20": 45, "300": 5}, q) for q in (0.5, 0.66, 0.95, 0.99)] + [({"7": 1}, 0.5),
                                                                                    ({"5": 3, "9": 1}, 0.75)]
    code = ("import json, sys; from locust.stats import calculate_response_time_percentile as f; "
            "print(json.dumps([f({int(k): v for k, v in h.items()}, sum(h.values()), q) "
            "for h, q in json.loads(sys.argv[1])]))")
    theirs = json.loads(subprocess.run([sys.executable, "-c", code, json.dumps(cases)], capture_output=True,
                                       text=True, check=True).stdout)
    assert [histogram_percentile(h, sum(h.values()), q) for h, q in cases] == theirs
    assert histogram_percentile({}, 0, 0.5) == 0


def test_service_binds_loopback_only(service):
    assert _listening_hosts(service.pid) == {"127.0.0.1"}
    assert service.url.startswith("http://127.0.0.1:")


def test_headless_run_per_model_parsed_and_recorded(service, store):
    from loadtests.config import LoadConfig
    from loadtests.runner import run_load_test

    rows = []
    cfg = LoadConfig(models=["minilm", "bm25"], users=2, spawn_rate=2, duration=4)
    report = run_load_test(cfg, progress=lambda ev: rows.append(ev), store=store, service=service)
    out = report.to_json()
    assert set(out) == {"run_id", "results"} and list(out["results"]) == ["minilm", "bm25"]
    for model, r in out["results"].items():
        assert set(r) == {"requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms"}
        assert r["requests"] > 0 and r["failures"] == 0 and r["rps"] > 0
        assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]
        res = report.results[model]
        assert res.history and res.history[-1]["requests"] > 0
        assert res.split["search_ms"] > 0 and "other_ms" in res.split
    assert report.results["minilm"].split["embed_ms"] > 0 and report.results["bm25"].split["embed_ms"] == 0
    assert any("row" in ev for ev in rows), "live progress rows while Locust runs"
    run = store.get(report.run_id)
    assert run.kind == "load" and run.status == "done" and run.dataset == "sample"
    assert run.summary["results"]["bm25"]["requests"] == out["results"]["bm25"]["requests"]
    assert {r["model"] for r in store.rows(run.id)} == {"minilm", "bm25"}
    assert _load_pids() == {service.pid}, "Locust processes left behind"


def test_cli_loadtest_with_slo(service, tmp_path, capsys):
    from cli import main

    out = tmp_path / "load.json"
    code = main(["loadtest", "--models", "bm25", "--users", "2", "--spawn-rate", "2", "--duration", "3",
                 "--host", service.url, "--slo-p95-ms", "60000", "--slo-max-users", "2", "--slo-step-seconds", "2",
                 "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["run_id"] and data["results"]["bm25"]["requests"] > 0 and data["results"]["bm25"]["failures"] == 0
    assert data["slo"] == {"bm25": {"max_users": 2, "rps": data["slo"]["bm25"]["rps"]}}
    assert data["slo"]["bm25"]["rps"] > 0
    from rag.runs import RunStore

    run = RunStore.default().get(data["run_id"])
    assert [s["users"] for s in run.summary["slo_steps"]["bm25"]] == [1, 2]


def test_slo_finder_stops_at_an_unreachable_target(service, tmp_path):
    from loadtests.phases import find_slo

    s = find_slo(service.url, "minilm", "search", 0.001, tmp_path, max_users=8, step_seconds=2)
    assert s.max_users == 0 and s.rps == 0 and len(s.steps) == 1 and "p95" in s.stopped_by


def test_direct_milvus_locustfile(service, store):
    from loadtests.config import LoadConfig
    from loadtests.runner import run_load_test

    report = run_load_test(LoadConfig(models=["minilm"], endpoint="milvus", users=2, spawn_rate=2, duration=3),
                           store=store, service=service)
    r = report.results["minilm"].stats
    assert r.name == "milvus[minilm]" and r.requests > 0 and r.failures == 0


def test_rag_endpoint_reports_generate_time(service, store):
    from loadtests.config import LoadConfig
    from loadtests.runner import run_load_test

    report = run_load_test(LoadConfig(models=["bm25"], endpoint="rag", users=2, spawn_rate=2, duration=3, k=3),
                           store=store, service=service)
    r = report.results["bm25"]
    assert r.stats.name == "rag[bm25]" and r.stats.requests > 0 and r.stats.failures == 0
    assert r.split["generate_ms"] > 0 and r.split["search_ms"] > 0


def test_web_ui_on_loopback_then_stopped(service):
    import urllib.request

    from loadtests.runner import start_web_ui

    ui = start_web_ui(service.url, ["minilm", "bm25"])
    try:
        assert ui.url.startswith("http://127.0.0.1:")
        html = urllib.request.urlopen(ui.url, timeout=10).read().decode()
        assert '"model"' in html and "minilm" in html and '"endpoint"' in html  # custom options in the form
        assert _listening_hosts(ui.pid) == {"127.0.0.1"}
    finally:
        ui.stop()
    assert not ui.alive()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", ui.port)) != 0


# ---------------------------------------------------------------- faults

def test_unknown_model_fails_the_run_with_the_reason(store):
    from loadtests.config import LoadConfig
    from loadtests.runner import run_load_test
    from rag.models.base import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="unknown model 'nope'"):
        run_load_test(LoadConfig(models=["nope"], duration=2), store=store)
    run = store.list(kind="load")[0]
    assert run.status == "failed" and "unknown model 'nope'" in run.error


def test_model_the_service_lacks(service, store):
    from loadtests.config import LoadConfig
    from loadtests.procs import LoadTestError
    from loadtests.runner import run_load_test

    with pytest.raises(LoadTestError, match="has no model hybrid; it has: minilm, bm25"):
        run_load_test(LoadConfig(models=["hybrid"], duration=2), store=store, service=service)
    assert store.list(kind="load")[0].status == "failed"


def test_bounds_are_checked_before_anything_starts():
    from loadtests.config import LoadConfig

    for bad in ({"users": 0}, {"users": 10_000}, {"duration": 0}, {"duration": 10_000}, {"endpoint": "x"},
                {"spawn_rate": 0}):
        with pytest.raises(ValueError):
            LoadConfig(models=["bm25"], **bad).validate()


def test_port_in_use_is_refused():
    from loadtests.procs import LoadTestError, ServiceProcess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(LoadTestError, match="is in use"):
            ServiceProcess("sample", ["bm25"], port=s.getsockname()[1]).start()


def test_milvus_down_fails_the_start_with_its_reason(milvus):
    from loadtests.procs import LoadTestError, ServiceProcess

    before = _load_pids()
    with pytest.raises(LoadTestError, match="did not start: error: Cannot connect to Milvus"):
        ServiceProcess("sample", ["bm25"], milvus_uri=f"http://127.0.0.1:{free_port()}").start()
    assert _load_pids() <= before


def test_service_dying_mid_test_fails_the_run_and_leaves_nothing(milvus, store):
    from loadtests.config import LoadConfig
    from loadtests.procs import LoadTestError, ServiceProcess
    from loadtests.runner import run_load_test

    before = _load_pids()
    svc = ServiceProcess("sample", ["bm25"]).start()
    killer = threading.Timer(3.0, lambda: os.killpg(svc.pid, signal.SIGKILL))
    killer.start()
    t = time.monotonic()
    try:
        with pytest.raises(LoadTestError, match="service exited"):
            run_load_test(LoadConfig(models=["bm25"], users=2, spawn_rate=2, duration=30), store=store, service=svc)
    finally:
        killer.cancel()
        svc.stop()
    assert time.monotonic() - t < 25, "the run noticed the dead service instead of running out its time"
    run = store.list(kind="load")[0]
    assert run.status == "failed" and "service exited" in run.error
    assert _load_pids() <= before


def test_milvus_dying_mid_test_fails_the_run_promptly(milvus, store, tmp_path):
    """A Milvus of its own (the session's must live on), killed 3 s into a 30 s run."""
    import subprocess
    import sys

    from loadtests.config import LoadConfig
    from loadtests.procs import LoadTestError, ServiceProcess
    from loadtests.runner import run_load_test
    from rag.processes import port_in_use

    port = free_port()
    db = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "m"),
                           "--host", "127.0.0.1", "--port", str(port)], start_new_session=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    svc = None
    try:
        deadline = time.monotonic() + 60
        while not port_in_use(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        svc = ServiceProcess("sample", ["bm25"], milvus_uri=f"http://127.0.0.1:{port}").start()
        killer = threading.Timer(3.0, lambda: os.killpg(db.pid, signal.SIGKILL))
        killer.start()
        t = time.monotonic()
        with pytest.raises(LoadTestError, match="answered 503: Milvus at http://127.0.0.1:"):
            run_load_test(LoadConfig(models=["bm25"], users=2, spawn_rate=2, duration=30), store=store, service=svc)
        assert time.monotonic() - t < 20
        run = store.list(kind="load")[0]
        assert run.status == "failed" and "Milvus at" in run.error
    finally:
        if svc is not None:
            svc.stop()
        if db.poll() is None:
            os.killpg(db.pid, signal.SIGKILL)
        db.wait(10)


def test_stop_marks_the_run_stopped(service, store, monkeypatch):
    from loadtests.config import LoadConfig
    from loadtests.runner import LoadTestJob
    from rag.runs import RunStore

    monkeypatch.setattr(RunStore, "default", classmethod(lambda cls: store))
    job = LoadTestJob(LoadConfig(models=["bm25"], users=2, spawn_rate=2, duration=60, host=service.url))
    job.start()
    deadline = time.monotonic() + 30
    while not job.rows.get("bm25") and time.monotonic() < deadline:
        time.sleep(0.2)
    job.stop()
    job.join(30)
    assert not job.is_alive() and job.phase == "stopped" and "stopped by the user" in job.error
    assert store.get(job.run_id).status == "stopped"
    assert _load_pids() == {service.pid}
