"""Robustness catalogue: malformed and hostile input at every door (loaders, CLI, HTTP service, Milvus, LLM).

Each case states the exact message a user sees and checks that nothing was written or lost: the Milvus
collection list and the run store are compared before and after (``unchanged``), the CLI leaves no output
file, the service keeps answering. The README's Troubleshooting section lists the same cases for users;
keep them in step.

Known bugs are ``xfail(strict=True)`` with the fix in the reason: they turn red once fixed, so the mark
is removed together with the bug.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from evaluators.retrieval_eval import evaluate_retrieval
from rag.dataset import DatasetError, Document, Query
from tests.conftest import ROOT, free_port

# ------------------------------------------------------------------------------------------- fixtures

CORPUS = b"id,title,text\njava,Java,Java has a garbage collector.\npython,Python,Python counts references.\n"
QUESTIONS = b"id,question,relevant\nq1,auto garbage collection,java;python\n"
KNOWN_MODELS = ("minilm, bm25, hybrid, openai-3-small, openai-3-large; or st:FOLDER, oai:MODEL@BASE_URL, "
                "openai-3-small:DIMS")


def _runs_state() -> list[tuple]:
    from rag.runs import RunStore

    store = RunStore.default()
    return [(r.id, r.status, r.finished, len(store.rows(r.id))) for r in store.list(limit=100_000)]


@pytest.fixture
def unchanged(milvus, data_dir):
    """Nothing written, nothing lost: the same Milvus collections and the same runs (and rows) after."""
    client = milvus.client()
    collections, runs = sorted(client.list_collections()), _runs_state()
    yield
    assert sorted(client.list_collections()) == collections, "a collection was created or dropped"
    assert _runs_state() == runs, "the run store changed"


def tables(corpus: bytes = CORPUS, questions: bytes = QUESTIONS, corpus_name: str = "corpus.csv", **kw):
    """What the Data page does with two uploaded tables."""
    from rag.table_loaders import load_table_dataset

    return lambda: load_table_dataset((corpus_name, corpus), ("questions.csv", questions), **kw)


def beir_zip(corpus: str | bytes, queries: str, qrels: str):
    """What the Data page does with an uploaded BEIR .zip."""
    from rag.loaders import load_beir

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("set/corpus.jsonl", corpus)
        z.writestr("set/queries.jsonl", queries)
        z.writestr("set/qrels/test.tsv", qrels)
    return lambda: load_beir(("set.zip", buf.getvalue()))


CORPUS_JSONL = '{"_id": "java", "title": "Java", "text": "garbage collector"}\n' \
               '{"_id": "c", "title": "C", "text": "manual memory"}\n'
QUERIES_JSONL = '{"_id": "q1", "text": "auto garbage collection"}\n'
QRELS_HEADER = "query-id\tcorpus-id\tscore\n"


def documents(*files):
    from rag.loaders import load_documents_dataset

    return lambda: load_documents_dataset(list(files), name="docs")


# ------------------------------------------------------------------------------------- 1. loaders

LOADER_CASES = [
    # (case, load, exact message the Data page shows after "Not loaded: ")
    ("undecodable-bytes", tables(corpus=CORPUS + b"c,C,caf\xe9 cr\xe8me\n"),
     "corpus.csv, line 4: not valid UTF-8 (byte 0xe9) (save the file as UTF-8)"),
    ("utf16-file", tables(corpus=CORPUS.decode().encode("utf-16")),
     "corpus.csv, line 1: file is UTF-16, expected UTF-8 (save it again as UTF-8)"),
    ("missing-column", tables(questions=b"id,query_text\nq1,auto garbage collection\n"),
     "questions.csv, line 1, field 'text': missing required column for 'text'; the file has columns: id, "
     "query_text; expected one of: question, query, text, user_input, prompt (or map a column to it explicitly)"),
    ("mapped-column-absent", tables(corpus_mapping={"id": "doc_id", "text": "text"}),
     "corpus.csv, line 1, field 'doc_id': column 'doc_id' (mapped to 'id') is not in the file; columns: id, "
     "title, text"),
    ("duplicate-ids", tables(corpus=CORPUS + b"java,Java 2,Another Java.\n"),
     "corpus.csv, line 4, field 'id': duplicate id 'java' (lines 2 and 4)"),
    ("duplicate-header", tables(corpus=b"id,text,text\na,b,c\n"),
     "corpus.csv, line 1, field 'text': duplicate column in header"),
    ("ragged-row", tables(corpus=CORPUS + b"c,C\n"), "corpus.csv, line 4: 2 values but the header has 3 columns"),
    ("empty-file", tables(corpus=b""), "corpus.csv: empty file"),
    ("whitespace-only-file", tables(corpus=b"\r\n \n\t\n"), "corpus.csv: empty file"),
    ("header-only", tables(corpus=b"id,title,text\r\n"), "corpus.csv, line 1: no rows"),
    ("empty-text", tables(corpus=CORPUS + b"c,,\n"), "corpus.csv, line 4, field 'text': empty text"),
    ("empty-id", tables(corpus=CORPUS + b",C,text\n"), "corpus.csv, line 4, field 'id': empty id"),
    ("oversized-upload", tables(corpus=CORPUS + b"big,Big," + b"x" * (2 * 2**20) + b"\n", max_bytes=2**20),
     "corpus.csv: file is 2.0 MB, over the 1.0 MB limit (raise WORKBENCH_MAX_UPLOAD_MB or pass max_bytes)"),
    ("unsupported-type", tables(corpus_name="corpus.xlsx"),
     "corpus.xlsx: unsupported table type '.xlsx' (use .csv, .tsv, .jsonl, .ndjson, .parquet)"),
    ("relevant-unknown-id", tables(questions=b"id,question,relevant\nq1,auto gc,java;cobol\n"),
     "questions.csv, line 2, field 'relevant': unknown document 'cobol' (not an id in corpus.csv) "
     "(separate several ids with ';' or '|')"),
    ("relevant-bad-json", tables(questions=b'id,question,relevant\nq1,auto gc,"[""java"""\n'),
     "questions.csv, line 2, field 'relevant': invalid JSON list: Expecting ',' delimiter"),
    ("jsonl-invalid", beir_zip(CORPUS_JSONL + '{"_id": "x", text}\n', QUERIES_JSONL, QRELS_HEADER + "q1\tjava\t1\n"),
     "corpus.jsonl, line 3: invalid JSON: Expecting property name enclosed in double quotes at column 14"),
    ("jsonl-not-object", beir_zip(CORPUS_JSONL, '["q1", "text"]\n', QRELS_HEADER + "q1\tjava\t1\n"),
     "queries.jsonl, line 1: expected a JSON object, got list"),
    ("qrels-unknown-document", beir_zip(CORPUS_JSONL, QUERIES_JSONL, QRELS_HEADER + "q1\tjava\t1\nq1\tcobol\t1\n"),
     "qrels/test.tsv, line 3, field 'corpus-id': unknown document 'cobol' (not in corpus.jsonl)"),
    ("qrels-unknown-query", beir_zip(CORPUS_JSONL, QUERIES_JSONL, QRELS_HEADER + "q9\tjava\t1\n"),
     "qrels/test.tsv, line 2, field 'query-id': unknown query 'q9' (not in queries.jsonl)"),
    ("qrels-non-numeric", beir_zip(CORPUS_JSONL, QUERIES_JSONL, QRELS_HEADER + "q1\tjava\thigh\n"),
     "qrels/test.tsv, line 2, field 'score': relevance must be an integer, got 'high'"),
    ("qrels-conflict", beir_zip(CORPUS_JSONL, QUERIES_JSONL, QRELS_HEADER + "q1\tjava\t1\nq1\tjava\t2\n"),
     "qrels/test.tsv, line 3, field 'score': conflicting judgment for (q1, java) (lines 2 and 3)"),
    ("not-a-zip", lambda: __import__("rag.loaders").loaders.load_beir(("set.zip", b"PK\x03\x04 truncated")),
     "set.zip: not a readable zip file"),
    ("zip-member-over-limit", lambda: _zip_bomb(),
     "corpus.jsonl: file is 8.0 MB, over the 1.0 MB limit (raise WORKBENCH_MAX_UPLOAD_MB or pass max_bytes)"),
    ("corrupt-pdf", documents(("manual.pdf", b"%PDF-1.4\n1 0 obj garbage")), "manual.pdf: not a readable PDF: "),
    ("same-file-twice", documents(("a.md", b"# A\ntext"), ("a.md", b"# A\nother")),
     "a.md: two files have this name, so their chunk ids would clash (rename one of them)"),
]


