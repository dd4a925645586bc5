"""The files people keep their data in: Excel (.xlsx, .xls) tables and Word / HTML documents, read from
real files written by the tests, and every way such a file can be wrong, each one exact line naming the
file, the sheet, the row and the column as Excel shows them."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.data.dataset import DatasetError
from rag.data.documents import load_documents
from rag.data.loaders import load_dataset
from rag.data.office import column_letter, html_text, sheet_names
from rag.data.tables import load_corpus_table, load_questions_table, load_table_dataset, table_columns
from tests.support.office_files import Formula, encrypted, word, xls, xlsx

DOCS = [["id", "title", "text"],
        [101, "Java", "Java has a garbage collector."],
        [102, "Python", Formula('="Python "&"reads like English."', "Python reads like English.")],
        [103, "Release", dt.date(2024, 5, 1)]]
QUESTIONS = [["question", "answer", "relevant"],
             ["Which language collects garbage?", "Java", 101],
             ["Which one reads like English?", "Python", "102;103"]]


def corpus(rows=DOCS, **kw) -> tuple[str, bytes]:
    return "docs.xlsx", xlsx({"Docs": rows}, **kw)


def questions(rows=QUESTIONS) -> tuple[str, bytes]:
    """The questions on the second sheet, after a sheet of notes with nothing on it."""
    return "faq.xlsx", xlsx({"Notes": [], "Questions": [[None], *rows]})  # header on row 2


def test_a_workbook_loads_like_a_csv_with_what_excel_shows():
    ds = load_table_dataset(corpus(), questions(), questions_mapping={"sheet": "Questions"}, name="office")
    assert [(d.id, d.title, d.text) for d in ds.documents] == [
        ("101", "Java", "Java has a garbage collector."),       # 101 is stored as the number 101.0
        ("102", "Python", "Python reads like English."),        # the formula's saved value
        ("103", "Release", "2024-05-01")]                       # a date cell, as ISO text
    assert [(q.id, q.text, q.reference) for q in ds.queries] == [
        ("q1", "Which language collects garbage?", "Java"), ("q2", "Which one reads like English?", "Python")]
    assert ds.qrels == {"q1": {"101": 1}, "q2": {"102": 1, "103": 1}}
    assert ds.source == "docs.xlsx + faq.xlsx"


def test_sheets_and_their_columns_for_the_mapping_pickers():
    name, data = questions()
    assert sheet_names(name, data) == ["Notes", "Questions"]
    assert table_columns((name, data), sheet="Questions") == ["question", "answer", "relevant"]
    assert table_columns(corpus()) == ["id", "title", "text"]  # the first sheet when none is named
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 701, 702)] == ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]


def test_an_old_xls_reads_the_same():
    rows = [["id", "text"], [1, "Java has a garbage collector."], [2, "Python reads like English."]]
    docs = load_corpus_table(("old.xls", xls({"Corpus": rows})))
    assert [(d.id, d.text) for d in docs] == [("1", "Java has a garbage collector."),
                                              ("2", "Python reads like English.")]
    queries, qrels = load_questions_table(("old.xls", xls({"Q": [["query", "relevant"], ["gc?", "1|2"]]})))
    assert [(q.id, q.text) for q in queries] == [("q1", "gc?")] and qrels == {"q1": {"1": 1, "2": 1}}


def test_a_merged_data_cell_fills_its_range():
    rows = [["id", "title", "text"], ["a", "Shared title", "first"], ["b", None, "second"]]
    docs = load_corpus_table(corpus(rows, merges={"Docs": ["B2:B3"]}))
    assert [(d.id, d.title) for d in docs] == [("a", "Shared title"), ("b", "Shared title")]


HINT = "(open it in Excel and save it again as .xlsx, or export CSV)"
TABLE_ERRORS = [
    ("first sheet empty", lambda: load_table_dataset(corpus(), questions()),
     "faq.xlsx, sheet 'Notes': the sheet is empty (the sheets are Notes, Questions: pick one)"),
    ("no such sheet", lambda: load_table_dataset(corpus(), questions(), questions_mapping={"sheet": "FAQ"}),
     "faq.xlsx: no sheet 'FAQ'; sheets: Notes, Questions"),
    ("blank question", lambda: load_table_dataset(corpus(), questions([*QUESTIONS, [None, "x", 101]]),
                                                  questions_mapping={"sheet": "Questions"}),
     "faq.xlsx, sheet 'Questions', row 5, column A 'question': empty text"),
    ("unknown document", lambda: load_table_dataset(corpus(), questions([*QUESTIONS, ["q?", None, 999]]),
                                                    questions_mapping={"sheet": "Questions"}),
     "faq.xlsx, sheet 'Questions', row 5, column C 'relevant': unknown document '999' (not an id in docs.xlsx) "
     "(separate several ids with ';' or '|')"),
    ("duplicate id", lambda: load_corpus_table(corpus([*DOCS, [101, "Again", "dup"]])),
     "docs.xlsx, sheet 'Docs', row 5, column A 'id': duplicate id '101' (rows 2 and 5)"),
    ("merged header", lambda: load_corpus_table(corpus([["id", "text", None], [1, "a"]], merges={"Docs": ["B1:C1"]})),
     "docs.xlsx, sheet 'Docs', row 1, column B: header cells B1:C1 are merged "
     "(unmerge them and give each column its own name)"),
    ("blank header", lambda: load_corpus_table(corpus([["id", "text", None], [1, "a", "stray"]])),
     "docs.xlsx, sheet 'Docs', row 1, column C: this column has values but no name in the header row "
     "(type a column name into the header cell)"),
    ("duplicate header", lambda: load_corpus_table(corpus([["id", "text", "text"], [1, "a", "b"]])),
     "docs.xlsx, sheet 'Docs', row 1, column C 'text': duplicate column name (also column B)"),
    ("header only", lambda: load_corpus_table(corpus([["id", "text"]])),
     "docs.xlsx, sheet 'Docs', row 1: no rows under the header"),
    ("mapped column missing", lambda: load_corpus_table(corpus(), {"id": "id", "text": "body"}),
     "docs.xlsx, sheet 'Docs', row 1, field 'body': column 'body' (mapped to 'text') is not in the file; "
     "columns: id, title, text"),
    ("id not a whole number", lambda: load_corpus_table(corpus([["id", "text"], [1.5, "a"]])),
     "docs.xlsx, sheet 'Docs', row 2, column A 'id': id must be a string, got float"),
    ("corrupt", lambda: load_corpus_table(("docs.xlsx", b"PK\x03\x04 not really a zip")),
     f"docs.xlsx: not a readable Excel file (Cannot detect file format) {HINT}"),
    ("a csv renamed", lambda: load_corpus_table(("docs.xls", b"id,text\n1,a\n")),
     f"docs.xls: not a readable Excel file (Cannot detect file format) {HINT}"),
    ("password", lambda: load_corpus_table(("docs.xlsx", encrypted(corpus()[1]))),
     "docs.xlsx: the workbook is password-protected (save a copy without the password)"),
    ("password, named .xls", lambda: load_corpus_table(("docs.xls", encrypted(corpus()[1]))),
     "docs.xls: the workbook is password-protected (save a copy without the password)"),
    ("old binary named .xlsx", lambda: load_corpus_table(("docs.xlsx", xls({"S": [["id", "text"], [1, "a"]]}))),
     "docs.xlsx: this is an old binary .xls file named .xlsx (rename it to .xls)"),
]


@pytest.mark.parametrize("case,load,message", TABLE_ERRORS, ids=[c[0] for c in TABLE_ERRORS])
def test_every_workbook_error_is_one_line_with_sheet_row_and_column(case, load, message):
    with pytest.raises(DatasetError) as err:
        load()
    assert str(err.value) == message


def test_a_workbook_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    rows = [["id", "text"]] + [[i, f"document number {i} " * 20] for i in range(2000)]
    path = tmp_path / "big.xlsx"
    path.write_bytes(xlsx({"Docs": rows}))
    size = path.stat().st_size
    with pytest.raises(DatasetError) as err:
        load_corpus_table(path, max_bytes=10_000)
    assert str(err.value) == (f"big.xlsx: file is {size:,} bytes, over the 10,000 bytes limit "
                              "(raise WORKBENCH_MAX_UPLOAD_MB or pass max_bytes)")
    assert len(load_corpus_table(path, max_bytes=size)) == 2000


# --- documents ------------------------------------------------------------------------------------

GUIDE = [("Title", "Milvus guide"), ("", "Milvus stores vectors."), ("List Bullet", "FLAT is exact"),
         ("table", [["index", "speed"], ["HNSW", "fast"]]), ("Heading 2", "BM25"), ("", "BM25 ranks words.")]
PAGE = b"""<!doctype html><html><head><title>T</title><style>p { color: red }</style>
<script>var tracking = 1;</script></head><body><nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
<h1>Hybrid   search</h1><p>RRF fuses
   two rankings.<br>Weights are optional.</p><ul><li>dense</li><li>sparse</li></ul>
