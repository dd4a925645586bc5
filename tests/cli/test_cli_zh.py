"""The CLI's printed lines under ``WORKBENCH_LANG=zh``: Chinese words of ours, the same exit codes, the same
JSON keys and the same machine-read ``run_id`` line; the numbers are the English run's numbers. Runs in
process (``cli.main``) on the Chinese sample with BM25 (no embedding model to load) on the real Milvus Lite."""

from __future__ import annotations

import json
import re

import pytest

ENGLISH_OF_OURS = ["documents,", "judged queries", "language:", "BM25 analyzer:", "chosen for", "wrote ",
                   "generator:", "judge:", "scored)", "LLM calls", "status ", "setups,", "Best on", "note:",
                   "estimate:", "rows,", "no runs yet", "Documents:", "questions:", "Chinese"]


def _run(capsys, *args) -> tuple[int, str, str]:
    import cli

    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _ours(text: str) -> list[str]:
    return [e for e in ENGLISH_OF_OURS if e in text]


@pytest.fixture()
def zh(monkeypatch):
    monkeypatch.setenv("WORKBENCH_LANG", "zh")


@pytest.mark.slow  # ~30 s: BM25 collection on the Chinese sample with jieba
def test_retrieval_prints_chinese_lines_with_the_same_json_and_exit_code(milvus, zh, tmp_path, capsys):
    out = tmp_path / "r.json"
    code, stdout, stderr = _run(capsys, "retrieval", "--dataset", "sample-zh", "--models", "bm25", "--k", "5",
                                "--output", str(out))
    assert code == 0, stderr
    assert "sample-zh：22 篇文档，18 个有标注的问题，k=5" in stdout
    assert "语言：文档：中文 100 %" in stdout
    assert "BM25 分词器：jieba（按中文自动选择）" in stdout
    assert re.search(r"^run_id \S+$", stdout, re.M)  # read by scripts: unchanged
    assert f"已写入 {out}" in stdout
    assert _ours(stdout) == []
    data = json.loads(out.read_text())
    assert {"run_id", "dataset", "k", "metrics", "rankings"} <= set(data) and data["k"] == 5
    assert data["metrics"]["bm25"]["ndcg@5"] == pytest.approx(0.950, abs=0.001)  # measured in English: 0.9502


def test_sweep_and_runs_print_chinese_lines(milvus, zh, tmp_path, capsys):
    code, stdout, stderr = _run(capsys, "sweep", "--dataset", "sample-zh", "--models", "bm25", "--k", "5",
                                "--latency-sample", "5")
    assert code == 0, stderr
    assert "sample-zh：1 个配置，18 个有标注的问题" in stdout
    assert "排名" in stdout and "配置" in stdout and "均值" in stdout  # the leaderboard's headers
    assert "bm25 | k5" in stdout or "bm25" in stdout
    assert _ours(stdout) == [] and _ours(stderr.replace("sample-zh", "")) == []
    code, stdout, _err = _run(capsys, "runs", "--limit", "1")
    assert code == 0 and "类型" in stdout and "参数扫描" in stdout and "已完成" in stdout
    code, stdout, _err = _run(capsys, "runs", "--limit", "1", "--json")
    assert code == 0 and set(json.loads(stdout)[0]) == {"run_id", "kind", "status", "created", "dataset",
                                                        "dataset_hash", "models"}
    assert json.loads(stdout)[0]["kind"] == "sweep" and json.loads(stdout)[0]["status"] == "done"


@pytest.mark.slow  # ~17 s: the estimate counts tokens with the model's tokenizer
def test_rag_estimate_prints_chinese_on_stderr_and_the_same_json(zh, capsys):
    code, stdout, stderr = _run(capsys, "rag", "--dataset", "sample-zh", "--models", "bm25", "--limit", "3",
                                "--estimate")
    assert code == 0, stderr
    assert stderr.startswith("估算：") and "次 LLM 调用" in stderr and "语言：文档：中文 100 %" in stderr
    assert _ours(stderr) == []
    assert {"rows", "total_calls", "total_tokens", "cost_usd"} <= set(json.loads(stdout))


def test_decide_refuses_an_unknown_language_with_exit_2(capsys):
    code, stdout, stderr = _run(capsys, "decide", "--lang", "fr")
    assert code == 2 and stderr == "error: --lang: unknown language 'fr'; choose one of en, zh\n"
