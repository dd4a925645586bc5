"""The CLI as a user runs it: a real subprocess on the sample, and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)
from tests.support.robustness_inputs import NO_SUCH_FOLDER


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


@pytest.mark.slow
def test_retrieval_on_the_sample_writes_the_documented_json(milvus, tmp_path):
    out = tmp_path / "results.json"
    p = run_cli("retrieval", "--dataset", "sample", "--models", "minilm,bm25", "--k", "4", "--output", str(out))
    assert p.returncode == 0, p.stderr
    assert "ndcg@4" in p.stdout and "minilm" in p.stdout and "run_id" in p.stdout
    data = json.loads(out.read_text())
    assert data["dataset"] == "sample" and data["k"] == 4 and data["run_id"]
    assert set(data["metrics"]) == {"minilm", "bm25"}
    assert set(data["metrics"]["bm25"]) == {"precision@4", "recall@4", "hit@4", "mrr@4", "map@4", "ndcg@4"}
    assert len(data["rankings"]["minilm"]) == 16
    for model in ("minilm", "bm25"):
        for ranked in data["rankings"][model].values():
            assert all(isinstance(d, str) and isinstance(s, float) for d, s in ranked)
            assert len(ranked) == 4 if model == "minilm" else 1 <= len(ranked) <= 4  # what BM25 matched
    # q11 shares terms with 3 documents only (measured): the JSON lists those 3, no zero-score filler
    assert [d for d, _ in data["rankings"]["bm25"]["q11"]] == ["sql", "clojure", "cpp"]
    gc = data["rankings"]["minilm"]["q1"]
    assert gc[1][0] == "java"
    # what each model saw (issue 24): the sample's longest paragraph is 141 MiniLM tokens, under its 256
    assert data["models"]["minilm"] == {"max_tokens": 256, "documents": 31, "documents_truncated": 0,
                                        "queries_truncated": 0, "query_prompt": None, "document_prompt": None,
                                        "dim": 384, "counted_with": "model tokenizer"}
    assert data["models"]["bm25"]["max_tokens"] is None and data["models"]["bm25"]["dim"] is None
    assert "minilm: max 256 tokens: 0 of 31 documents and 0 queries truncated (model tokenizer)" in p.stdout


@pytest.mark.parametrize("args,message", [
    (["--dataset", "sample", "--models", "minilm,nope"], "unknown model 'nope'"),
    (["--dataset", "/no/such/folder"], "/no/such/folder"),
    (["--dataset", "sample", "--k", "0"], "k must be at least 1"),
    (["--dataset", "sample", "--index", "DISKANN"], "unknown index type 'DISKANN'"),
    (["--dataset", "sample", "--output", "/no/such/dir/r.json"], "folder /no/such/dir does not exist"),
])
def test_bad_input_exits_non_zero_with_one_line(milvus, args, message):
    p = run_cli("retrieval", *args)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], p.stderr


# ---------------------------------------------------------------- --output contracts, every command

COMMANDS = {  # each with what it needs to get as far as writing, minus the output
    "retrieval": ["retrieval", "--dataset", "sample", "--models", "bm25"],
    "rag": ["rag", "--dataset", "sample", "--models", "bm25", "--limit", "1"],
    "loadtest": ["loadtest", "--models", "bm25", "--duration", "1"],
    "report": ["report", "--runs", "latest"],
    "export": ["export", "--run", "latest"],
}


def _runs() -> set[str]:
    from rag.runs import RunStore

    return {r.id for r in RunStore.default().list(limit=10_000)}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("output,message", [
    ("/no/such/dir/out.json", "error: --output /no/such/dir/out.json: folder /no/such/dir does not exist"),
    ("/tmp", "error: --output /tmp: is a folder; give a file name"),
    ("/sys/out.json", "error: --output /sys/out.json: folder /sys is not writable (Permission denied)"),
])
def test_every_output_is_checked_before_any_work(command, output, message):
    before = _runs()
    p = run_cli(*COMMANDS[command], "--output", output, timeout=60)
    assert (p.returncode, p.stderr.strip().splitlines(), p.stdout) == (2, [message], ""), p.stderr
    assert _runs() == before                     # no run recorded: nothing was started


def test_rag_exits_1_when_every_row_failed_and_writes_no_output(tmp_path):
    import socket

    with socket.socket() as s:                   # a port nothing listens on: every generation call fails
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "rag.json"
    p = run_cli("rag", "--dataset", "sample", "--models", "bm25", "--limit", "2", "--k", "2", "--metrics",
                "rouge_l", "--generator", f"compat:gen@http://127.0.0.1:{port}/v1", "--retries", "0",
                "--output", str(out))
    from rag.runs import RunStore

    run = RunStore.default().get("latest")
    reason = "every row failed: generation failed: APIConnectionError: Connection error."
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().splitlines()[-1] == f"error: run {run.id} failed: {reason}"
    assert (run.kind, run.status, run.error) == ("rag", "failed", reason)
    assert "status failed · rows 2/2 · with failures 2" in p.stdout
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_write_atomic_never_leaves_a_partial_file(tmp_path):
    from rag.outputs import write_atomic

    out = tmp_path / "out.json"
    write_atomic(out, '{"v": 1}')
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError, match=f"^could not write {tmp_path / 'taken'}: Is a directory$"):
        write_atomic(tmp_path / "taken", "x")
    assert out.read_text() == '{"v": 1}' and sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "taken"]


@pytest.mark.slow
def test_rag_failing_to_write_mid_job_leaves_no_file_and_marks_the_run_failed(milvus, llm_server, tmp_path):  # noqa: F811
    import time

    from rag.runs import RunStore

    llm_server.latency = 0.5
    out = tmp_path / "rag.json"
    before = _runs()
    proc = subprocess.Popen([sys.executable, "cli.py", "rag", "--dataset", "sample", "--models", "bm25", "--limit",
                             "3", "--k", "2", "--metrics", "rouge_l", "--concurrency", "1", "--generator",
                             f"compat:gen-model@{llm_server.base_url}", "--output", str(out)],
                            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not _runs() - before and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        out.mkdir()                              # the path becomes a folder while the run is under way
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    (run_id,) = _runs() - before
    run = RunStore.default().get(run_id)
    assert proc.returncode == 2, stderr
    last = stderr.strip().splitlines()[-1]
    assert last == f"error: could not write {out}: Is a directory (run {run_id} marked failed)"
    assert (run.status, run.error) == ("failed", f"could not write {out}: Is a directory")
    assert [p.name for p in tmp_path.iterdir()] == ["rag.json"] and list(out.iterdir()) == []  # no temp file left


# ---------------------------------------------------------------- in process: typer's CliRunner on the one app

COMMAND_NAMES = ["decide", "check-regression", "retrieval", "rag", "sweep", "export-setup", "loadtest", "runs",
                 "report", "gate", "export", "milvus", "demo"]


def invoke(*args: str):
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, list(args))


def test_help_lists_every_command_in_order():
    r = invoke("--help")
    assert r.exit_code == 0 and r.stderr == ""
    listed = [ln.split()[0] for ln in r.stdout.split("Commands:\n")[1].splitlines() if ln.startswith("  ") and
              not ln.startswith("    ")]
    assert listed == COMMAND_NAMES
    assert re.search(r"\n  retrieval +compare embedding models' retrieval on a dataset\n", r.stdout)
    assert invoke("-h").stdout == r.stdout


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_every_command_has_help(command):
    r = invoke(command, "--help")
    assert r.exit_code == 0 and r.stdout.startswith(f"Usage: cli.py {command} ") and r.stderr == ""


@pytest.mark.parametrize("args,message", [
    (["nope"], "error: No such command 'nope'; see `cli.py --help`"),
    ([], "error: Missing command; see `cli.py --help`"),
    (["retrieval"], "error: Missing option '--dataset'; see `cli.py retrieval --help`"),
    (["retrieval", "--dataset", "sample", "--models", " , "],
     "error: --models: give at least one model, e.g. minilm,bm25"),
    (["retrieval", "--dataset", "sample", "--k", "x"],
     "error: --k: Input should be a valid integer, unable to parse string as an integer"),
    (["retrieval", "--datset", "sample"],
     "error: No such option: --datset (Possible options: --asr, --dataset); see `cli.py retrieval --help`"),
    (["retrieval", "--dataset", "sample", "--output", "/no/such/dir/r.json"],
     "error: --output /no/such/dir/r.json: folder /no/such/dir does not exist"),
    (["retrieval", "--dataset", "sample", "--index-params", "[8]"],
     "error: --index-params must be a JSON object such as '{\"M\": 16}' (got [8])"),
    (["rag", "--models", ","], "error: --models: give at least one model, e.g. minilm,bm25"),
    (["rag", "--dataset", "/no/such/folder"],
     NO_SUCH_FOLDER),
    (["rag", "--output", "/tmp"], "error: --output /tmp: is a folder; give a file name"),
    (["loadtest", "--endpoint", "nope"], "error: unknown endpoint 'nope'; choose from search, rag, milvus"),
    (["loadtest", "--max-batch", "0"], "error: max batch must be 1-1024"),
    (["loadtest", "--users", "many"],
     "error: --users: Input should be a valid integer, unable to parse string as an integer"),
    (["runs", "--kind", "nope"],
     "error: --kind: 'nope' is not one of 'retrieval', 'rag', 'load', 'sweep', 'decision'."),
    (["report", "--runs", "nope"], "error: no run 'nope'; list runs in the History page or with `python cli.py runs`"),
    (["report", "--runs"], "error: Option '--runs' requires an argument"),
    (["gate", "--run", "latest"], "error: Missing option '--metric'; see `cli.py gate --help`"),
    (["gate", "--run", "nope", "--metric", "ndcg@10", "--min", "0.5"],
     "error: no run 'nope'; list runs in the History page or with `python cli.py runs`"),
    (["export", "--run", "latest", "--format", "xml"],
     "error: --format: 'xml' is not one of 'csv', 'parquet', 'json'."),
    (["export", "--run", "nope"], "error: no run 'nope'; list runs in the History page or with `python cli.py runs`"),
    (["milvus", "go"], "error: ACTION: 'go' is not one of 'start', 'status', 'stop'."),
    (["milvus"], "error: Missing argument 'action'. Choose from: start, status, stop; see `cli.py milvus --help`"),
    (["demo", "--output", "/etc/hostname"], "error: --output /etc/hostname: is a file; give a folder"),
    (["demo", "--output", "{tmp}", "--spend-cap", "0"], "error: --spend-cap must be > 0 USD"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_exits_2_with_one_exact_line_in_process(args, message, tmp_path):
    before = _runs()
    r = invoke(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert (r.exit_code, r.stderr.splitlines(), r.stdout) == (2, [message], ""), r.output
    assert _runs() == before


def test_main_returns_the_code_and_prints_what_the_runner_prints(capsys):
    import cli

    assert cli.main(["gate", "--run", "latest"]) == 2
    assert capsys.readouterr().err == "error: Missing option '--metric'; see `cli.py gate --help`\n"
    assert cli.main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: cli.py [OPTIONS] COMMAND [ARGS]...\n\n  RAG evaluation workbench")


def test_retrieval_runs_export_report_gate_in_process(milvus, tmp_path):
    out = tmp_path / "results.json"
    r = invoke("retrieval", "--dataset", "sample", "--models", "bm25", "--k", "4", "--output", str(out))
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    run_id, ndcg = data["run_id"], data["metrics"]["bm25"]["ndcg@4"]
    assert r.stdout.startswith("sample: 31 documents, 16 judged queries, k=4\n")
    assert r.stdout.endswith(f"run_id {run_id}\nwrote {out}\n")
    assert [d for d, _ in data["rankings"]["bm25"]["q11"]] == ["sql", "clojure", "cpp"]

    r = invoke("runs", "--json", "--kind", "retrieval", "--limit", "1")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["run_id"] == run_id
    assert json.loads(r.stdout)[0]["models"] == ["bm25"] and json.loads(r.stdout)[0]["status"] == "done"

    csv = tmp_path / "rows.csv"
    r = invoke("export", "--run", run_id, "--output", str(csv))
    assert (r.exit_code, r.stdout) == (0, f"wrote {csv} (run {run_id})\n")
    assert len(csv.read_text().strip().splitlines()) == 1 + 16  # a header and one row per judged query

    html = tmp_path / "report.html"
    r = invoke("report", "--runs", run_id, "--output", str(html))
    assert (r.exit_code, r.stdout) == (0, f"wrote {html} (runs {run_id})\n") and run_id in html.read_text()

    r = invoke("gate", "--run", run_id, "--metric", "ndcg@4", "--min", "0")
    assert (r.exit_code, r.stdout, r.stderr) == (0, f"gate passed (run {run_id}): ndcg@4 >= 0: bm25 {ndcg:.4f}\n", "")
    r = invoke("gate", "--run", run_id, "--metric", "ndcg@4", "--min", "1.5")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == f"GATE FAILED (run {run_id}): bm25 ndcg@4 = {ndcg:.4f} < min 1.5\n"


def test_milvus_status_in_process(milvus):
    from rag.settings import get_settings

    r = invoke("milvus", "status")
    assert r.exit_code == 0 and r.stdout.startswith(f"Milvus Lite (embedded) of {get_settings().data_dir}: running, ")


def test_an_unexpected_error_exits_3_with_one_line_and_its_traceback_in_the_log(monkeypatch, capsys):
    """A bug is not bad input: exit 3, one line naming it and the log file, never a traceback on screen;
    the line and the log (which has the traceback) mask secret values."""
    import cli
    from rag.runs import RunStore
    from rag.settings import get_settings

    secret = "sk-test-not-a-real-key-123456"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    get_settings.cache_clear()

    def boom(self, *a, **kw):
        raise RuntimeError(f"boom with {secret}")

    monkeypatch.setattr(RunStore, "list", boom)
    try:
        log = get_settings().path("logs", "cli-errors.log")
        assert cli.main(["runs"]) == 3
        err = capsys.readouterr().err
        assert err == f"error: unexpected RuntimeError: boom with *** (a bug: please report it with {log})\n"
        text = log.read_text()
        assert "Traceback (most recent call last)" in text and "RuntimeError: boom with ***" in text
        assert secret not in text
    finally:
        monkeypatch.delenv("OPENAI_API_KEY")
        get_settings.cache_clear()
