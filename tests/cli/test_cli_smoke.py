"""One real ``python cli.py`` process per command, as a user runs it, in a data folder of its own.

The folder (``WORKBENCH_DATA_DIR``) starts empty, with its own embedded Milvus Lite on its own port:
``retrieval`` records the folder's first run; ``runs``, ``export``, ``report`` and ``gate``
read that run back; ``milvus status`` and ``milvus stop`` see and end the server. ``rag``,
``loadtest`` and ``demo`` run slowly on their happy paths (tests/rag/test_rag_job.py,
test_loadtest_runner.py, test_demo.py): here each refuses a real bad input with exit 2 and shows
its help.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, free_port
from tests.support.robustness_inputs import NO_SUCH_FOLDER


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """An empty data folder whose embedded Milvus this test process starts and owns (so it stays up
    between commands, each of which reuses it), stopped at the end."""
    from rag.milvus.server import ensure_milvus, stop_embedded
    from rag.settings import Settings

    path = tmp_path_factory.mktemp("cli-smoke")
    settings = Settings(data_dir=path, milvus_lite_port=free_port(), milvus_uri="")
    info = ensure_milvus(settings)
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(path), "WORKBENCH_MILVUS_PORT": str(settings.milvus_lite_port)}
    yield {"path": path, "env": env, "port": settings.milvus_lite_port, "pid": info.pid}
    stop_embedded(settings)


def cli(folder, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=folder["env"], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def first_run(folder):
    """``retrieval`` on the sample with bm25 and k 4: the folder's first run."""
    out = folder["path"] / "results.json"
    p = cli(folder, "retrieval", "--dataset", "sample", "--models", "bm25", "--k", "4", "--output", str(out))
    return p, out


def test_retrieval(first_run):
    p, out = first_run
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text())
    assert (data["dataset"], data["k"], list(data["metrics"])) == ("sample", 4, ["bm25"])
    lines = p.stdout.splitlines()
    assert lines[0] == "sample: 31 documents, 16 judged queries, k=4"
    assert lines[-2:] == [f"run_id {data['run_id']}", f"wrote {out}"]
    assert [d for d, _ in data["rankings"]["bm25"]["q11"]] == ["sql", "clojure", "cpp"]


def _run_id(first_run) -> str:
    return json.loads(first_run[1].read_text())["run_id"]


def test_runs(folder, first_run):
    p = cli(folder, "runs", "--json")
    assert (p.returncode, p.stderr) == (0, "")
    (run,) = json.loads(p.stdout)  # the folder holds this one run only
    assert (run["run_id"], run["kind"], run["status"], run["dataset"], run["models"]) == (
        _run_id(first_run), "retrieval", "done", "sample", ["bm25"])
    table = cli(folder, "runs", "--kind", "rag")
    assert (table.returncode, table.stdout) == (0, "no runs yet\n")


def test_export(folder, first_run):
    run_id = _run_id(first_run)
    out = folder["path"] / "rows.csv"
    p = cli(folder, "export", "--run", "latest", "--format", "csv", "--output", str(out))
    assert (p.returncode, p.stdout, p.stderr) == (0, f"wrote {out} (run {run_id})\n", "")
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 16 and {r["model"] for r in rows} == {"bm25"}


def test_report(folder, first_run):
    run_id = _run_id(first_run)
    out = folder["path"] / "report.html"
    p = cli(folder, "report", "--runs", "latest", "--output", str(out))
    assert (p.returncode, p.stdout) == (0, f"wrote {out} (runs {run_id})\n"), p.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and run_id in html


def test_gate(folder, first_run):
    run_id = _run_id(first_run)
    ndcg = json.loads(first_run[1].read_text())["metrics"]["bm25"]["ndcg@4"]
    ok = cli(folder, "gate", "--run", "latest", "--metric", "ndcg@4", "--min", "0.1")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, f"gate passed (run {run_id}): ndcg@4 >= 0.1: bm25 {ndcg:.4f}\n",
                                                     "")
    miss = cli(folder, "gate", "--run", "latest", "--metric", "ndcg@4", "--min", "0.99")
    assert (miss.returncode, miss.stdout, miss.stderr) == (
        1, "", f"GATE FAILED (run {run_id}): bm25 ndcg@4 = {ndcg:.4f} < min 0.99\n")


def test_milvus(folder, first_run):
    from rag.settings import get_settings

    idle = get_settings().milvus_idle_s
    path, port, pid = folder["path"], folder["port"], folder["pid"]
    p = cli(folder, "milvus", "status")
    assert (p.returncode, p.stdout, p.stderr) == (
        0, f"Milvus Lite (embedded) of {path}: running, pid {pid}, http://127.0.0.1:{port}\n"
           f"  owners (processes using it): {os.getpid()}; it stops {idle:g} s after the last one "
           "exits\n", "")
    p = cli(folder, "milvus", "stop")
    assert (p.returncode, p.stdout, p.stderr) == (0, f"stopped Milvus Lite (pid {pid}, port {port}) of {path}\n", "")
    p = cli(folder, "milvus", "status")
    assert (p.returncode, p.stdout) == (0, f"no embedded Milvus running for {path}\n")


@pytest.mark.parametrize("args,message", [
    (["rag", "--dataset", "/no/such/folder"],
     NO_SUCH_FOLDER),
    (["loadtest", "--models", "bm25", "--endpoint", "nope"],
     "error: unknown endpoint 'nope'; choose from search, rag, milvus"),
    (["demo", "--output", "{tmp}", "--spend-cap", "-1"], "error: --spend-cap must be > 0 USD"),
], ids=["rag", "loadtest", "demo"])
def test_slow_commands_refuse_bad_input_and_show_help(folder, args, message, tmp_path):
    from rag.runs import RunStore

    runs = RunStore(folder["path"] / "runs.sqlite")
    before = [r.id for r in runs.list()]
    p = cli(folder, *[a.replace("{tmp}", str(tmp_path)) for a in args], timeout=120)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", message + "\n")
    assert [r.id for r in runs.list()] == before  # refused before anything was recorded
    h = cli(folder, args[0], "--help", timeout=60)
    assert h.returncode == 0 and h.stdout.startswith(f"Usage: cli.py {args[0]} [OPTIONS]") and "--models" in h.stdout