def _zip_bomb():
    """A tiny zip whose corpus.jsonl inflates to 8 MB: refused from the header, before inflating."""
    from rag.loaders import load_beir

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("corpus.jsonl", b" " * (8 * 2**20))
        z.writestr("queries.jsonl", QUERIES_JSONL)
        z.writestr("qrels/test.tsv", QRELS_HEADER + "q1\tjava\t1\n")
    assert len(buf.getvalue()) < 2**20
    return load_beir(("bomb.zip", buf.getvalue()), max_bytes=2**20)


@pytest.mark.parametrize("case,load,message", LOADER_CASES, ids=[c[0] for c in LOADER_CASES])
def test_loader_refuses_with_file_line_and_field(case, load, message, unchanged):
    with pytest.raises(DatasetError) as err:
        load()
    text = str(err.value)
    assert text == message or (message.endswith((": ", "delimiter")) and text.startswith(message)), text
    assert "\n" not in text and "Traceback" not in text


def test_bom_crlf_and_quoted_newlines_are_fine():
    """Spreadsheet exports: a UTF-8 BOM, CRLF line ends, a quoted field spanning lines, ';' separators."""
    corpus = "\ufeffid;title;text\r\njava;Java;\"Java has a\r\ngarbage collector.\"\r\npython;Python;Refcounts.\r\n"
    ds = tables(corpus=corpus.encode(), questions=b"\xef\xbb\xbf" + QUESTIONS.replace(b"\n", b"\r\n"))()
    assert [d.id for d in ds.documents] == ["java", "python"]
    assert ds.doc("java").text == "Java has a\r\ngarbage collector." and ds.queries[0].text == "auto garbage collection"
    assert ds.qrels == {"q1": {"java": 1, "python": 1}}


