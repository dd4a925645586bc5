"""Loaders: the sample, BEIR (SciFact), tables with a mapping, plain documents, and every error a
user can make in a file, each reported with file, line and field."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from rag.data.beir import load_beir
from rag.data.dataset import DatasetError, Document, Query
from rag.data.documents import load_documents
from rag.data.loaders import load_dataset
from rag.data.samples.text import load_sample
from rag.data.tables import (
    default_mapping,
    load_corpus_table,
    load_questions_table,
    load_table,
    load_table_dataset,
    table_columns,
)
from rag.data.validation import build_dataset

SCIFACT = Path(__file__).resolve().parents[3] / "shared/datasets/scifact"


def assert_where(err: pytest.ExceptionInfo, file: str, line: int | None, field: str | None, *words: str):
    """The error names the file, the line and the field, in the exception and in its text."""
    e, text = err.value, str(err.value)
    assert e.file == file and file in text, text
    assert e.line == line, text
    if line is not None:
        assert f"line {line}" in text
    assert e.field == field, text
    if field is not None:
        assert f"'{field}'" in text
    for word in words:
        assert word in text, text


# --- sample --------------------------------------------------------------------------------------

def test_sample_shape():
    ds = load_sample()
    assert (ds.name, ds.source) == ("sample", "sample")
    assert len(ds.documents) >= 30 and 15 <= len(ds.queries) == len(ds.judged_queries)
    for d in ds.documents:
        assert d.title and 60 <= len(d.text.split()) <= 120, d.id
    assert ds.doc("golang").title == "Golang" and ds.doc("java").title == "Java"
    assert (ds.title("golang"), ds.title("no-such-doc")) == ("Golang", "")  # a reply's titles: unknown ids ""
    assert all(q.reference and q.reference.count(".") <= 3 for q in ds.queries)
    assert all(set(ds.qrels[q.id]) <= {d.id for d in ds.documents} for q in ds.queries)
    assert {g for judged in ds.qrels.values() for g in judged.values()} <= {1, 2}


def test_sample_article_questions_exact():
    ds = load_sample()
    by_text = {q.text: q.id for q in ds.queries}
    assert ds.relevant(by_text["auto garbage collection"]) == dict.fromkeys(
        ["java", "python", "javascript", "golang"], 1)
    assert ds.relevant(by_text["suite for web backend server development"]) == dict.fromkeys(
        ["java", "javascript", "php", "python"], 1)


def test_sample_judgments_agree_with_texts():
    ds = load_sample()
    by_text = {q.text: q.id for q in ds.queries}
    assert ds.relevant(by_text["typed superset of JavaScript"]) == {"typescript": 2}
    assert "garbage collector" in ds.doc("rust").text and "without a garbage collector" in ds.doc("rust").text
    for doc_id in ds.relevant(by_text["auto garbage collection"]):
        assert "garbage collect" in ds.doc(doc_id).text


# --- BEIR ----------------------------------------------------------------------------------------

@pytest.mark.skipif(not SCIFACT.is_dir(), reason="SciFact not present")
def test_scifact_counts():
    # its speed is a benchmark's (benchmarks/bench_retrieval_scifact.py), not asserted here: a loaded CI machine
    ds = load_dataset(str(SCIFACT))
    assert (len(ds.documents), len(ds.queries)) == (5183, 300)
    assert sum(len(j) for j in ds.qrels.values()) == 339
    assert len(ds.judged_queries) == 300 and ds.name == "scifact"


def write_beir(folder: Path, corpus: str | bytes | None = None, queries: str | bytes | None = None,
               qrels: str | bytes | None = None, split: str = "test") -> Path:
    corpus = corpus if corpus is not None else (
        '{"_id": "d1", "title": "Java", "text": "Java is garbage collected."}\n'
        '{"_id": "d2", "title": "C", "text": "C has manual memory management."}\n')
    queries = queries if queries is not None else (
        '{"_id": "q1", "text": "garbage collection", "metadata": {"answer": "Java."}}\n'
        '{"_id": "q2", "text": "unjudged question"}\n')
    qrels = qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t1\n"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    for rel, content in (("corpus.jsonl", corpus), ("queries.jsonl", queries), (f"qrels/{split}.tsv", qrels)):
        (folder / rel).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def test_beir_keeps_judged_queries_and_reads_answers(tmp_path):
    ds = load_beir(write_beir(tmp_path / "mini"))
    assert [q.id for q in ds.queries] == ["q1"] and ds.queries[0].reference == "Java."
    assert ds.qrels == {"q1": {"d1": 1}} and ds.name == "mini" and len(ds.documents) == 2


def test_beir_bom_crlf_and_blank_lines(tmp_path):
    corpus = b'\xef\xbb\xbf{"_id": "d1", "title": "", "text": "A"}\r\n\r\n{"_id": "d2", "text": "B"}\r\n'
    qrels = b"\xef\xbb\xbfquery-id\tcorpus-id\tscore\r\nq1\td2\t2\r\n"
    ds = load_beir(write_beir(tmp_path, corpus=corpus, qrels=qrels))
    assert [d.id for d in ds.documents] == ["d1", "d2"] and ds.qrels == {"q1": {"d2": 2}}


def test_beir_zip_upload(tmp_path):
    folder = write_beir(tmp_path / "mini")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in folder.rglob("*"):
            if p.is_file():
                z.write(p, "mini/" + p.relative_to(folder).as_posix())
    ds = load_beir(("mini.zip", buf.getvalue()))
    assert ds.name == "mini" and ds.qrels == {"q1": {"d1": 1}} and ds.source == "mini.zip"


@pytest.mark.parametrize("kwargs, file, line, field, words", [
    ({"corpus": '{"_id": "d1", "text": "A"}\n\n{"_id": "d2", "text": "B"\n'},
     "corpus.jsonl", 3, None, ["invalid JSON"]),
    ({"corpus": '{"_id": "d1", "text": "A"}\n{"_id": "d1", "text": "B"}\n'},
     "corpus.jsonl", 2, "_id", ["duplicate id 'd1'", "lines 1 and 2"]),
    ({"corpus": '{"_id": "d1", "text": "A"}\n{"_id": "d2", "title": "", "text": "  "}\n'},
     "corpus.jsonl", 2, "text", ["empty text"]),
    ({"corpus": '{"_id": "d1", "text": "A"}\n{"title": "x", "text": "B"}\n'},
     "corpus.jsonl", 2, "_id", ["missing id"]),
    ({"queries": '{"_id": "q1", "text": ""}\n'}, "queries.jsonl", 1, "text", ["empty text"]),
    ({"queries": '{"_id": "q1", "text": "a"}\n{"_id": "q1", "text": "b"}\n'},
     "queries.jsonl", 2, "_id", ["lines 1 and 2"]),
    ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td9\t1\n"},
     "qrels/test.tsv", 3, "corpus-id", ["unknown document 'd9'"]),
    ({"qrels": "query-id\tcorpus-id\tscore\r\nq7\td1\t1\r\n"},
     "qrels/test.tsv", 2, "query-id", ["unknown query 'q7'"]),
    ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"},
     "qrels/test.tsv", 2, "score", ["must be an integer", "'high'"]),
    ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\n"}, "qrels/test.tsv", 2, None, ["expected 3"]),
    ({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n"},
     "qrels/test.tsv", 3, "score", ["conflicting", "lines 2 and 3"]),
    ({"qrels": "query-id\tcorpus-id\tscore\n"}, "qrels/test.tsv", None, None, ["no judgments"]),
    ({"corpus": ""}, "corpus.jsonl", None, None, ["empty file"]),
    ({"corpus": b'{"_id": "d1", "text": "A"}\n{"_id": "d2", "text": "caf\xe9"}\n'},
     "corpus.jsonl", 2, None, ["not valid UTF-8"]),
    ({"corpus": '["d1", "A"]\n'}, "corpus.jsonl", 1, None, ["expected a JSON object"]),
])
def test_beir_errors(tmp_path, kwargs, file, line, field, words):
    with pytest.raises(DatasetError) as err:
        load_beir(write_beir(tmp_path, **kwargs))
    assert_where(err, file, line, field, *words)


def test_beir_missing_split_lists_splits(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_beir(write_beir(tmp_path, split="train"))
    assert_where(err, "qrels/test.tsv", None, None, "splits found: train")


def test_beir_size_limit(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_beir(write_beir(tmp_path), max_bytes=50)
    assert "over the" in str(err.value) and "limit" in str(err.value)


def test_load_dataset_specs(tmp_path):
    assert load_dataset("sample").name == "sample"
    assert load_dataset(str(write_beir(tmp_path / "mini"))).name == "mini"
    with pytest.raises(DatasetError, match="no dataset") as err:
        load_dataset(str(tmp_path / "nope"))
    assert "BEIR" in str(err.value)
    (tmp_path / "x.csv").write_text("id,text\n1,a\n")
    with pytest.raises(DatasetError, match="x.csv: a single file is not a dataset \\(give two tables"):
        load_dataset(str(tmp_path / "x.csv"))


# --- tables --------------------------------------------------------------------------------------

CORPUS_ROWS = [{"doc_id": "java", "name": "Java", "body": "Garbage collected."},
               {"doc_id": "c", "name": "C", "body": "Manual memory."}]
QUESTION_ROWS = [{"question": "gc?", "answer": "Java.", "relevant_ids": "java"},
                 {"question": "manual?", "answer": "C.", "relevant_ids": "c|java"}]


def test_csv_tables_with_mapping(tmp_path):
    (tmp_path / "docs.csv").write_text('doc_id,name,body\njava,Java,"Garbage\ncollected."\nc,C,Manual memory.\n')
    (tmp_path / "qs.csv").write_text("question,answer,relevant_ids\ngc?,Java.,java\nmanual?,C.,c;java\n")
    mapping = {"id": "doc_id", "title": "name", "text": "body"}
    docs = load_corpus_table(tmp_path / "docs.csv", mapping)
    assert docs[0] == Document("java", "Java", "Garbage\ncollected.")
    queries, qrels = load_questions_table(tmp_path / "qs.csv")  # guessed mapping; ids by row
    assert queries[1] == Query("q2", "manual?", "C.") and qrels == {"q1": {"java": 1}, "q2": {"c": 1, "java": 1}}
    ds = load_table_dataset(tmp_path / "docs.csv", tmp_path / "qs.csv", corpus_mapping=mapping, name="t")
    assert ds.name == "t" and ds.relevant("q2") == {"c": 1, "java": 1}


def test_jsonl_and_parquet_tables(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = "".join(json.dumps(r) + "\n" for r in CORPUS_ROWS)
    docs = load_corpus_table(("docs.jsonl", jsonl.encode()), {"id": "doc_id", "text": "body"})
    assert [d.id for d in docs] == ["java", "c"] and docs[0].title == ""
    rows = [dict(r, relevant_ids=["java", "c"] if i else ["java"], qid=i + 10) for i, r in enumerate(QUESTION_ROWS)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "qs.parquet")
    queries, qrels = load_table(tmp_path / "qs.parquet", "questions",
                                {"id": "qid", "text": "question", "relevant": "relevant_ids"})
    assert [q.id for q in queries] == ["10", "11"] and queries[0].reference is None
    assert qrels == {"10": {"java": 1}, "11": {"java": 1, "c": 1}}
    assert table_columns(tmp_path / "qs.parquet") == ["question", "answer", "relevant_ids", "qid"]


def test_json_list_bom_crlf_semicolon_csv():
    data = '\ufeffid;question;relevant\r\n1;What?;"[""a"", ""b""]"\r\n'.encode()
    queries, qrels = load_questions_table(("qs.csv", data))
    assert queries == [Query("1", "What?")] and qrels == {"1": {"a": 1, "b": 1}}


def test_default_mapping_guesses():
    assert default_mapping(["_id", "Title", "content"], "corpus") == {"id": "_id", "title": "Title", "text": "content"}
    assert default_mapping(["Query", "ground_truth", "relevant"], "questions") == {
        "id": None, "text": "Query", "reference": "ground_truth", "relevant": "relevant"}
    assert default_mapping(["x"], "corpus") == {"id": None, "title": None, "text": None}


@pytest.mark.parametrize("content, mapping, line, field, words", [
    ("id,words\n1,a\n", None, 1, "text", ["missing required column", "columns: id, words", "expected one of: text"]),
    ("id,text\n1,a\n", {"id": "id", "text": "txt"}, 1, "txt", ["not in the file", "columns: id, text"]),
    ("id,text\n1,a\n", {"id": "id", "text": "text", "colour": "id"}, None, "colour", ["unknown mapping role"]),
    ("id,text\n1,a\n1,b\n", None, 3, "id", ["duplicate id '1'", "lines 2 and 3"]),
    ("id,text\n1,a\n2,  \n", None, 3, "text", ["empty text"]),
    ('id,text\n1,"multi\nline"\n2,a,extra\n', None, 4, None, ["3 values", "2 columns"]),
    ("id,text\n", None, 1, None, ["no rows"]),
    ("id,text,text\n1,a,b\n", None, 1, "text", ["duplicate column"]),
])
def test_table_errors(content, mapping, line, field, words):
    with pytest.raises(DatasetError) as err:
        load_corpus_table(("docs.csv", content.encode()), mapping)
    assert_where(err, "docs.csv", line, field, *words)


def test_table_unknown_relevant_document_names_question_line():
    docs = [Document("java", "Java", "text")]
    with pytest.raises(DatasetError) as err:
        load_table_dataset(docs, ("qs.csv", b'question,relevant\nok?,java\nbad?,"java, python"\n'))
    assert_where(err, "qs.csv", 3, "relevant", "unknown document 'java, python'", "';' or '|'")
    with pytest.raises(DatasetError) as err:  # unquoted comma: one value too many
        load_table_dataset(docs, ("qs.csv", b"question,relevant\nok?,java\nbad?,java, python\n"))
    assert_where(err, "qs.csv", 3, None, "3 values")


def test_table_file_errors(tmp_path):
    with pytest.raises(DatasetError) as err:
        table_columns(("docs.numbers", b"PK"))
    assert_where(err, "docs.numbers", None, None, "unsupported", ".csv")
    with pytest.raises(DatasetError) as err:
        table_columns(("docs.jsonl", b'{"id": 1}\n{"id": 2, }\n'))
    assert_where(err, "docs.jsonl", 2, None, "invalid JSON")
    with pytest.raises(DatasetError) as err:
        table_columns(("docs.csv", b"id,text\n1,\xff\n"))
    assert_where(err, "docs.csv", 2, None, "UTF-8")
    with pytest.raises(DatasetError) as err:
        table_columns(("docs.csv", b"id,text\n" + b"1,a\n" * 100), max_bytes=100)
    assert_where(err, "docs.csv", None, None, "limit")
    with pytest.raises(DatasetError) as err:
        table_columns(("docs.parquet", b"not parquet"))
    assert_where(err, "docs.parquet", None, None, "Parquet")
    with pytest.raises(DatasetError) as err:
        table_columns(tmp_path / "missing.csv")
    assert_where(err, "missing.csv", None, None, "file not found")
    with pytest.raises(DatasetError) as err:
        load_questions_table(("q.jsonl", b'{"question": "a", "relevant": "[\\"x\\""}\n'))
    assert_where(err, "q.jsonl", 1, "relevant", "invalid JSON list")


# --- build_dataset -------------------------------------------------------------------------------

def test_build_dataset_validates_cross_references():
    docs = [Document("a", "", "x"), Document("b", "", "y")]
    ds = build_dataset("d", docs, [Query("q", "?")], {"q": {"a": 1}}, source="s")
    assert ds.relevant("q") == {"a": 1} and ds.source == "s"
    with pytest.raises(DatasetError, match="unknown document 'z'"):
        build_dataset("d", docs, [Query("q", "?")], {"q": {"z": 1}})
    with pytest.raises(DatasetError, match="unknown query 'p'"):
        build_dataset("d", docs, [Query("q", "?")], {"p": {"a": 1}})
    with pytest.raises(DatasetError, match="duplicate document id 'a'"):
        build_dataset("d", docs + [Document("a", "", "z")], [], {})
    with pytest.raises(DatasetError, match="no documents"):
        build_dataset("d", [], [], {})


# --- documents -----------------------------------------------------------------------------------

def test_txt_chunking_respects_size_and_overlap(tmp_path):
    words = [f"w{i:04d}" for i in range(300)]
    (tmp_path / "notes.txt").write_text(" ".join(words))
    chunks = load_documents([tmp_path / "notes.txt"], chunk_size=100, chunk_overlap=30)
    assert len(chunks) > 10 and all(len(c.text) <= 100 for c in chunks)
    assert [c.id for c in chunks[:2]] == ["notes.txt#1", "notes.txt#2"] and chunks[0].title == "notes.txt"
    for a, b in zip(chunks, chunks[1:], strict=False):
        first = b.text.split()[0]
        assert first in a.text.split()  # the next chunk starts inside the previous one
    seen = " ".join(c.text for c in chunks).split()
    assert set(seen) == set(words)


def test_markdown_upload_splits_on_headings():
    md = "# Intro\n\n" + "Alpha text. " * 20 + "\n\n## Details\n\n" + "Beta text. " * 20
    chunks = load_documents(("guide.md", md.encode()), chunk_size=200, chunk_overlap=0)
    assert chunks[0].text.startswith("# Intro") and any(c.text.startswith("## Details") for c in chunks)


def make_pdf(pages: list[str]) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for text in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject("/F1"): font})})
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        page.replace_contents(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_pdf_pages_become_titled_chunks(tmp_path):
    (tmp_path / "manual.pdf").write_bytes(make_pdf(["Java is garbage collected", "Rust has ownership"]))
    chunks = load_documents([tmp_path / "manual.pdf", ("n.txt", b"plain")])
    assert [(c.id, c.title, c.text) for c in chunks] == [
        ("manual.pdf#1", "manual.pdf (page 1)", "Java is garbage collected"),
        ("manual.pdf#2", "manual.pdf (page 2)", "Rust has ownership"),
        ("n.txt#1", "n.txt", "plain")]


def test_document_errors():
    with pytest.raises(DatasetError) as err:
        load_documents(("scan.pdf", make_pdf(["", ""])))
    assert_where(err, "scan.pdf", None, None, "no text found", "OCR")
    with pytest.raises(DatasetError) as err:
        load_documents(("bad.pdf", b"%PDF-1.4 garbage"))
    assert_where(err, "bad.pdf", None, None, "not a readable PDF")
    with pytest.raises(DatasetError) as err:
        load_documents([("a.txt", b"x"), ("a.txt", b"y")])
    assert_where(err, "a.txt", None, None, "chunk ids would clash")
    with pytest.raises(DatasetError) as err:
        load_documents(("a.pages", b"x"))
    assert_where(err, "a.pages", None, None, "unsupported")
    with pytest.raises(DatasetError) as err:
        load_documents(("empty.md", b"  \n"))
    assert_where(err, "empty.md", None, None, "empty file")
    with pytest.raises(DatasetError) as err:
        load_documents(("latin.txt", b"ok\ncaf\xe9\n"))
    assert_where(err, "latin.txt", 2, None, "not valid UTF-8")
    with pytest.raises(ValueError):
        load_documents(("a.txt", b"x"), chunk_size=100, chunk_overlap=100)
