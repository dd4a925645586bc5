"""Locust across processes: ``--processes 2`` (forked) and a master + 2 ``--worker`` processes, on 127.0.0.1.

Short bounded runs (4 users, 3 s) through the CLI against one real service. Each must give the same
results JSON and run record as one process, from the master's CSV stats with both workers
connected (measured before the fix: the forked workers retried ``127.0.0.1:5557`` until the limit).
Children get only the variables they need: no OpenAI key in Locust's or the service's environment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow
SECRET = "sk-parent-only-4d1c9e"


@pytest.fixture(scope="module")
def service(milvus):
    from loadtests.procs import ServiceProcess

    svc = ServiceProcess("sample", ["bm25"]).start()
    yield svc
    svc.stop()


def _cli(args, tmp_path, capsys) -> dict:
    from cli import main

    out = tmp_path / "load.json"
    code = main(["loadtest", "--models", "bm25", "--users", "4", "--spawn-rate", "4", "--duration", "3",
                 "--output", str(out), *args])
    assert code == 0, capsys.readouterr().err
    return json.loads(out.read_text())


def _log_dir(run_id: str) -> Path:
    from rag.settings import get_settings

    return get_settings().data_dir / "loadtests" / run_id


def _master_log(run_id: str) -> str:
    return (_log_dir(run_id) / "bm25.log").read_text()


@pytest.mark.parametrize("how", [["--processes", "2"], ["--workers", "2"]], ids=["processes", "workers"])
def test_two_generators_give_one_process_results(how, service, tmp_path, capsys):
    from rag.runs import RunStore

    one = _cli(["--host", service.url], tmp_path, capsys)
    two = _cli(["--host", service.url, *how], tmp_path, capsys)
    for data in (one, two):
        assert set(data) == {"run_id", "results"} and list(data["results"]) == ["bm25"]
        r = data["results"]["bm25"]
        assert set(r) == {"requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms"}
        assert r["requests"] > 0 and r["failures"] == 0 and 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]
    log = _master_log(two["run_id"])
    assert "2 workers connected" in log and "Failed to connect to master" not in log
    assert re.search(r"to 2 ready workers", log)
    store = RunStore.default()
    r1, r2 = store.get(one["run_id"]), store.get(two["run_id"])
    assert r1.status == r2.status == "done" and r1.kind == r2.kind == "load"
    assert set(r1.summary) == set(r2.summary)
    assert r2.summary["results"]["bm25"]["requests"] == two["results"]["bm25"]["requests"]
    flag = how[0].lstrip("-")
    assert r2.config[flag] == 2 and r1.config.get("workers", 0) == 0 and r1.config["processes"] == 1
    if flag == "workers":  # the separately started workers ran and quit with their master
        for i in (0, 1):
            wlog = (_log_dir(two["run_id"]) / f"bm25.worker{i}.log").read_text()
            assert "Starting Locust" in wlog and "Got quit message from master" in wlog
    assert running_locusts() == [], "Locust processes left behind"


def running_locusts() -> list[int]:
    """Pids of this process's live descendants running Locust. A zombie (a child that exited and another
    test's code has not reaped yet) runs nothing and has no command line to read: it is not left running."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "locust" in " ".join(p.cmdline()):
                out.append(p.pid)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return out


def _environ(pid: int) -> dict:
    """The child's environment as the OS holds it, once exec has set it: ``Popen`` returns when the
    close-on-exec fds close, a moment before the kernel points the new image at its environment (an
    empty read then made the absence checks pass trivially and the presence check fail under load)."""
    import time

    deadline = time.monotonic() + 10
    while not (env := psutil.Process(pid).environ()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "PATH" in env, env
    return env


def test_children_get_only_the_variables_they_need(service, monkeypatch, tmp_path):
    from loadtests.phases import HERE
    from loadtests.procs import LocustProcess, ServiceProcess
    from rag.processes import child_env

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("MILVUS_TOKEN", "root:Milvus-secret")
    monkeypatch.setenv("WORKBENCH_ENDPOINT_KEYS", json.dumps({"http://h:1/v1": "ep-secret"}))
    from rag.settings import reset_settings

    reset_settings()
    try:
        env = child_env()
        assert not {"OPENAI_API_KEY", "MILVUS_TOKEN", "WORKBENCH_ENDPOINT_KEYS"} & set(env)
        assert env["PYTHONPATH"] and env["WORKBENCH_PARENT_PID"] and "PATH" in env
        assert child_env(secrets=("MILVUS_TOKEN",))["MILVUS_TOKEN"] == "root:Milvus-secret"
        # a real worker process: its environment as the OS holds it
        w = LocustProcess.worker(HERE / "locustfile.py", 9, tmp_path / "w.log")
        try:
            seen = _environ(w.pid)
        finally:
            w.stop(2.0)
        assert "OPENAI_API_KEY" not in seen and "MILVUS_TOKEN" not in seen and SECRET not in json.dumps(seen)
        m = LocustProcess.worker(HERE / "locustfile_milvus.py", 9, tmp_path / "m.log")
        try:
            seen = _environ(m.pid)
        finally:
            m.stop(2.0)
        assert seen["MILVUS_TOKEN"] == "root:Milvus-secret" and "OPENAI_API_KEY" not in seen
        # the service gets the LLM keys only when it answers /rag with an LLM generator
        plain, llm = ServiceProcess("sample"), ServiceProcess("sample", generator="openai:gpt-4o-mini")
        assert plain.secrets == ("MILVUS_TOKEN",)
        assert child_env(secrets=llm.secrets)["OPENAI_API_KEY"] == SECRET
    finally:
        monkeypatch.delenv("OPENAI_API_KEY")
        monkeypatch.delenv("MILVUS_TOKEN")
        monkeypatch.delenv("WORKBENCH_ENDPOINT_KEYS")
        reset_settings()
