"""Child processes: started with only the environment they need, watched, and stopped, none left behind.

The workbench starts other processes: the embedded Milvus Lite server (``rag.milvus.server``), the
load-test service and Locust (``loadtests.procs``). They all go through here, so the rules live in
one place:

- **Environment**: a child gets plain variables, this process' data folder and Milvus, and only the
  secrets it is named (``child_env``): Locust has no use for the OpenAI key.
- **Process group**: every child runs in its own session, so stopping it also stops what it forked
  (Locust's ``--processes`` workers); ``stop_process`` sends SIGTERM to the group, then SIGKILL.
- **Registry**: every started child is registered until it is stopped; ``stop_all`` (the one
  ``atexit`` handler of the process) runs the exit hooks (``on_exit``: an owner that stops its job
  cleanly) and then stops every child still registered, the newest first, so the service stops
  before the Milvus server it uses.
- **Parent watch**: a child started with ``watch_parent`` gets ``WORKBENCH_PARENT_PID``; it calls
  ``exit_with_parent()`` and exits once that process is gone, even after its ``kill -9`` (no exit
  handler runs then).

Usage:
    child = Child([sys.executable, "-c", "import time; time.sleep(60)"], log_path)
    child.alive(), child.reason()        # True, the log line that says why it failed
    child.stop()                         # graceful, then kill; idempotent
    on_exit(job.stop)                    # run before the children are stopped at exit
    exit_with_parent()                   # in a child: quit when the process that started it dies
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rag.i18n import _
from rag.settings import PROJECT_ROOT, get_settings

# What any child may inherit: no secrets. A child that needs a key gets it by name (``secrets``).
PLAIN_VARS = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "VIRTUAL_ENV", "SYSTEMROOT",
              "HF_HOME", "XDG_CACHE_HOME", "SENTENCE_TRANSFORMERS_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
              "RAGAS_DO_NOT_TRACK", "TOKENIZERS_PARALLELISM", "ANONYMIZED_TELEMETRY", "HF_HUB_DISABLE_PROGRESS_BARS",
              "TRANSFORMERS_VERBOSITY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# OpenBLAS is told the CPU type on some machines (older builds crash or compute wrong without it); gRPC's
# CA roots and proxies, the CA bundles, Milvus Lite's memtable/WAL budgets: children must see the same
# machine as their parent.
PLAIN_PREFIXES = ("OPENBLAS_", "GRPC_", "SSL_CERT_", "REQUESTS_CA_BUNDLE", "LD_LIBRARY_PATH", "PYTHONDONTWRITEBYTECODE",
                  "MILVUS_LITE_")
SECRET_VARS = ("OPENAI_API_KEY", "MILVUS_TOKEN", "WORKBENCH_ENDPOINT_KEYS")
PARENT_PID_VAR = "WORKBENCH_PARENT_PID"

_children: list[Child] = []
_hooks: list[Callable[[], None]] = []
_lock = threading.RLock()


def event_loop_choice(variable: str) -> str:
    """``uvloop`` (pinned; libuv's loop, in C) unless the environment ``variable`` says ``asyncio`` or uvloop is not
    installed; then ``asyncio``. Used by the load-test service (``WORKBENCH_SERVICE_LOOP``) and a RAG run's LLM calls
    (``WORKBENCH_RAG_LOOP``). Its speed-up is not shown on this machine (benchmarks/README.md, issue 27, third round:
    the overhead benchmark times both loops side by side)."""
    import importlib.util

    wanted = os.environ.get(variable, "uvloop").strip().lower()
    return "uvloop" if wanted == "uvloop" and importlib.util.find_spec("uvloop") else "asyncio"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def child_env(extra: dict | None = None, secrets: tuple[str, ...] = (), watch_parent: bool = True) -> dict:
    """Only what a child needs: plain variables, the same data folder and Milvus, and the named
    ``secrets`` (e.g. ``MILVUS_TOKEN``), never the whole environment. Secrets set only in ``.env``
    the child reads from there itself (same folder). This is the one reader of ``os.environ`` as a
    whole: it decides what crosses into another process."""
    s = get_settings()
    env = {k: v for k, v in os.environ.items()
           if k in PLAIN_VARS or k in secrets or k.startswith(PLAIN_PREFIXES)
           or (k.startswith("WORKBENCH_") and k not in SECRET_VARS and k != PARENT_PID_VAR)}
    env.update({"WORKBENCH_DATA_DIR": str(s.data_dir), "WORKBENCH_MILVUS_PORT": str(s.milvus_lite_port),
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)})
    if watch_parent:
        env[PARENT_PID_VAR] = str(os.getpid())
    if s.milvus_uri:
        env["MILVUS_URI"] = s.milvus_uri
    if "MILVUS_TOKEN" in secrets and s.milvus_key:
        env["MILVUS_TOKEN"] = s.milvus_key
    return {**env, **(extra or {})}


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


class Child:
    """A started child process with its log file, registered until ``stop()`` (idempotent).

    ``secrets``: the secret variables this child may see; ``watch_parent``: it is told this
    process' pid to exit with it; ``append``: add to the log instead of starting it afresh.

    Usage:
        c = Child([sys.executable, "-m", "locust", ...], logs / "locust.log", secrets=("MILVUS_TOKEN",))
        c.wait(60); c.reason()
    """

    def __init__(self, cmd: list[str], log_path: Path, env: dict | None = None, secrets: tuple[str, ...] = (),
                 watch_parent: bool = True, append: bool = False):
        self.cmd, self.log_path = cmd, Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab" if append else "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=PROJECT_ROOT, env=child_env(env, secrets, watch_parent),
                                         start_new_session=True)
        with _lock:
            _children.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def poll(self) -> int | None:
        return self.proc.poll()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def stop(self, grace: float = 10.0) -> None:
        stop_process(self.proc, grace)
        forget(self)

    def stop_at_exit(self) -> None:
        """What ``stop_all`` does with this child (a shared server may decide to keep running)."""
        self.stop(5.0)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def reason(self) -> str:
        """The log line that explains a failure: the last 'error' line, else the last line."""
        lines = [ln.strip() for ln in self.log_tail().splitlines() if ln.strip()]
        for ln in reversed(lines):
            low = ln.lower()
            if "/error/" in low or "error:" in low or "错误：" in ln:  # a child speaking Chinese (WORKBENCH_LANG=zh)
                return ln[-500:]
        return (lines[-1][-500:] if lines else _("no output; see {log}").format(log=self.log_path))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def forget(child: Child) -> None:
    """Take a child out of the registry (it was stopped, or someone else now owns it)."""
    with _lock:
        if child in _children:
            _children.remove(child)


def children() -> list[Child]:
    """The children this process started and has not stopped yet, oldest first."""
    with _lock:
        return list(_children)


def on_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` at exit before the children are stopped (e.g. stop a job so its run is recorded
    as stopped); the newest hook runs first."""
    with _lock:
        _hooks.append(hook)


def stop_all() -> None:
    """The exit hooks (newest first), then every registered child (newest first). Registered once
    with ``atexit`` for the whole process; tests and long-lived owners may call it too."""
    with _lock:
        hooks = list(reversed(_hooks))
    for step in [*hooks, *(c.stop_at_exit for c in reversed(children()))]:
        try:
            step()
        except Exception as e:  # one failing step must not leave the other children running
            print(_("warning: stopping {step} failed: {why}").format(step=getattr(step, "__qualname__", step), why=e),
                  file=sys.stderr)
    with _lock:
        _children.clear()


atexit.register(stop_all)


def exit_with_parent(before_exit: Callable[[], None] | None = None, code: int = 0, grace: float = 3.0,
                     interval: float = 1.0) -> bool:
    """In a child: exit once the process named by ``WORKBENCH_PARENT_PID`` is gone, so a killed app
    leaves no service or Locust loading the machine. ``before_exit`` (e.g. Locust's ``runner.quit``)
    gets ``grace`` seconds before ``os._exit(code)``. Works under gevent too (Locust monkey-patches
    ``threading`` and ``time.sleep`` into greenlets). False when no parent pid is set."""
    pid = get_settings().parent_pid
    if pid is None:
        return False

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):  # gone, or its pid reused by another user
                break
        if before_exit is not None:
            before_exit()
            time.sleep(grace)
        os._exit(code)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    return True
