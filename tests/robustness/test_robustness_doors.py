"""Robustness catalogue, part 2: malformed and hostile input at the CLI, the HTTP service and the pages.

Part 1 (tests/robustness/test_robustness.py) covers the loaders, Milvus and HTML escaping; the shared inputs and the
``unchanged`` fixture (nothing written, nothing lost) are in tests/support/robustness_inputs.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.support.robustness_inputs import (
    CORPUS_JSONL,
    KNOWN_MODELS,
    NO_SUCH_FOLDER,
    QRELS_HEADER,
    QUERIES_JSONL,
)

# ------------------------------------------------------------------------------------------ 4. CLI

def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def _beir_folder(tmp: Path, corpus: str) -> str:
    (tmp / "qrels").mkdir(parents=True)
    (tmp / "corpus.jsonl").write_text(corpus)
    (tmp / "queries.jsonl").write_text(QUERIES_JSONL)
    (tmp / "qrels" / "test.tsv").write_text(QRELS_HEADER + "q1\tjava\t1\n")
    return str(tmp)


CLI_CASES = [
    # (case, args, extra env, exact stderr line (or its start when it ends with "…"))
    ("unknown-model", ["retrieval", "--dataset", "sample", "--models", "minilm,nope"], {},
     f"error: unknown model 'nope'. Known: {KNOWN_MODELS}"),
    ("negative-k", ["retrieval", "--dataset", "sample", "--models", "bm25", "--k", "-3"], {},
     "error: k must be at least 1 (got -3)"),
    ("unknown-index", ["retrieval", "--dataset", "sample", "--index", "DISKANN"], {},
     "error: unknown index type 'DISKANN'; choose from FLAT, HNSW, IVF_FLAT, IVF_SQ8"),
    ("single-file-dataset", ["retrieval", "--dataset", "README.md"], {},
     "error: README.md: a single file is not a dataset (give two tables, corpus then questions, such as "
     "docs.xlsx,faq.csv, or documents and a questions table, such as guide.docx,page.html,faq.xlsx; a sheet is "
     "named as faq.xlsx#Sheet2)"),
    ("missing-folder", ["retrieval", "--dataset", "/no/such/folder"], {},
     NO_SUCH_FOLDER),
    ("bad-beir-folder", ["retrieval", "--dataset", "{tmp}"], {},
     "error: corpus.jsonl, line 3, field '_id': duplicate id 'java' (lines 1 and 3)"),
    ("milvus-down", ["retrieval", "--dataset", "sample", "--models", "bm25"], {"MILVUS_URI": "{dead}"},
     "error: Cannot connect to Milvus at {dead}: …"),
    ("unknown-generator", ["rag", "--dataset", "sample", "--models", "bm25", "--generator", "gpt4"], {},
     "error: unknown generator 'gpt4'; use extractive or openai:MODEL, ollama:MODEL, vllm:MODEL, lmstudio:MODEL, "
     "compat:MODEL"),
    ("unknown-run", ["report", "--runs", "nope", "--output", "{tmp}/r.html"], {},
     "error: no run 'nope'; list runs in the History page or with `python cli.py runs`"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case,args,env,message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_refuses_with_one_line_and_writes_nothing(case, args, env, message, tmp_path, unchanged):
    dead = dead_url()
    if case == "bad-beir-folder":
        _beir_folder(tmp_path, CORPUS_JSONL + '{"_id": "java", "text": "again"}\n')

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path)).replace("{dead}", dead)

    args, message = [fill(a) for a in args], fill(message)
    out = tmp_path / "results.json"
    p = run_cli(*args, *(["--output", str(out)] if args[0] == "retrieval" else []),
                env={k: fill(v) for k, v in env.items()})
    lines = [ln for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith(("  ", "I1", "E1", "W1"))
             and "Warning" not in ln]
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1, p.stderr
    if message.endswith("…"):
        assert lines[0].startswith(message[:-1]), lines[0]
    else:
        assert lines[0] == message, lines[0]
    assert not out.exists() and not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_cli_rag_with_the_llm_down_keeps_every_row_with_its_reason(milvus, tmp_path):
    """An unreachable LLM is not a crash: each row is stored with 'generation failed: …', the run is 'failed'
    (every row failed: exit 1 with the reason, no output file), and the rows can be retried once the LLM is back."""
    from rag.runs import RunStore

    out = tmp_path / "rag.json"
    p = run_cli("rag", "--dataset", "sample", "--models", "bm25", "--limit", "2", "--retries", "0", "--timeout", "5",
                "--generator", f"compat:m@{dead_url()}/v1", "--output", str(out))
    run = RunStore.default().get("latest")
    reason = "every row failed: generation failed: APIConnectionError: Connection error."
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip().splitlines()[-1] == f"error: run {run.id} failed: {reason}"
    assert "status failed · rows 2/2 · with failures 2" in p.stdout, p.stdout
    assert not out.exists() and (run.status, run.error) == ("failed", reason)
    rows = RunStore.default().rows(run.id)
    assert [r["errors"]["generation"] for r in rows] == ["generation failed: APIConnectionError: Connection error."] * 2
    assert all(r.get("response") in (None, "") for r in rows)
    assert all(isinstance(r["scores"]["nonllm_context_recall"], float) for r in rows)  # needs no LLM: still scored


# ---------------------------------------------------------------------------------- 5. HTTP service

@pytest.fixture(scope="module")
def service(milvus):
    from fastapi.testclient import TestClient

    from loadtests.service import create_app
    from loadtests.service_state import ServiceConfig, ServiceState

    state = ServiceState(ServiceConfig(dataset="sample", models=["bm25"],
                                       generator=f"compat:m@{dead_url()}/v1"), log=lambda msg: None)
    with TestClient(create_app(state)) as client:
        yield client


SERVICE_CASES = [
    # (case, path, body, status, what the JSON "detail" says)
    ("unknown-model", "/search", {"model": "nope", "query": "gc", "k": 3}, 404, "unknown model 'nope'; known: bm25"),
    ("negative-k", "/search", {"model": "bm25", "query": "gc", "k": -1}, 422, "greater than or equal to 1"),
    ("k-too-large", "/search", {"model": "bm25", "query": "gc", "k": 10_000}, 422, "less than or equal to 100"),
    ("empty-query", "/search", {"model": "bm25", "query": "", "k": 3}, 422, "at least 1 character"),
    ("huge-query", "/search", {"model": "bm25", "query": "x" * 2001, "k": 3}, 422, "at most 2000 characters"),
    ("missing-field", "/search", {"model": "bm25"}, 422, "Field required"),
    ("llm-down", "/rag", {"model": "bm25", "question": "auto garbage collection", "k": 2}, 502,
     "generator compat:m@http://127.0.0.1:"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case,path,body,status,detail", SERVICE_CASES, ids=[c[0] for c in SERVICE_CASES])
def test_service_refuses_bad_requests_and_stays_up(service, case, path, body, status, detail):
    r = service.post(path, json=body)
    assert r.status_code == status, r.text
    assert detail in json.dumps(r.json()["detail"]), r.text
    if case == "llm-down":
        assert "APIConnectionError" in r.json()["detail"]
    assert service.get("/health").json()["status"] == "ok"


@pytest.mark.slow
def test_service_answers_quotes_backslashes_and_html_in_queries(service):
    want = {'auto "garbage" collection': ["elixir", "perl", "ruby"],
            "c:\\path\\to it's": ["objective-c", "zig", "dart"], "<script>alert(1)</script>": ["bash", "lua", "kotlin"],
            "' OR 1=1 --": ["kotlin", "rust"]}  # measured; BM25 returns only documents sharing a term
    for q, ids in want.items():
        r = service.post("/search", json={"model": "bm25", "query": q, "k": 3})
        assert r.status_code == 200, (q, r.text)
        assert [h["id"] for h in r.json()["hits"]] == ids, q


@pytest.mark.slow
def test_service_reports_milvus_down_and_stays_up(tmp_path):
    """Milvus stops under a running service: searches answer 503 naming Milvus, /health still answers."""
    from fastapi.testclient import TestClient

    from loadtests.service import create_app
    from loadtests.service_state import ServiceConfig, ServiceState
    from rag.processes import stop_process

    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    with open(tmp_path / "milvus.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "m"),
                                 "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        from rag.milvus.server import _answers

        deadline = time.monotonic() + 60
        while not _answers(uri, timeout=2):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "milvus.log").read_text()
            time.sleep(0.3)
        state = ServiceState(ServiceConfig(dataset="sample", models=["bm25"], milvus_uri=uri), log=lambda m: None)
        with TestClient(create_app(state)) as client:
            assert client.post("/search", json={"model": "bm25", "query": "gc", "k": 2}).status_code == 200
            stop_process(proc)
            t = time.monotonic()
            r = client.post("/search", json={"model": "bm25", "query": "gc", "k": 2})
            assert r.status_code == 503, r.text
            assert r.json()["detail"].startswith(f"Milvus at {uri} failed: "), r.text
            assert time.monotonic() - t < 60, "a dead Milvus must fail fast, not hang the request"
            assert client.get("/health?deep=true").status_code == 503
            assert client.get("/health").json()["status"] == "ok"
    finally:
        stop_process(proc)


# ----------------------------------------------------------------------------- 6. the app's pages

@pytest.mark.slow
def test_index_page_unknown_and_negative_inputs_keep_the_app_up(milvus, unchanged):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "2_Index.py"), default_timeout=180).run()
    at.text_input[0].set_value("st:/no/such/model, oai:x@" + dead_url() + "/v1").run()
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["st:/no/such/model: no sentence-transformers folder at /no/such/model"]


@pytest.mark.slow
def test_data_page_bad_folder_keeps_the_current_dataset(milvus, tmp_path, unchanged):
    from streamlit.testing.v1 import AppTest

    folder = _beir_folder(tmp_path, CORPUS_JSONL + '{"_id": "empty", "text": "  "}\n')
    at = AppTest.from_file(str(ROOT / "pages" / "1_Data.py"), default_timeout=180).run()
    at.radio[0].set_value("BEIR folder").run()
    at.text_input[0].set_value(folder).run()
    at.button[0].click().run()
    assert not at.exception
    assert at.error[0].value == "Not loaded: corpus.jsonl, line 3, field 'text': empty text"
    assert "Dataset **sample**: 31 documents" in at.caption[0].value
