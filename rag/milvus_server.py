"""Which Milvus to talk to, and the embedded Milvus Lite server when none is configured.

Milvus Lite lets only one process open a data directory, and the app, the load-test service and
Locust are separate processes. So with no ``MILVUS_URI`` we run Milvus Lite as a local server bound
to 127.0.0.1 (data under ``<data_dir>/milvus``) and every process connects over HTTP; the same code
then serves a Milvus standalone/cluster or Zilliz Cloud when ``MILVUS_URI`` (+ ``MILVUS_TOKEN``) is set.

A running server is described by ``<data_dir>/milvus/server.json`` (pid, port) so that later
processes reuse it instead of fighting over the lock.

Usage:
    info = ensure_milvus()            # starts or reuses the embedded server
    client = info.client()            # pymilvus.MilvusClient
    info.describe()                   # "Milvus Lite (embedded) at http://127.0.0.1:19531"
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rag.settings import Settings, get_settings

# pymilvus pings every 10 s by default; Milvus Lite's gRPC server answers "too_many_pings" and the
# reconnect can then fail with UNAVAILABLE. Idle pings are not needed on loopback or by a managed Milvus.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 600_000, "grpc.keepalive_permit_without_calls": False}


class MilvusUnavailable(RuntimeError):
    """Milvus cannot be reached or started; the message says what to do."""


@dataclass(frozen=True)
class MilvusInfo:
    uri: str
    token: str | None
    embedded: bool
    pid: int | None = None

    def client(self, timeout: float = 10.0):
        from pymilvus import MilvusClient

        kwargs = {"uri": self.uri, "timeout": timeout, "grpc_options": GRPC_OPTIONS}
        if self.token:
            kwargs["token"] = self.token
        try:
            return MilvusClient(**kwargs)
        except Exception as e:  # pymilvus raises MilvusException on connect failures
            raise MilvusUnavailable(f"Cannot connect to Milvus at {self.uri}: {e}. {self.fix_hint()}") from e

    def describe(self) -> str:
        kind = "Milvus Lite (embedded)" if self.embedded else "Milvus"
        return f"{kind} at {self.uri}"

    def fix_hint(self) -> str:
        if self.embedded:
            return ("Restart the app, or stop whatever holds the port and remove "
                    "<data>/milvus/server.json; set WORKBENCH_MILVUS_PORT to use another port.")
        return "Check MILVUS_URI / MILVUS_TOKEN and that the server is running."


_started: list[subprocess.Popen] = []


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie child of ours counts as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def _answers(uri: str, token: str | None = None, timeout: float = 5.0) -> bool:
    try:
        from pymilvus import MilvusClient

        c = MilvusClient(uri=uri, token=token or "", timeout=timeout, grpc_options=GRPC_OPTIONS)
        c.list_collections(timeout=timeout)
        c.close()
        return True
    except Exception:
        return False


def server_state_file(settings: Settings) -> Path:
    return settings.path("milvus", "server.json")


def ensure_milvus(settings: Settings | None = None, start_timeout: float = 60.0) -> MilvusInfo:
    """Return the Milvus to use, starting the embedded server if needed (idempotent, cross-process)."""
    s = settings or get_settings()
    if s.milvus_uri:
        token = s.milvus_token.get_secret_value() if s.milvus_token else None
        return MilvusInfo(uri=s.milvus_uri, token=token, embedded=False)

    state = server_state_file(s)
    if state.exists():
        try:
            st = json.loads(state.read_text())
            uri = f"http://127.0.0.1:{st['port']}"
            if _pid_alive(int(st["pid"])) and _answers(uri):
                return MilvusInfo(uri=uri, token=None, embedded=True, pid=int(st["pid"]))
        except (ValueError, KeyError, OSError):
            pass
        state.unlink(missing_ok=True)

    port = s.milvus_lite_port
    if _port_open(port):
        uri = f"http://127.0.0.1:{port}"
        if _answers(uri):  # a server someone else started on our port: reuse it
            return MilvusInfo(uri=uri, token=None, embedded=True)
        raise MilvusUnavailable(f"Port {port} on 127.0.0.1 is in use by something that is not Milvus. "
                                "Set WORKBENCH_MILVUS_PORT to a free port, or set MILVUS_URI.")
    return _start(s, port, start_timeout)


def _start(s: Settings, port: int, timeout: float) -> MilvusInfo:
    data = s.path("milvus", "store")
    log_path = s.path("logs", "milvus.log")
    cmd = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data),
           "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    _started.append(proc)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-600:]
            raise MilvusUnavailable(f"Milvus Lite exited with code {proc.returncode} while starting. "
                                    f"Log {log_path}: ...{tail.strip()[-300:]}")
        if _port_open(port) and _answers(uri, timeout=2.0):
            server_state_file(s).write_text(json.dumps({"pid": proc.pid, "port": port}))
            return MilvusInfo(uri=uri, token=None, embedded=True, pid=proc.pid)
        time.sleep(0.2)
    stop_process(proc)
    raise MilvusUnavailable(f"Milvus Lite did not answer on {uri} within {timeout:.0f} s; see {log_path}.")


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
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


def stop_started_servers() -> None:
    """Stop the Milvus Lite servers this process started (not ones it merely reused)."""
    while _started:
        stop_process(_started.pop())


def stop_embedded(settings: Settings | None = None) -> bool:
    """Stop the embedded server recorded in the data folder, whoever started it."""
    s = settings or get_settings()
    state = server_state_file(s)
    if not state.exists():
        return False
    try:
        pid = int(json.loads(state.read_text())["pid"])
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if not _pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ValueError, KeyError, OSError):
        pass
    state.unlink(missing_ok=True)
    return True


atexit.register(stop_started_servers)
