"""rag.processes: real child processes started, stopped, watching their parent, and stopped at exit.

Registry-wide checks (``stop_all``, ``atexit``) run in a subprocess: in this test process the
registry holds the session's Milvus Lite server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

from rag import processes
from rag.processes import Child, child_env
from tests.conftest import ROOT

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _python(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=os.environ.copy(),
                          capture_output=True, text=True, timeout=timeout)


def test_a_child_is_registered_until_stopped_and_its_whole_group_goes(tmp_path):
    code = ("import subprocess, sys, time; g = subprocess.Popen([sys.executable, '-c', 'import time; "
            "time.sleep(60)']); print(g.pid, flush=True); time.sleep(60)")
    c = Child([sys.executable, "-c", code], tmp_path / "c.log")
    deadline = time.monotonic() + 20
    while not c.log_tail().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    grandchild = int(c.log_tail())
    assert c.alive() and c in processes.children() and psutil.Process(grandchild).is_running()
    assert os.getpgid(c.pid) == c.pid != os.getpgid(0)  # its own process group
    c.stop()
    assert not c.alive() and c.returncode == -signal.SIGTERM and c not in processes.children()
    assert _gone(c.pid) and _gone(grandchild)
    c.stop()  # idempotent


def test_reason_is_the_last_error_line(tmp_path):
    c = Child([sys.executable, "-c", "print('starting'); print('error: port 9 is in use'); print('bye')"],
              tmp_path / "r.log")
    assert c.wait(20) == 0
    assert c.reason() == "error: port 9 is in use"
    c.stop()
    assert c not in processes.children()


def test_a_child_exits_after_its_parent_is_killed_with_sigkill(tmp_path):
    log = tmp_path / "watch.log"
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from rag.processes import Child
        code = "import time; from rag.processes import exit_with_parent; " \\
               "print(exit_with_parent(interval=0.2), flush=True); time.sleep(60)"
        c = Child([sys.executable, "-c", code], {str(log)!r})
        print(c.pid, flush=True)
        time.sleep(60)
    """)], cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + 30
        while "True" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert log.read_text() == "True\n"  # it watches (WORKBENCH_PARENT_PID was set for it)
        assert psutil.Process(child).environ()["WORKBENCH_PARENT_PID"] == str(parent.pid)
        time.sleep(1.0)
        assert not _gone(child, 0.1), "the child must live while its parent does"
        parent.kill()
        parent.wait(10)
        t = time.monotonic()
        assert _gone(child, 5.0), "the child outlived its killed parent"
        assert time.monotonic() - t < 5.0
    finally:
        parent.kill()
        parent.wait(10)
        if not _gone(child, 0.1):
            os.kill(child, signal.SIGKILL)


def test_without_a_parent_pid_nothing_is_watched(monkeypatch):
    from rag.settings import reset_settings

    monkeypatch.delenv("WORKBENCH_PARENT_PID", raising=False)
    reset_settings()
    try:
        assert processes.exit_with_parent() is False
    finally:
        reset_settings()


def test_stop_all_runs_the_hooks_then_stops_every_child_newest_first():
    r = _python("""
        import json, sys
        from rag import processes
        from rag.processes import Child
        order = []
        class Logged(Child):
            def stop_at_exit(self):
                order.append(self.cmd[-1])
                super().stop_at_exit()
        kids = [Logged([sys.executable, "-c", "import time; time.sleep(60)", n], f"/tmp/wb-stopall-{n}.log")
                for n in ("a", "b", "c")]
        processes.on_exit(lambda: order.append("hook1:" + str(sum(k.alive() for k in kids))))
        processes.on_exit(lambda: order.append("hook2"))
        processes.stop_all()
        print(json.dumps({"order": order, "alive": [k.alive() for k in kids], "left": len(processes.children()),
                          "codes": [k.returncode for k in kids]}))
    """)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"order": ["hook2", "hook1:3", "c", "b", "a"], "alive": [False] * 3, "left": 0,
                                    "codes": [-signal.SIGTERM] * 3}


def test_atexit_is_registered_once_and_stops_what_the_process_started():
    r = _python("""
        import atexit, json, sys
        seen, real = [], atexit.register
        def counting(fn, *a, **kw):
            seen.append(f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}")
            return real(fn, *a, **kw)
        atexit.register = counting
        import rag.milvus.server, rag.processes, loadtests.procs, loadtests.runner, loadtests.service
        import loadtests.phases, loadtests.service_state
        ours = [s for s in seen if s.startswith(("rag.", "loadtests."))]
        c = rag.processes.Child([sys.executable, "-c", "import time; time.sleep(60)"], "/tmp/wb-atexit.log")
        print(json.dumps({"registered": ours, "pid": c.pid}), flush=True)
    """)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["registered"] == ["rag.processes.stop_all"]
    assert _gone(out["pid"], 5.0), "the child outlived the process that started it (atexit)"


def test_child_env_passes_only_named_secrets(monkeypatch):
    from rag.settings import reset_settings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-only-71ab")
    monkeypatch.setenv("MILVUS_TOKEN", "root:Milvus-71ab")
    monkeypatch.setenv("MILVUS_LITE_WAL_SIZE_LIMIT_BYTES", "1048576")
    monkeypatch.setenv("WORKBENCH_PARENT_PID", "1")  # inherited from our own parent: never passed on as is
    reset_settings()
    try:
        plain, milvus = child_env(), child_env(secrets=("MILVUS_TOKEN",), watch_parent=False)
        assert "OPENAI_API_KEY" not in plain and "MILVUS_TOKEN" not in plain
        assert plain["WORKBENCH_PARENT_PID"] == str(os.getpid()) and "WORKBENCH_PARENT_PID" not in milvus
        assert milvus["MILVUS_TOKEN"] == "root:Milvus-71ab" and "OPENAI_API_KEY" not in milvus
        assert plain["MILVUS_LITE_WAL_SIZE_LIMIT_BYTES"] == "1048576" and plain["PYTHONPATH"].startswith(str(ROOT))
        assert child_env({"X_EXTRA": "1"})["X_EXTRA"] == "1"
    finally:
        monkeypatch.undo()
        reset_settings()


def test_free_port_is_free():
    p = processes.free_port()
    assert 0 < p < 65536 and not processes.port_in_use(p)