<script>alert("x")</script><div role="navigation">Next page</div>
<table><tr><th>ranker</th><th>k</th></tr><tr><td>RRF</td><td>60</td></tr></table>
<footer>(c) 2026</footer></body></html>"""


def test_word_and_html_become_chunks_that_start_at_their_headings():
    chunks = load_documents([("guide.docx", word(GUIDE)), ("page.html", PAGE)], chunk_size=80, chunk_overlap=0)
    assert [(c.id, c.title, c.text) for c in chunks] == [
        ("guide.docx#1", "guide.docx", "# Milvus guide\n\nMilvus stores vectors.\n\n- FLAT is exact"),
        ("guide.docx#2", "guide.docx", "index | speed\nHNSW | fast"),                # a table stays whole
        ("guide.docx#3", "guide.docx", "## BM25\n\nBM25 ranks words."),
        ("page.html#1", "page.html", "# Hybrid search\n\nRRF fuses two rankings.\nWeights are optional.\n\n"
                                     "- dense\n- sparse"),  # no script, style, nav or footer
        ("page.html#2", "page.html", "ranker | k\nRRF | 60"),
    ]


def test_html_in_its_declared_charset_and_in_chinese():
    page = '<html><head><meta charset="gbk"></head><body><h2>混合检索</h2><p>RRF 融合两个排序。</p></body></html>'
    assert html_text("zh.html", page.encode("gbk")) == "## 混合检索\n\nRRF 融合两个排序。"
    assert html_text("zh.html", page.replace("gbk", "utf-8").encode()) == "## 混合检索\n\nRRF 融合两个排序。"


DOCUMENT_ERRORS = [
    ("docx password", ("guide.docx", encrypted(word(GUIDE))),
     "guide.docx: the document is password-protected (save a copy without the password)"),
    ("docx corrupt", ("guide.docx", b"PK\x03\x04 not really a zip"),
     "guide.docx: not a readable .docx file (BadZipFile: File is not a zip file) "
     "(open it in Word and save it again as .docx)"),
    ("html not utf-8", ("page.html", b"<p>ok</p>\n<p>caf\xe9</p>"),
     "page.html, line 2: not valid UTF-8 (byte 0xe9) (save the file as UTF-8)"),
    ("html only script", ("page.html", b"<script>alert(1)</script><nav>Home</nav>"), "page.html: no text found"),
]


@pytest.mark.parametrize("case,source,message", DOCUMENT_ERRORS, ids=[c[0] for c in DOCUMENT_ERRORS])
def test_every_document_error_is_one_line(case, source, message):
    with pytest.raises(DatasetError) as err:
        load_documents([source])
    assert str(err.value) == message


# --- the CLI's dataset argument: files --------------------------------------------------------------

def test_load_dataset_takes_tables_and_documents_by_path(tmp_path):
    (tmp_path / "docs.xlsx").write_bytes(corpus()[1])
    (tmp_path / "faq.xlsx").write_bytes(questions()[1])
    ds = load_dataset(f"{tmp_path}/docs.xlsx, {tmp_path}/faq.xlsx#Questions")
    assert (len(ds.documents), len(ds.queries), ds.name) == (3, 2, "faq")
    assert ds.source == f"{tmp_path}/docs.xlsx,{tmp_path}/faq.xlsx#Questions"  # a run can load it again
    assert load_dataset(ds.source).content_hash() == ds.content_hash()

    (tmp_path / "guide.docx").write_bytes(word(GUIDE))
    (tmp_path / "page.html").write_bytes(PAGE)
    (tmp_path / "qs.xls").write_bytes(xls({"Q": [["question", "relevant"], ["How does RRF fuse?", "page.html#1"]]}))
    ds = load_dataset(f"{tmp_path}/guide.docx,{tmp_path}/page.html,{tmp_path}/qs.xls")
    assert [d.id for d in ds.documents] == ["guide.docx#1", "page.html#1"]  # 800-character chunks
    assert ds.qrels == {"q1": {"page.html#1": 1}}

    with pytest.raises(DatasetError) as err:
        load_dataset(f"{tmp_path}/docs.xlsx,{tmp_path}/faq.xlsx")  # the first sheet of faq.xlsx is empty
    assert str(err.value) == "faq.xlsx, sheet 'Notes': the sheet is empty (the sheets are Notes, Questions: pick one)"
    with pytest.raises(DatasetError) as err:
        load_dataset(f"{tmp_path}/guide.docx,{tmp_path}/page.html")
    assert str(err.value).startswith("guide.docx: 2 documents and 0 tables are not a dataset (give two tables")
    with pytest.raises(DatasetError) as err:
        load_dataset(f"{tmp_path}/guide.docx#S,{tmp_path}/qs.xls")
    assert str(err.value).startswith("guide.docx: '#S': only a workbook has sheets (give two tables")
