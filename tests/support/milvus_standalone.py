"""A real Milvus standalone server (PyPI ``milvus==2.3.5``, in ``.venv-milvus``) as a test fixture.

``make milvus-server`` installs it (``requirements-milvus-server.txt``); ``make test`` depends on that,
so CI runs these tests. The fixture skips, saying so, only when the binary is absent.

Every port it opens is moved to a free one: the ``--*-port`` flags, and the embedded etcd's client
and peer ports (fixed at 2379/2380 otherwise) through an etcd config file named by
``ETCD_CONFIG_PATH``. Without that, 19531 (its query coordinator) collides with Milvus Lite's
default port. It starts with authorization on (user ``root``, password ``Milvus``): one server
serves the ranking tests and the auth tests. Ready after ~30-40 s, so it is started once per session,
and killed at its end (SIGKILL to its process group and to the child ``milvus run standalone``, which can
outlive the wrapper): its data folder is deleted right after, so there is nothing to stop gracefully.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, free_port

MILVUS_SERVER = Path(os.environ.get("WORKBENCH_MILVUS_SERVER", ROOT / ".venv-milvus" / "bin" / "milvus-server"))
PORT_FLAGS = ("etcd-port", "root-coord-port", "proxy-port", "proxy-internal-port", "query-coord-port",
              "query-node-port", "index-coord-port", "index-node-port", "data-coord-port", "data-node-port")
ROOT_TOKEN = "root:Milvus"


@dataclass
class Standalone:
    uri: str
    proc: subprocess.Popen
    data: Path
    started_s: float

    def stop(self) -> None:
        """Killed outright (SIGKILL to its group and to every descendant, the Go server can leave the wrapper's
        group): its data folder is thrown away next, so a graceful stop would save nothing, and after the
        tests have used it Milvus 2.3 takes ~20 s to stop on SIGTERM (measured: 22 s of the session's teardown)."""
        procs = [psutil.Process(self.proc.pid)]
        try:
            procs += procs[0].children(recursive=True)
        except psutil.Error:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
        self.proc.wait(5)


def start_standalone(timeout: float = 180.0) -> Standalone:
    from pymilvus import MilvusClient

    data = Path(tempfile.mkdtemp(prefix="wb-milvus-standalone-"))
    ports = {flag: free_port() for flag in PORT_FLAGS}
    peer = free_port()
    etcd = data / "etcd.yaml"
    client_url, peer_url = f"http://127.0.0.1:{ports['etcd-port']}", f"http://127.0.0.1:{peer}"
    etcd.write_text(f"name: default\ndata-dir: {data / 'etcd-embed'}\nlisten-client-urls: {client_url}\n"
                    f"advertise-client-urls: {client_url}\nlisten-peer-urls: {peer_url}\n"
                    f"initial-advertise-peer-urls: {peer_url}\ninitial-cluster: default={peer_url}\n")
    cmd = [str(MILVUS_SERVER), "--data", str(data / "server"), "--authorization-enabled", "true"]
    for flag, port in ports.items():
        cmd += [f"--{flag}", str(port)]
    t0 = time.monotonic()
    with open(data / "server.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "ETCD_CONFIG_PATH": str(etcd)})
    srv = Standalone(f"http://127.0.0.1:{ports['proxy-port']}", proc, data, 0.0)
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            break
        try:
            MilvusClient(uri=srv.uri, token=ROOT_TOKEN, timeout=3).list_collections()
            srv.started_s = time.monotonic() - t0
            return srv
        except Exception:
            time.sleep(1.0)
    srv.stop()
    tail = (data / "server.log").read_text(errors="replace")[-500:]
    raise RuntimeError(f"Milvus standalone did not become ready in {timeout:.0f} s: ...{tail}")


@pytest.fixture(scope="session")
def milvus_standalone():
    if not MILVUS_SERVER.exists():
        pytest.skip(f"{MILVUS_SERVER} is absent: run `make milvus-server` (make test does)")
    srv = start_standalone()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(srv.data, ignore_errors=True)
