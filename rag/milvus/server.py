"""Which Milvus to talk to, and the embedded Milvus Lite server that belongs to a data folder.

Milvus Lite lets only one process open a data directory, and the app, the load-test service and
Locust are separate processes. So with no ``MILVUS_URI`` we run Milvus Lite as a local server bound
to 127.0.0.1 (data under ``<data_dir>/milvus/store``) and every process connects over HTTP; the same
code then serves a Milvus standalone/cluster or Zilliz Cloud when ``MILVUS_URI`` (+ ``MILVUS_TOKEN``) is set.

The embedded server belongs to its data folder (measured: with one shared port, a CLI run on folder B
wrote its collections into folder A's server):
- ``<data>/milvus/server.json`` records its pid, port and store path; a process reuses a server only
  after checking that this pid is alive, runs on *this* folder's store and listens on that port.
- The default port (19531) taken by anything else: pick a free port and record it. An explicitly
  configured port (``WORKBENCH_MILVUS_PORT``) that is held is an error that says so.
- Every process that uses the server registers itself in ``<data>/milvus/owners/``; the server runs
  under ``rag/milvus/watchdog.py``, which stops it once no owner has been alive for
  ``WORKBENCH_MILVUS_IDLE_S`` seconds (default 30), so ``kill -9`` of the app or CLI leaves no orphan;
  ``start_kept`` (``cli.py milvus start``) keeps it up until ``stop_embedded``, for exported scripts.
- It heals (``rag.milvus.healing``): when it dies during a job, it is restarted once (same folder, same
  port when free) and ``rag.milvus.store.MilvusStore`` runs the call again.

Usage:
    info = ensure_milvus()            # starts or reuses this data folder's embedded server
    client = info.client()            # pymilvus.MilvusClient
    info.describe()                   # "Milvus Lite (embedded) at http://127.0.0.1:19531"
    embedded_status()                 # {"running": True, "pid": ..., "port": ..., "owners": [...]}
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rag import logs, processes
from rag.i18n import _
from rag.processes import (
    Child,
    free_port,
    port_in_use,
)
from rag.settings import Settings, get_settings

# pymilvus pings every 10 s by default; Milvus Lite's gRPC server answers "too_many_pings" and the
# reconnect can then fail with UNAVAILABLE. Idle pings are not needed on loopback or by a managed Milvus.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 600_000, "grpc.keepalive_permit_without_calls": False}
WATCHDOG = Path(__file__).with_name("watchdog.py")


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

        logs.reroute()  # pymilvus adds its console handlers on import: its retries' tracebacks go to the log
        kwargs = {"uri": self.uri, "timeout": timeout, "grpc_options": GRPC_OPTIONS}
        if self.token:
            kwargs["token"] = self.token
        try:
            return MilvusClient(**kwargs)
        except Exception as e:  # pymilvus raises MilvusException on connect failures
            raise MilvusUnavailable(connect_error(self.uri, self.token, e, self.fix_hint())) from e

    def describe(self) -> str:
        """Which server, in the reader's language (the sidebar's status line, messages)."""
        if self.embedded:
            return _("Milvus Lite (embedded) at {uri}").format(uri=self.uri)
        return _("Milvus at {uri}").format(uri=self.uri)

    def fix_hint(self) -> str:
        if self.embedded:
            return _("Restart the app, or run `python cli.py milvus stop`; set WORKBENCH_MILVUS_PORT to use "
                     "another port.")
        return _("Check MILVUS_URI / MILVUS_TOKEN and that the server is running.")

    @property
    def port(self) -> int | None:
        tail = self.uri.rstrip("/").rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else None


def connect_error(uri: str, token: str | None, error: Exception, hint: str) -> str:
    """One line saying *why* a connect failed. pymilvus gives the same words ("illegal connection
    params or server unavailable") for a server that is down and for a missing or wrong token, so
    ask the server directly with one raw gRPC call; the token itself never appears in the message."""
    reason = _auth_probe(uri, token)
    if reason == "missing":
        return _("Milvus at {uri} requires authentication: set MILVUS_TOKEN (user:password, e.g. root:Milvus, "
                 "or an API key).").format(uri=uri)
    if reason == "rejected":
        return _("Milvus at {uri} rejected MILVUS_TOKEN (auth check failure): check the user and password.").format(
            uri=uri)
    return _("Cannot connect to Milvus at {uri}: {why}. {hint}").format(
        uri=uri, why=getattr(error, "message", None) or error, hint=hint)


def _auth_probe(uri: str, token: str | None) -> str | None:
    """'missing' / 'rejected' when the server answers UNAUTHENTICATED, else None (down, TLS, ...)."""
    import base64

    if not uri.startswith("http://"):
        return None
    try:
        import grpc
        from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

        md = [("authorization", base64.b64encode(token.encode()).decode())] if token else None
        with grpc.insecure_channel(uri[len("http://"):].rstrip("/")) as ch:
            milvus_pb2_grpc.MilvusServiceStub(ch).GetVersion(milvus_pb2.GetVersionRequest(), metadata=md, timeout=3)
    except Exception as e:  # grpc.RpcError carries the status code
        code = getattr(e, "code", lambda: None)()
        if code is not None and code.name == "UNAUTHENTICATED":
            return "rejected" if token else "missing"
    return None


_registered: set[Path] = set()  # this process' owner files, removed at exit


SERVER_BLAS_THREADS = "1"  # OPENBLAS_NUM_THREADS of the embedded server unless the environment sets it


def server_threads() -> dict[str, str]:
    """The embedded server's BLAS threads: one, unless ``OPENBLAS_NUM_THREADS`` is set (then it is passed on).

    Why: Milvus Lite scores a FLAT/COSINE search with a NumPy matrix product over every vector, and NumPy's
    OpenBLAS runs it on every core; after each call its worker threads spin waiting for more work. On a
    2-core machine a single query's search (SciFact, 5,183 × 384) then burned 72–86 ms of the server's CPU
    against 15 ms with one thread, and the spinning thread took the core the next query's embedding needed
    (benchmarks/README.md, "Issue 27: the sweep's latency sample"). One query's product is too small to
    gain from a second thread. Not measured: what a batched search (64 queries) or an IVF index's training
    (faiss, if it uses this OpenBLAS) loses on one thread; set ``OPENBLAS_NUM_THREADS`` to give them more."""
    return {} if "OPENBLAS_NUM_THREADS" in os.environ else {"OPENBLAS_NUM_THREADS": SERVER_BLAS_THREADS}


class LiteServer(Child):
    """The watchdog process running this folder's Milvus Lite server (``rag/milvus/watchdog.py``).
    At exit it is stopped only when no other process uses it; the watchdog stops it later otherwise."""

    def __init__(self, s: Settings, port: int):
        self.owners = _owners_dir(s)
        cmd = [sys.executable, str(WATCHDOG), "--data-dir", str(_store_dir(s)), "--port", str(port),
               "--owners", str(self.owners), "--grace", f"{s.milvus_idle_s:g}", "--keep", str(keep_file(s))]
        self.keep = keep_file(s)
        super().__init__(cmd, s.path("logs", "milvus.log"), env=server_threads(), watch_parent=False, append=True)

    def stop_at_exit(self) -> None:
        from rag.milvus.watchdog import live_owners

        if not [p for p in live_owners(self.owners) if p != os.getpid()] and not self.keep.exists():
            self.stop()
        processes.forget(self)


def _answers(uri: str, token: str | None = None, timeout: float = 5.0) -> bool:
    try:
        from pymilvus import MilvusClient

        logs.reroute()
        c = MilvusClient(uri=uri, token=token or "", timeout=timeout, grpc_options=GRPC_OPTIONS)
        c.list_collections(timeout=timeout)
        c.close()
        return True
    except Exception:
        return False


def server_state_file(settings: Settings) -> Path:
    return settings.path("milvus", "server.json")


def _store_dir(s: Settings) -> Path:
    return s.path("milvus", "store").resolve()


def _owners_dir(s: Settings) -> Path:
    d = s.path("milvus", "owners", "x").parent
    d.mkdir(exist_ok=True)
    return d


def register_owner(s: Settings, pid: int | None = None) -> None:
    """Record that a process uses this folder's server (the watchdog keeps it up while one lives)."""
    import psutil

    p = psutil.Process(pid or os.getpid())
    f = _owners_dir(s) / f"{p.pid}.json"
    # atomic: the watchdog deletes owner files it cannot parse; the thread in the name: two threads of one process
    # registering at once (a benchmark starting two services) must not rename each other's file away
    tmp = f.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps({"pid": p.pid, "created": p.create_time()}))
    tmp.replace(f)
    if p.pid == os.getpid():
        _registered.add(f)


