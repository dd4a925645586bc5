"""Questions tied to their chunking (issue 22): chunk ids name a passage of one chunk size and overlap only.

Known answers: a 3-paragraph Markdown file split at 800/100 is one chunk and at 120/0 three; a questions
table naming ``guide.md#2`` loads with the chunking it was written for and is refused, with the reason, with
any other; ids count from 1 and the upload hint says so; the per-query table names the chunk, not the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.retrieval.evaluate import RetrievalResult, comparison_table
from rag.data.dataset import DatasetError
from rag.data.documents import load_documents, load_documents_dataset

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ("# Install\n\nRun the installer and accept the licence, then restart the machine once.\n\n"
         "# Configure\n\nOpen the settings page and set the data folder to a disk with free space.\n\n"
         "# Upgrade\n\nStop the service, replace the binary, start the service again and check the log.\n")


def _files():
    return [("guide.md", GUIDE.encode())]


def _questions(chunking: str | None = None) -> tuple[str, bytes]:
    head = "question,relevant" + (",chunking" if chunking else "")
    row = "Where is the data folder set?,guide.md#2" + (f",{chunking}" if chunking else "")
    return "questions.csv", f"{head}\n{row}\n".encode()


def test_chunk_ids_count_from_one_and_the_upload_hint_agrees():
    docs = load_documents(_files(), chunk_size=120, chunk_overlap=0)
    assert [d.id for d in docs] == ["guide.md#1", "guide.md#2", "guide.md#3"]
    assert "data folder" in docs[1].text
    hint = (ROOT / "ui" / "data_sources.py").read_text()
    assert "file.md#1" in hint and "file.md#0" not in hint


def test_a_table_declaring_its_chunking_loads_with_it_and_is_refused_with_another():
    ds = load_documents_dataset(_files(), _questions("120/0"), chunk_size=120, chunk_overlap=0)
    assert list(ds.relevant(ds.queries[0].id)) == ["guide.md#2"]
    with pytest.raises(DatasetError) as e:
        load_documents_dataset(_files(), _questions("120/0"), chunk_size=800, chunk_overlap=100)
    msg = str(e.value)
    assert "questions.csv" in msg and "line 2" in msg and "chunking" in msg
    assert ("the relevant chunk ids were written for chunk size 120 / overlap 0 (as its 'chunking' column says), "
            "not 800 / 100: the same id would name other text") in msg


def test_an_undeclared_table_is_for_the_defaults_and_never_silently_repointed():
    # at the defaults (800/100) the whole file is one chunk: guide.md#2 does not exist, and says so
    with pytest.raises(DatasetError, match="unknown document 'guide.md#2'"):
        load_documents_dataset(_files(), _questions(), chunk_size=800, chunk_overlap=100)
    # at 120/0 guide.md#2 exists but is not the passage an undeclared (default-chunking) table meant
    with pytest.raises(DatasetError) as e:
        load_documents_dataset(_files(), _questions(), chunk_size=120, chunk_overlap=0)
    assert "written for chunk size 800 / overlap 100 (the defaults: the table has no 'chunking' column)" in str(e.value)
    assert "add a 'chunking' column saying 120/0" in str(e.value)


def test_the_per_query_table_names_the_chunk():
    ds = load_documents_dataset(_files(), _questions("120/0"), chunk_size=120, chunk_overlap=0)
    qid = ds.queries[0].id
    result = RetrievalResult(ds.name, 2, ["minilm"], {"minilm": {qid: [("guide.md#2", 0.9), ("guide.md#3", 0.5)]}},
                             {"minilm": {qid: {"precision@2": 0.5, "recall@2": 1.0}}}, {})
    table = comparison_table(ds, result, qid)
    assert list(table["minilm"])[:2] == ["✅ guide.md #2", "❎ guide.md #3"]