def test_a_huge_field_in_jsonl_loads_and_indexes_clipped(retriever, unchanged):
    """A 1 MB document loads; Milvus gets it clipped to the VARCHAR limit, nothing fails."""
    from rag.validation import build_dataset

    big = "garbage " * 131_072
    ds = build_dataset("robust-huge", [Document("big", "Big", big), Document("small", "Small", "tiny text")],
                       [Query("q", "garbage")], {"q": {"big": 1}})
    try:
        res = evaluate_retrieval(retriever, ds, ["bm25"], k=2)
        assert res.rankings["bm25"]["q"][0][0] == "big"
    finally:
        _drop(retriever, "robust-huge")


def test_a_huge_field_in_csv_loads():
    ds = tables(corpus=CORPUS + b"big,Big," + b"word " * 40_000 + b"\n")()
    assert len(ds.doc("big").text) == 200_000 - 1


# ------------------------------------------------------------- 2. Milvus: ids, quotes, backslashes

HOSTILE_IDS = ['quote"d', "back\\slash", "it's", 'x" or id != "', "new\nline", "<b>html</b>"]


def _drop(retriever, dataset_name: str) -> None:
    for c in retriever.store.collections():
        if c["dataset"] == dataset_name:
            retriever.store.drop(c["name"])


@pytest.fixture
def hostile_dataset():
    from rag.validation import build_dataset

    docs = [Document(i, f"title {n} \\ \" '", f"garbage collection text {n} with \"quotes\" and \\backslash")
            for n, i in enumerate(HOSTILE_IDS)] + [Document("plain", "Plain", "nothing to see")]
    return build_dataset("robust-ids", docs, [Query("q1", 'garbage "collection" \\ it\'s')],
                         {"q1": {HOSTILE_IDS[0]: 1, HOSTILE_IDS[1]: 1}})


