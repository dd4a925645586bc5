"""The embedded Milvus Lite server belongs to its data folder and dies with its last owner.

Real Milvus Lite servers on temporary data folders (not the session's): two folders given the same
port get two servers; an explicitly configured port that is held is one clear error; a CLI killed
with ``kill -9`` leaves no server behind; ``cli.py milvus status|stop`` sees and ends it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

import cli
from rag.milvus.capabilities import Capabilities, MilvusUnsupported
from rag.milvus.index_config import IndexConfig
from rag.milvus.server import MilvusUnavailable, embedded_status, ensure_milvus, stop_embedded
from rag.models.registry import resolve
from rag.settings import Settings
from tests.conftest import ROOT, free_port


def _settings(path, port) -> Settings:
    return Settings(data_dir=path, milvus_lite_port=port, milvus_uri="")


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def two_folders(tmp_path):
    a, b = _settings(tmp_path / "A", free_port()), None
    b = _settings(tmp_path / "B", a.milvus_lite_port)
    yield a, b
    for s in (a, b):
        stop_embedded(s)


def test_a_second_folder_on_a_taken_default_port_gets_its_own_server(two_folders):
    a, b = two_folders
    ia = ensure_milvus(a, strict_port=False)
    ib = ensure_milvus(b, strict_port=False)  # the port is A's: B must not reuse A's server
    assert ia.uri == f"http://127.0.0.1:{a.milvus_lite_port}" and ib.uri != ia.uri and ib.pid != ia.pid
    assert json.loads((b.data_dir / "milvus" / "server.json").read_text())["port"] == int(ib.uri.rsplit(":", 1)[1])
    ca, cb = ia.client(), ib.client()
    cb.create_collection("only_in_b", dimension=4)
    assert cb.list_collections() == ["only_in_b"] and ca.list_collections() == []
    assert ensure_milvus(b, strict_port=False).pid == ib.pid  # B's next process reuses B's own server
    assert stop_embedded(b)["pid"] == ib.pid and _gone(ib.pid, 10)
    assert ca.list_collections() == [] and psutil.pid_exists(ia.pid)  # A untouched


def test_an_explicit_port_held_by_another_folders_server_is_a_clear_error(two_folders):
    a, b = two_folders
    ensure_milvus(a, strict_port=False)
    with pytest.raises(MilvusUnavailable) as e:
        ensure_milvus(b, strict_port=True)
    assert str(e.value) == (f"Port {a.milvus_lite_port} on 127.0.0.1 (WORKBENCH_MILVUS_PORT) is held by another data "
                            "folder's Milvus. Set WORKBENCH_MILVUS_PORT to a free port or unset it to pick one, "
                            "or set MILVUS_URI.")
    assert not (b.data_dir / "milvus" / "server.json").exists()


def test_cli_with_an_explicit_port_never_writes_into_another_folders_milvus(two_folders, monkeypatch, capsys):
    from rag.settings import reset_settings

    a, b = two_folders
    ia = ensure_milvus(a, strict_port=False)
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(b.data_dir))
    monkeypatch.setenv("WORKBENCH_MILVUS_PORT", str(a.milvus_lite_port))
    reset_settings()
    try:
        assert cli.main(["retrieval", "--dataset", "sample", "--models", "bm25", "--k", "2"]) == 2
    finally:
        monkeypatch.undo()
        reset_settings()
    assert capsys.readouterr().err.startswith(f"error: Port {a.milvus_lite_port} on 127.0.0.1 (WORKBENCH_MILVUS_PORT) "
                                              "is held by another data folder's Milvus.")
    assert ia.client().list_collections() == []


def _cli(args, data_dir, **env):
    e = {k: v for k, v in os.environ.items() if k != "WORKBENCH_MILVUS_PORT"}
    e.update(WORKBENCH_DATA_DIR=str(data_dir), **env)
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(args, data_dir, **env):
    p = _cli(args, data_dir, **env)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err


@pytest.mark.slow
def test_a_cli_killed_with_sigkill_leaves_no_milvus_running(tmp_path):
    port = free_port()
    state = tmp_path / "milvus" / "server.json"
    # minilm: the model loads for seconds after Milvus is up, so the CLI is surely mid-run when killed
    p = _cli(["retrieval", "--dataset", "sample", "--models", "minilm", "--k", "2"], tmp_path,
             WORKBENCH_MILVUS_PORT=str(port), WORKBENCH_MILVUS_IDLE_S="2")
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    server = json.loads(state.read_text())
    lite = [c.pid for c in psutil.Process(server["pid"]).children()]
    code, out, _ = _run(["milvus", "status"], tmp_path)
    assert code == 0 and out == (f"Milvus Lite (embedded) of {tmp_path}: running, pid {server['pid']}, "
                                 f"http://127.0.0.1:{port}\n  owners (processes using it): {p.pid}; "
                                 "it stops 2 s after the last one exits\n")
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    assert p.returncode == -signal.SIGKILL
    assert len(lite) == 1 and _gone(server["pid"], 15) and _gone(lite[0], 5)  # 2 s grace + shutdown
    assert _run(["milvus", "status"], tmp_path)[1] == f"no embedded Milvus running for {tmp_path}\n"


@pytest.mark.slow
def test_milvus_stop_ends_a_server_whose_owner_still_runs(tmp_path):
    port = free_port()
    p = subprocess.Popen([sys.executable, "-c", "import time; from rag.milvus.server import ensure_milvus; "
                          "print(ensure_milvus().uri, flush=True); time.sleep(120)"], cwd=ROOT, text=True,
                         stdout=subprocess.PIPE, env={**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path),
                                                      "WORKBENCH_MILVUS_PORT": str(port)})
    try:
        assert p.stdout.readline() == f"http://127.0.0.1:{port}\n"
        pid = embedded_status(_settings(tmp_path, port))["pid"]
        code, out, _ = _run(["milvus", "stop"], tmp_path)
        assert (code, out) == (0, f"stopped Milvus Lite (pid {pid}, port {port}) of {tmp_path}\n") and _gone(pid, 5)
        assert _run(["milvus", "stop"], tmp_path)[1] == f"no embedded Milvus running for {tmp_path}\n"
    finally:
        p.kill()
        p.wait()


def test_capabilities_name_the_version_a_model_needs():
    old, lite = Capabilities("Milvus", "v2.3.5-lite"), Capabilities("Milvus Lite", "milvus_lite-3.2.2")
    assert old.model_reason(resolve("bm25")) == "bm25 needs Milvus >= 2.5 (BM25 function); this server is 2.3.5"
    assert old.model_reason(resolve("hybrid")) == "hybrid needs Milvus >= 2.5 (BM25 function); this server is 2.3.5"
    assert old.model_reason(resolve("minilm")) is None and old.short() == "Milvus 2.3.5"
    assert Capabilities("Milvus", "v2.4.9").model_reason(resolve("bm25")) == \
        "bm25 needs Milvus >= 2.5 (BM25 function); this server is 2.4.9"
    assert Capabilities("Milvus", "v2.5.4").model_reason(resolve("hybrid")) is None
    assert [lite.model_reason(resolve(m)) for m in ("minilm", "bm25", "hybrid")] == [None, None, None]
    assert lite.index_reason("IVF_PQ") == "Milvus Lite has no IVF_PQ" and lite.index_reason("HNSW") is None
    assert old.index_reason("HNSW_SQ") == "HNSW_SQ needs Milvus >= 2.6; this server is 2.3.5"
    with pytest.raises(MilvusUnsupported, match="^bm25 needs Milvus >= 2.5"):
        old.require([resolve("minilm"), resolve("bm25")], IndexConfig())
    assert Capabilities("Milvus", "Zilliz Cloud (Compatible with Milvus 2.5)").model_reason(resolve("bm25")) is None


def test_the_session_milvus_lite_reports_itself(milvus, retriever):
    assert retriever.store.capabilities == Capabilities("Milvus Lite", "milvus_lite-3.2.2")
