"""Hostile and broken uploads through the real Data page, in a browser session of their own.

Undecodable and oversized files are refused with the message the catalogue promises, and the loaded
dataset stays; HTML and script in titles and questions are shown as text on every page they reach,
and no script runs (an alert() would be caught as a dialog).
"""

from __future__ import annotations

import pytest

from tests.e2e.journey_helpers import column, frame_with

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
CORPUS = (f'id,title,text\njava,"{SCRIPT}",Java has a garbage collector that frees memory.\n'
          f'c,"{IMG}",C has no garbage collector; memory is freed by hand.\n'
          'php,"[link](javascript:alert(3))",PHP runs web backends.\n').encode()
QUESTIONS = (f'id,question,relevant\nq1,"auto garbage collection {IMG}",java\nq2,web backend,php\n').encode()


def upload(p, label: str, name: str, data: bytes) -> None:
    box = p.main.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    box.locator('input[type="file"]').set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    box.get_by_text(name, exact=True).first.wait_for()
    p.wait_idle()


def errors(p) -> list[str]:
    texts = p.main.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    return [t.strip().split("\n")[-1].strip() for t in texts]  # the icon comes first


def test_broken_uploads_are_refused_and_the_dataset_stays(st_page):
    p = st_page
    p.text("31 documents, 16 judged questions")
    p.main.get_by_text("Tables (CSV / Excel / JSONL / Parquet)").click()
    p.wait_idle()
    upload(p, "Questions table", "questions.csv", QUESTIONS)

    upload(p, "Corpus table", "corpus.csv", CORPUS + b"x,Caf\xe9,cr\xe8me br\xfbl\xe9e\n")
    assert errors(p) == ["corpus.csv, line 5: not valid UTF-8 (byte 0xe9) (save the file as UTF-8)"]
    p.button("Load tables")
    assert "Not loaded: corpus.csv, line 5: not valid UTF-8 (byte 0xe9) (save the file as UTF-8)" in errors(p)
    p.text("Dataset sample: 31 documents")  # still the sample

    big = CORPUS + b"big,Big," + b"y" * int(1.5 * 2**20) + b"\n"  # the app runs with WORKBENCH_MAX_UPLOAD_MB=1
    upload(p, "Corpus table", "corpus.csv", big)
    assert errors(p)[0] == ("corpus.csv: file is 1.5 MB, over the 1.0 MB limit "
                            "(raise WORKBENCH_MAX_UPLOAD_MB or pass max_bytes)")
    p.text("Dataset sample: 31 documents")
    p.shot("08_data_refused")


def test_html_and_script_in_data_stay_text(st_page):
    p = st_page
    upload(p, "Corpus table", "corpus.csv", CORPUS)
    assert not errors(p)
    p.fill("Dataset name", f"hostile {SCRIPT}")
    p.button("Load tables")
    p.text("Loaded hostile <script>alert(1)</script>.")
    p.text("3 documents, 2 judged questions, 2 judgments")
    docs = frame_with(p, "title")
    assert column(docs, "title") == [SCRIPT, IMG, "[link](javascript:alert(3))"]
    p.shot("08_data_hostile")

    p.goto("Retrieval")
    p.button("Compare", timeout=300)
    table = frame_with(p, "Rank")
    assert f"✅ {SCRIPT}" in column(table, "minilm")[:4] + column(table, "bm25")[:4]
    p.text(f"auto garbage collection {IMG}")  # the question, as text
    assert p.main.get_by_text(f"relevant: {SCRIPT}").count() == 1
    assert p.main.locator('img[src="x"], a[href^="javascript"]').count() == 0  # nothing became markup
    p.shot("08_retrieval_hostile")
    p.select("Query", "q2: web backend")  # its relevant document's title is a markdown link to javascript:
    p.cell("✅ [link](javascript:alert(3))")
    assert p.main.locator('a[href^="javascript"]').count() == 0
    assert p.dialogs == [], f"script from the data ran: {p.dialogs}"
