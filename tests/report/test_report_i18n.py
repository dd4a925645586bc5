"""The report in the reader's language: ``build_report(lang="zh")`` and ``cli.py report --lang zh`` give the
Chinese headings, verdicts and metric glosses and none of our English headings; English stays today's text;
the CLI's one-line errors follow ``WORKBENCH_LANG`` with unchanged exit codes."""

from __future__ import annotations

import html
import re

import pytest

from rag.runs import RunStore
from tests.support.run_fixtures import make_dataset, write_retrieval_run

# our English headings and fixed sentences: none may appear in a Chinese report
ENGLISH_OF_OURS = ["Executive summary", "What was compared, on what data", "Also in this report",
                   "Reproducibility manifest", "Methods", "Full configuration (JSON)", "RAG evaluation report",
                   "Retrieval ·", "Best on", "Winner on", "scores best on", "paired queries", "mean and 95% CI",
                   "paired differences", "All metrics (means)", "Means over queries", "Generated "]
CHINESE = ["执行摘要", "比较了什么，基于哪些数据", "可复现性清单", "方法", "完整配置（JSON）", "RAG 评测报告",
           "检索 · synthetic", "nDCG@5：均值与 95% 置信区间", "nDCG@5：配对差值", "全部指标（均值）",
           "各指标取所有问题的均值"]


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", page, flags=re.S)))
                    .split())


@pytest.fixture()
def runs(tmp_path):
    """30 questions: minilm 0.8 on every one, bm25 0.2 (a paired difference of exactly 0.600 on each),
    and a third model tied with bm25 up to noise."""
    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset(n_queries=30)
    qs = [q.id for q in ds.queries]
    run = write_retrieval_run(store, ds, {"minilm": dict.fromkeys(qs, 0.8), "bm25": dict.fromkeys(qs, 0.2)})
    return store, run


def test_a_chinese_report_has_chinese_headings_verdicts_and_no_english_heading_of_ours(runs):
    from evaluators.report.build import build_report

    store, run = runs
    page = build_report(store, [run], n_resamples=500, lang="zh")
    text = text_of(page)
    assert '<html lang="zh-CN">' in page
    for heading in CHINESE:
        assert heading in text, heading
    assert [e for e in ENGLISH_OF_OURS if e in text] == []
    # the verdicts as a Chinese reader writes them, the abbreviation kept with its gloss, the numbers unchanged
    assert "minilm 在 nDCG@5（归一化折损累计增益）上得分最高：0.800 [0.800, 0.800]，基于 30 个问题中的 30 个。" in text
    # the same numbers as the English report's "minilm beats bm25 on nDCG@5 by 0.600 [0.600, 0.600], p = 0.002"
    assert "minilm 在 nDCG@5（归一化折损累计增益）上优于 bm25，高出 0.600 [0.600, 0.600]，" \
           "p = 0.002（30 个配对问题）；两者每次查询均无费用（本地模型）。" in text
    assert "nDCG@5（归一化折损累计增益）胜出者：minilm，0.800（95% 置信区间 [0.800, 0.800]，30 个问题中的 30 个）。" \
           "显著领先于 bm25。" in text
    assert "生成于 " in text and f"基于运行 {run}。" in text
    # the executive summary's lines on what was compared, and coverage, in Chinese too
    assert "参与比较的配置：minilm (test/minilm), bm25 (test/bm25)。" in text
    assert "检索：top k = 5，FLAT / COSINE 索引；主指标 nDCG@5。" in text
    assert "延迟：— 尚无压测运行（加入一次压测运行的 id，图表上才会有延迟）。" in text
    assert "minilm: 30 个问题中 30 个已评分（未命中按 0 分计：10 个未检索到文档）。" in text
    assert "2 个配置，30 个问题，k = 5" in text


def test_the_english_report_is_unchanged_by_a_chinese_session(runs):
    from evaluators.report.build import build_report
    from rag.i18n import current_language, language

    store, run = runs
    with language("zh"):   # the caller's language is Chinese, the report asked for English
        page = build_report(store, [run], n_resamples=500, lang="en")
        assert current_language() == "zh"
    text = text_of(page)
    assert '<html lang="en">' in page and "Executive summary" in text and "执行摘要" not in text
    assert "minilm scores best on nDCG@5, 0.800 [0.800, 0.800] over 30 of 30 questions. minilm beats bm25 on " \
           "nDCG@5 by 0.600 [0.600, 0.600], p = 0.002 (30 paired queries); both cost nothing per query (local " \
           "models)." in text
    assert "Generated " in text and f"from run {run}." in text


def test_cli_report_lang_zh_and_a_refused_language(runs, tmp_path, monkeypatch, capsys):
    import cli

    store, run = runs
    monkeypatch.setattr(RunStore, "default", classmethod(lambda cls: store))
    out = tmp_path / "zh.html"
    assert cli.main(["report", "--runs", run, "--output", str(out), "--lang", "zh"]) == 0
    assert capsys.readouterr().out == f"wrote {out} (runs {run})\n"
    text = text_of(out.read_text(encoding="utf-8"))
    assert "执行摘要" in text and "Executive summary" not in text
    assert cli.main(["report", "--runs", run, "--output", str(out), "--lang", "fr"]) == 2
    assert capsys.readouterr().err == "error: --lang: unknown language 'fr'; choose one of en, zh\n"


def test_cli_errors_follow_workbench_lang_with_the_same_exit_code(runs, monkeypatch, capsys):
    import cli

    store, _run = runs
    monkeypatch.setattr(RunStore, "default", classmethod(lambda cls: store))
    assert cli.main(["report", "--runs", "nosuchrun"]) == 2
    english = capsys.readouterr().err
    assert english.startswith("error: ") and english.count("\n") == 1
    monkeypatch.setenv("WORKBENCH_LANG", "zh")
    assert cli.main(["report", "--runs", "nosuchrun"]) == 2
    assert english == "error: no run 'nosuchrun'; list runs in the History page or with `python cli.py runs`\n"
    assert capsys.readouterr().err == "错误：没有运行“nosuchrun”；可在“历史记录”页或用 `python cli.py runs` 列出运行\n"
    assert cli.main(["report", "--modles", "x"]) == 2   # click's refusal too
    assert capsys.readouterr().err.startswith("错误：No such option: --modles")
