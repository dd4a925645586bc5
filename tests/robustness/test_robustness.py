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
import zipfile

import pytest

from evaluators.retrieval.evaluate import evaluate_retrieval
from rag.data.dataset import DatasetError, Document, Query
from tests.support.robustness_inputs import (
    CORPUS,
    CORPUS_JSONL,
    QRELS_HEADER,
    QUERIES_JSONL,
    QUESTIONS,
    beir_zip,
    documents,
    tables,
)

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
    ("unsupported-type", tables(corpus_name="corpus.numbers"),
     "corpus.numbers: unsupported table type '.numbers' (use .csv, .tsv, .jsonl, .ndjson, .parquet, .xlsx, .xls)"),
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
    ("not-a-zip", lambda: __import__("rag.data.beir").data.beir.load_beir(("set.zip", b"PK\x03\x04 truncated")),
     "set.zip: not a readable zip file"),
    ("zip-member-over-limit", lambda: _zip_bomb(),
     "corpus.jsonl: file is 8.0 MB, over the 1.0 MB limit (raise WORKBENCH_MAX_UPLOAD_MB or pass max_bytes)"),
    ("corrupt-pdf", documents(("manual.pdf", b"%PDF-1.4\n1 0 obj garbage")), "manual.pdf: not a readable PDF: "),
    ("same-file-twice", documents(("a.md", b"# A\ntext"), ("a.md", b"# A\nother")),
     "a.md: two files have this name, so their chunk ids would clash (rename one of them)"),
]


def _zip_bomb():
    """A tiny zip whose corpus.jsonl inflates to 8 MB: refused from the header, before inflating."""
    from rag.data.beir import load_beir

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
    from rag.data.validation import build_dataset

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
    from rag.data.validation import build_dataset

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
    from rag.data.validation import build_dataset

    ds = build_dataset("robust-longid", [Document("a" * 600, "Long", "text"), Document("b", "B", "text")],
                       [Query("q", "text")], {"q": {"b": 1}})
    with pytest.raises(Exception) as err:
        retriever.index(ds, ["bm25"])
    assert "VARCHAR field 'id' value length 600 exceeds max_length=512" in str(err.value)


# --------------------------------------------------------------------------------- 3. HTML and JS

def test_html_and_script_in_data_are_escaped_in_reports(retriever):
    """Dataset names, titles and run settings are user text: in the HTML report they are inert."""
    from evaluators.report.build import build_report
    from evaluators.retrieval.evaluate import evaluate_retrieval, save_run
    from rag.data.validation import build_dataset
    from rag.runs import RunStore

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


