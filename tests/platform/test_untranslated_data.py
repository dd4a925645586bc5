"""The data loaders' messages (bad folders, files, lines, columns, question sets) in the reader's language.

The scanner keeps new English strings out of the data layer, the runs store, outputs, settings, processes and
retrieval; the checks below load real bad files through the real loaders, in Chinese and in English (which must
read exactly as before), and run the CLI in a subprocess with ``WORKBENCH_LANG=zh``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.data.beir import load_beir
from rag.data.dataset import DatasetError
from rag.data.documents import load_documents
from rag.data.images import load_image_folder
from rag.data.question_sets import load_question_set
from rag.data.tables import load_table_dataset
from rag.i18n import language
from rag.settings import Settings
from tests.conftest import ROOT
from tests.support.untranslated import scan

AREA = ["rag/data", "rag/runs", "rag/outputs.py", "rag/settings.py", "rag/processes.py", "rag/retrieval.py"]


def test_no_untranslated_message_in_the_data_area():
    assert scan(AREA) == []


def beir(folder: Path, corpus: str, qrels: str) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "hi"}\n', encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    return folder


def message(load, lang: str) -> str:
    """The error's one line, raised and read in ``lang`` (its where-words are formed when read)."""
    with language(lang):
        with pytest.raises(DatasetError) as err:
            load()
        return str(err.value)


@pytest.fixture(scope="module")
def bad_qrels(tmp_path_factory) -> Path:
    """A BEIR folder whose qrels name a document the corpus lacks (line 2, after the header)."""
    return beir(tmp_path_factory.mktemp("beir"), '{"_id": "d1", "text": "hello"}\n',
                "query-id\tcorpus-id\tscore\nq1\td9\t1\n")


def test_beir_unknown_document_and_missing_split_in_chinese_and_english_unchanged(bad_qrels):
    assert message(lambda: load_beir(bad_qrels), "zh") == \
        "qrels/test.tsv，第 2 行，字段“corpus-id”：未知文档 'd9'（不在 corpus.jsonl 中）"
    assert message(lambda: load_beir(bad_qrels), "en") == \
        "qrels/test.tsv, line 2, field 'corpus-id': unknown document 'd9' (not in corpus.jsonl)"
    assert message(lambda: load_beir(bad_qrels, split="dev"), "zh") == \
        "qrels/dev.tsv：划分 'dev' 没有相关性标注（找到的划分：test；BEIR 文件夹包含 corpus.jsonl、queries.jsonl 和 " \
        "qrels/<split>.tsv）"
    assert message(lambda: load_beir(bad_qrels, split="dev"), "en") == \
        "qrels/dev.tsv: no judgments for split 'dev' (splits found: test; a BEIR folder holds corpus.jsonl, " \
        "queries.jsonl and qrels/<split>.tsv)"


def test_bad_jsonl_line_and_conflicting_judgment_in_chinese(tmp_path):
    not_object = beir(tmp_path / "a", '{"_id": "d1", "text": "hello"}\n["x"]\n', "q1\td1\t1\n")
    assert message(lambda: load_beir(not_object), "zh") == "corpus.jsonl，第 2 行：应为 JSON 对象，实际为 list"
    conflict = beir(tmp_path / "b", '{"_id": "d1", "text": "hello"}\n', "q1\td1\t1\nq1\td1\t2\n")
    assert message(lambda: load_beir(conflict), "zh") == \
        "qrels/test.tsv，第 2 行，字段“score”：(q1, d1) 的相关性标注互相矛盾（第 1 行和第 2 行）"


def test_table_missing_column_empty_document_and_question_set_in_chinese():
    load = lambda: load_table_dataset(("docs.csv", b"foo,bar\n1,2\n"), ("faq.csv", b"question\nhi\n"))  # noqa: E731
    assert message(load, "zh") == (
        "docs.csv，第 1 行，字段“id”：缺少 'id' 所需的列；文件中的列：foo, bar；应为以下之一：_id, id, doc_id, docid, "
        "document_id, corpus_id, corpus-id（或手动为它映射一列）")
    assert message(load, "en") == (
        "docs.csv, line 1, field 'id': missing required column for 'id'; the file has columns: foo, bar; expected "
        "one of: _id, id, doc_id, docid, document_id, corpus_id, corpus-id (or map a column to it explicitly)")
    assert message(lambda: load_documents([("empty.md", b"  \n")]), "zh") == "empty.md：空文件"
    assert message(lambda: load_question_set("nope"), "zh") == "没有名为 'nope' 的问题集（已保存的问题集：无）"


def test_a_bad_image_checked_in_a_worker_thread_reads_in_the_callers_language(tmp_path):
    """The media check runs in a thread pool: the message must still be formed in the caller's language."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus" / "a.png").write_bytes(b"hello, this is not an image")
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n', encoding="utf-8")
    (tmp_path / "qrels" / "test.tsv").write_text("q1\ta\t1\n", encoding="utf-8")
    assert message(lambda: load_image_folder(tmp_path), "zh") == \
        "corpus/a.png：文件已损坏或不是图片（支持的格式：.png, .jpg, .jpeg, .webp）"


def test_a_shared_apps_refused_folder_is_in_the_readers_language(tmp_path):
    """The refusal is formed in the caller's language (the page and the CLI show it as it is)."""
    with pytest.raises(ValueError) as err:
        Settings(data_roots=str(tmp_path / "team")).folder_under_roots("/etc")
    assert str(err.value) == f"/etc: outside the folders this shared app may read (WORKBENCH_DATA_ROOTS: " \
                             f"{(tmp_path / 'team').resolve()})"
    with language("zh"), pytest.raises(ValueError) as err:
        Settings(data_roots=str(tmp_path / "team")).folder_under_roots("/etc")
    assert str(err.value) == f"/etc：不在这个共享应用可读取的文件夹范围内（WORKBENCH_DATA_ROOTS：" \
                             f"{(tmp_path / 'team').resolve()}）"


def test_cli_prints_a_bad_beir_folder_in_chinese(bad_qrels):
    p = subprocess.run([sys.executable, "cli.py", "retrieval", "--dataset", str(bad_qrels), "--models", "bm25"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "WORKBENCH_LANG": "zh"})
    assert (p.returncode, p.stderr.strip().splitlines()[-1]) == \
        (2, "错误：qrels/test.tsv，第 2 行，字段“corpus-id”：未知文档 'd9'（不在 corpus.jsonl 中）"), p.stderr
