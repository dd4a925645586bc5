"""AppTest of the Data page with Excel uploads: a wrong file refused in one line and replaced by the next
upload (no type= on the uploaders: Streamlit's own refusal left a red chip no valid file cleared), the
sheet picker choosing the sheet whose columns the pickers offer, and the workbook loaded."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.data.test_office import corpus, questions

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def by_label(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def test_data_page_loads_an_excel_workbook_sheet(milvus):
    at = AppTest.from_file(str(ROOT / "pages" / "1_Data.py"), default_timeout=120).run()
    at.radio[0].set_value("Tables (CSV / Excel / JSONL / Parquet)").run()
    corpus_box = by_label(at.file_uploader, "Corpus table")
    questions_box = by_label(at.file_uploader, "Questions table")
    assert corpus_box.allowed_type == [] and questions_box.allowed_type == []  # Python refuses, in one line

    corpus_box.set_value(("docs.docx", b"PK\x03\x04", "application/octet-stream")).run()
    assert [e.value for e in at.error] == ["docs.docx: unsupported table type '.docx' (use .csv, .tsv, .jsonl, "
                                           ".ndjson, .parquet, .xlsx, .xls)"]
    by_label(at.file_uploader, "Corpus table").set_value(("docs.xlsx", corpus()[1], XLSX)).run()
    assert not at.error  # the valid file replaced the wrong one, and its message went with it
    assert by_label(at.selectbox, "corpus · sheet").options == ["Docs"]
    assert [by_label(at.selectbox, f"corpus · {f}").value for f in ("id", "title", "text")] == ["id", "title", "text"]

    by_label(at.file_uploader, "Questions table").set_value(("faq.xlsx", questions()[1], XLSX)).run()
    sheet = by_label(at.selectbox, "questions · sheet")
    assert (sheet.options, sheet.value) == (["Notes", "Questions"], "Notes")  # the first sheet unless picked
    assert [e.value for e in at.error] == [
        "faq.xlsx, sheet 'Notes': the sheet is empty (the sheets are Notes, Questions: pick one)"]
    sheet.set_value("Questions").run()
    assert not at.error
    assert by_label(at.selectbox, "questions · text").options == ["—", "question", "answer", "relevant"]
    assert [by_label(at.selectbox, f"questions · {f}").value for f in ("text", "reference", "relevant")] == [
        "question", "answer", "relevant"]

    next(t for t in at.text_input if t.label == "Dataset name").set_value("office").run()
    next(b for b in at.button if b.label == "Load tables").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Loaded **office**."]
    caption = next(c.value for c in at.caption if c.value.startswith("Dataset **"))
    assert "3 documents, 2 judged questions" in caption