def test_quotes_and_backslashes_in_ids_and_text_survive_milvus(retriever, hostile_dataset):
    """Ids and queries with ", ', \\ and newlines go into Milvus as data, never as filter syntax."""
    try:
        res = evaluate_retrieval(retriever, hostile_dataset, ["bm25"], k=7)
        ranked = [d for d, _ in res.rankings["bm25"]["q1"]]
        assert set(ranked) == set(HOSTILE_IDS)  # "plain" shares no term with the query: not returned
        assert res.metrics["bm25"]["recall@7"] == 1.0
        name = res.collections["bm25"]
        assert retriever.store.row_count(name) == len(hostile_dataset.documents)
    finally:
        _drop(retriever, "robust-ids")


def test_fetch_by_hostile_ids(retriever, hostile_dataset):
    try:
        name = retriever.index(hostile_dataset, ["bm25"])["bm25"].name
        got = retriever.store.fetch(name, HOSTILE_IDS)
        assert set(got) == set(HOSTILE_IDS)
    finally:
        _drop(retriever, "robust-ids")


def test_an_id_too_long_for_milvus_leaves_no_collection(retriever, unchanged):
    """Milvus' id field holds 512 characters; a longer id fails the build, and the half-built collection
    is dropped (nothing half-written)."""
    from rag.validation import build_dataset

    ds = build_dataset("robust-longid", [Document("a" * 600, "Long", "text"), Document("b", "B", "text")],
                       [Query("q", "text")], {"q": {"b": 1}})
    with pytest.raises(Exception) as err:
        retriever.index(ds, ["bm25"])
    assert "VARCHAR field 'id' value length 600 exceeds max_length=512" in str(err.value)


# --------------------------------------------------------------------------------- 3. HTML and JS

def test_html_and_script_in_data_are_escaped_in_reports(retriever):
    """Dataset names, titles and run settings are user text: in the HTML report they are inert."""
    from evaluators.report import build_report
    from evaluators.retrieval_eval import evaluate_retrieval, save_run
    from rag.runs import RunStore
    from rag.validation import build_dataset

    evil = "<script>alert('x')</script>"
    img = '<img src=x onerror="alert(1)">'
    name = f"robust {evil}"
    ds = build_dataset(name, [Document("a", evil, "garbage collection"), Document("b", img, "other text")],
                       [Query("q1", f"garbage {img}", reference=evil)], {"q1": {"a": 1}})
    store = RunStore.default()
    run_id = None
    try:
        res = evaluate_retrieval(retriever, ds, ["bm25"], k=2)
        run_id = save_run(store, ds, res, {"note": img})
        html = build_report(store, [run_id], n_resamples=200)
    finally:
        if run_id:
            store.delete(run_id)
        _drop(retriever, name)
    assert evil not in html and img not in html and 'onerror="alert' not in html
    assert "robust &lt;script&gt;alert(" in html  # the dataset name, shown as text


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
     "error: README.md: a single file is not a dataset (tables need a column mapping: use "
     "load_table_dataset(corpus, questions), or pass 'sample' or a BEIR folder)"),
    ("missing-folder", ["retrieval", "--dataset", "/no/such/folder"], {},
     "error: no dataset '/no/such/folder': not 'sample' and no such folder (pass 'sample' or a path; a BEIR "
     "folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv)"),
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
        from rag.milvus_server import _answers

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
