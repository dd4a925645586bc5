"""The CLI's `rag` printout says what the pages and the report say beside a mean (issue 22): how many questions
were scored and how many of them were misses scored 0 because nothing was retrieved.

A BEIR folder of three documents and two questions, the real BM25 in Milvus Lite and the extractive baseline: the
second question shares no term with any document, so BM25 retrieves nothing for it (a miss, scored 0), and the
CLI's line for every metric that needs contexts reads as ``coverage_text`` does on the History page."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import invoke

pytestmark = pytest.mark.slow  # a real `rag` run (Ragas, Milvus Lite): about 60 s on 2 shared cores


def _beir(folder):
    docs = [("java", "Java", "Java has a garbage collector that frees memory."),
            ("python", "Python", "Python reads like English and has a garbage collector."),
            ("rust", "Rust", "Rust frees memory through ownership and borrowing.")]
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n"
                                                 for i, t, x in docs))
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "garbage collector memory"}) + "\n"
        + json.dumps({"_id": "q2", "text": "zyxwv qpqpq"}) + "\n")   # no term in any document
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tjava\t1\nq2\trust\t1\n")


def test_rag_printout_splits_misses_from_scored_rows(milvus, tmp_path):
    _beir(tmp_path)
    r = invoke("rag", "--dataset", str(tmp_path), "--models", "bm25", "--k", "2",
               "--metrics", "nonllm_context_precision,nonllm_context_recall")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    at = lines.index("bm25:")
    # q1: java (relevant) and python retrieved, precision 0.5, recall 1; q2: nothing retrieved, a miss scored 0
    assert lines[at + 1:at + 3] == [
        "  nonllm_context_precision     0.2500  2 of 2 questions scored (misses scored 0: 1 no contexts retrieved)"
        "  by id 1 · by text 1",
        "  nonllm_context_recall        0.5000  2 of 2 questions scored (misses scored 0: 1 no contexts retrieved)"
        "  by id 1 · by text 1"], lines
