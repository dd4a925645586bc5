"""The CLI's --dataset takes the files people keep data in: an Excel corpus and a questions sheet, scored
by the real BM25 in Milvus Lite; a broken workbook is one line naming the sheet, row and column."""

from __future__ import annotations

import json
import math

from tests.cli.test_cli import invoke
from tests.data.test_office import QUESTIONS, corpus, questions


def test_retrieval_on_an_excel_corpus_and_a_named_sheet(milvus, tmp_path):
    (tmp_path / "docs.xlsx").write_bytes(corpus()[1])
    (tmp_path / "faq.xlsx").write_bytes(questions()[1])
    out = tmp_path / "r.json"
    r = invoke("retrieval", "--dataset", f"{tmp_path}/docs.xlsx,{tmp_path}/faq.xlsx#Questions",
               "--models", "bm25", "--k", "3", "--output", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("faq: 3 documents, 2 judged queries, k=3\n")
    data = json.loads(out.read_text())
    # q1 shares only "garbage" with 101; q2 shares "reads", "english" with 102 and nothing with 103 (a date)
    assert [d for d, _ in data["rankings"]["bm25"]["q1"]][:1] == ["101"]
    assert [d for d, _ in data["rankings"]["bm25"]["q2"]] == ["102"]
    ndcg_q2 = 1 / (1 + 1 / math.log2(3))  # 102 found at rank 1, 103 (also relevant) not found
    assert abs(data["metrics"]["bm25"]["ndcg@3"] - (1 + ndcg_q2) / 2) < 1e-4


def test_a_broken_sheet_is_one_line_with_sheet_row_and_column(tmp_path):
    (tmp_path / "docs.xlsx").write_bytes(corpus()[1])
    (tmp_path / "faq.xlsx").write_bytes(questions([*QUESTIONS, [None, "x", 101]])[1])
    r = invoke("retrieval", "--dataset", f"{tmp_path}/docs.xlsx,{tmp_path}/faq.xlsx#Questions", "--models", "bm25")
    assert (r.exit_code, r.stderr) == (2, "error: faq.xlsx, sheet 'Questions', row 5, column A 'question': "
                                          "empty text\n")