def _owned_server(s: Settings) -> dict | None:
    """The server recorded in this folder, if that pid really is this folder's server on that port."""
    import psutil

    state = server_state_file(s)
    try:
        st = json.loads(state.read_text())
        proc = psutil.Process(int(st["pid"]))
        cmd = proc.cmdline()
        if proc.status() == psutil.STATUS_ZOMBIE or "--data-dir" not in cmd:
            return None
        if Path(cmd[cmd.index("--data-dir") + 1]).resolve() != _store_dir(s):
            return None
        ports = {c.laddr.port for p in (proc, *proc.children(recursive=True))
                 for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        return st if int(st["port"]) in ports else None
    except (OSError, ValueError, KeyError, IndexError, psutil.Error):
        return None


def ensure_milvus(settings: Settings | None = None, start_timeout: float = 60.0,
                  strict_port: bool | None = None, port: int | None = None) -> MilvusInfo:
    """Return the Milvus to use, starting this folder's embedded server if needed (cross-process).

    ``strict_port``: fail when the port is held instead of picking a free one (default: strict
    exactly when ``WORKBENCH_MILVUS_PORT`` is set). ``port``: the port to start on when it is free
    (a restart keeps the URI a client or an exported script knows); held, a free one is picked."""
    s = settings or get_settings()
    if s.milvus_uri:
        return MilvusInfo(uri=s.milvus_uri, token=s.milvus_key, embedded=False)

    register_owner(s)  # before looking: the watchdog must not stop a server we are about to use
    with open(s.path("milvus", "start.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once: one starts, one reuses
        st = _owned_server(s)
        if st is not None:
            uri = f"http://127.0.0.1:{st['port']}"
            if _answers(uri):
                return MilvusInfo(uri=uri, token=None, embedded=True, pid=int(st["pid"]))
        server_state_file(s).unlink(missing_ok=True)

        strict = "milvus_lite_port" in s.model_fields_set if strict_port is None else strict_port
        strict, port = (False, port) if port else (strict, s.milvus_lite_port)
        if port_in_use(port):
            if strict:
                if _answers(f"http://127.0.0.1:{port}"):
                    raise MilvusUnavailable(_(
                        "Port {port} on 127.0.0.1 (WORKBENCH_MILVUS_PORT) is held by another data folder's Milvus. "
                        "Set WORKBENCH_MILVUS_PORT to a free port or unset it to pick one, or set MILVUS_URI."
                    ).format(port=port))
                raise MilvusUnavailable(_(
                    "Port {port} on 127.0.0.1 (WORKBENCH_MILVUS_PORT) is held by something that is not this data "
                    "folder's Milvus. Set WORKBENCH_MILVUS_PORT to a free port or unset it to pick one, or set "
                    "MILVUS_URI.").format(port=port))
            port = free_port()
        return _start(s, port, start_timeout)


def _start(s: Settings, port: int, timeout: float) -> MilvusInfo:
    server = LiteServer(s, port)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise MilvusUnavailable(_("Milvus Lite exited with code {code} while starting. Log {log}: ...{tail}")
                                    .format(code=server.returncode, log=server.log_path,
                                            tail=server.log_tail(600).strip()[-300:]))
        if port_in_use(port) and _answers(uri, timeout=2.0):
            server_state_file(s).write_text(json.dumps({"pid": server.pid, "port": port,
                                                        "store": str(_store_dir(s)), "started": time.time(),
                                                        "idle_stop_s": s.milvus_idle_s}))
            return MilvusInfo(uri=uri, token=None, embedded=True, pid=server.pid)
        time.sleep(0.2)
    server.stop()
    raise MilvusUnavailable(_("Milvus Lite did not answer on {uri} within {seconds} s; see {log}.").format(
        uri=uri, seconds=f"{timeout:.0f}", log=server.log_path))


def _unregister() -> None:
    while _registered:
        _registered.pop().unlink(missing_ok=True)


def stop_started_servers() -> None:
    """Stop the servers this process started unless another process still uses them (the watchdog
    stops those once their last owner is gone), and drop this process' owner files. Also runs at
    exit (``rag.processes.stop_all``); a process whose exit handlers never run (uvicorn re-raises
    SIGTERM) calls it itself."""
    _unregister()
    for server in processes.children():
        if isinstance(server, LiteServer):
            server.stop_at_exit()


processes.on_exit(_unregister)


def embedded_status(settings: Settings | None = None) -> dict:
    """What ``cli.py milvus status`` shows: this folder's embedded server, if one runs."""
    from rag.milvus.watchdog import live_owners

    s = settings or get_settings()
    st = _owned_server(s)
    out = {"data_dir": str(s.data_dir), "running": st is not None, "owners": live_owners(_owners_dir(s)),
           "kept": keep_file(s).exists()}
    if st is not None:
        out.update(pid=int(st["pid"]), port=int(st["port"]), uri=f"http://127.0.0.1:{st['port']}",
                   started=st.get("started"), idle_stop_s=st.get("idle_stop_s", s.milvus_idle_s))
    return out


def stop_embedded(settings: Settings | None = None) -> dict | None:
    """Stop this folder's embedded server, whoever started it; None if none runs."""
    import psutil

    s = settings or get_settings()
    keep_file(s).unlink(missing_ok=True)
    st = _owned_server(s)
    if st is None:
        server_state_file(s).unlink(missing_ok=True)
        return None
    pid = int(st["pid"])
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        os.killpg(pid, signal.SIGTERM)
        _gone, alive = psutil.wait_procs(procs, timeout=10)
        for p in alive:
            p.kill()
    except (OSError, psutil.Error):
        pass
    for server in [c for c in processes.children() if c.pid == pid]:
        server.wait(5)
        processes.forget(server)
    server_state_file(s).unlink(missing_ok=True)
    return st


# ---------------------------------------------------------------- kept up by `milvus start`
def keep_file(settings: Settings | None = None) -> Path:
    """Present while ``milvus start`` keeps the server up: the watchdog then never stops it for idleness."""
    return (settings or get_settings()).path("milvus", "keep")


def start_kept(settings: Settings | None = None) -> MilvusInfo:
    """Start (or reuse) this folder's embedded server and keep it up until ``stop_embedded``."""
    s = settings or get_settings()
    keep_file(s).write_text(json.dumps({"by": os.getpid(), "time": time.time()}))
    info = ensure_milvus(s)
    for server in [c for c in processes.children() if isinstance(c, LiteServer)]:
        processes.forget(server)  # ours to leave running: the exit handler must not stop it
    _unregister()
    return info
