"""The stakeholder report: its numbers are the store's, it is one offline file, user text is inert.

The integration test uses the real pipeline end to end: a real retrieval run (Milvus + MiniLM +
BM25), a real RAG run (``evaluators.rag_runner`` with the offline extractive generator and non-LLM
Ragas metrics) and a load run written by the load-test recorder.
"""

from __future__ import annotations

import html
import re

import pytest

from rag.runs import RunStore
from tests.run_fixtures import make_dataset, write_load_run, write_rag_run, write_retrieval_run

EVIL_TITLE = '<script>alert("title")</script>'
EVIL_QUERY = "<img src=x onerror=alert('query')>"
EVIL_MODEL = "<svg onload=alert(1)>"
EVIL_ANSWER = "<b>bold</b><script>steal()</script>"


def text_of(page: str) -> str:
    """The visible text of the report (scripts dropped, tags removed, entities decoded)."""
    body = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def real_runs(workbench, sample, tmp_path_factory):
    from evaluators.rag_runner import RagConfig, run_rag
    from evaluators.retrieval_eval import evaluate_retrieval, save_run

    store = RunStore(tmp_path_factory.mktemp("report") / "runs.sqlite")
    result = evaluate_retrieval(workbench, sample, ["minilm", "bm25"], k=5)
    ret = save_run(store, sample, result, {"index_type": "FLAT"})
    rag = run_rag(sample, RagConfig(models=["minilm", "bm25"], generator="extractive", judge="none", k=4,
                                    metrics=["rouge_l", "nonllm_context_recall"], limit=8),
                  workbench=workbench, store=store).run_id
    load = write_load_run(store, sample, {"minilm": {"p50_ms": 40, "p95_ms": 120, "p99_ms": 200, "rps": 30.0},
                                          "bm25": {"p50_ms": 15, "p95_ms": 45, "p99_ms": 70, "rps": 80.0}})
    return store, ret, rag, load


def test_verdict_numbers_equal_the_store(real_runs):
    from evaluators.report import build_report

    store, ret, rag, load = real_runs
    page = build_report(store, [ret, rag, load], n_resamples=2000)
    text = " ".join(text_of(page).split())
    means = store.get(ret).summary["metrics"]
    best, other = sorted(means, key=lambda m: -means[m]["ndcg@5"])
    assert f"Best on nDCG@5: {best}, {means[best]['ndcg@5']:.3f} [" in text
    diff = means[best]["ndcg@5"] - means[other]["ndcg@5"]  # every query is paired: mean diff = diff of means
    assert (best, other) == ("bm25", "minilm")   # measured on the sample: 0.050 apart over 16 queries, not significant
    assert f"bm25 and minilm are statistically tied on nDCG@5: difference {diff:.3f} [" in text
    p95 = {m: v["p95_ms"] for m, v in store.get(load).summary["results"].items()}
    assert f"at 10 users p95 latency {p95[best]:.0f} ms vs {p95[other]:.0f} ms" in text
    assert f"minilm p95 {p95['minilm']:.0f} ms" in text and "both cost nothing per query (local models)" in text

    rag_means = store.get(rag).summary["metrics"]
    for metric, label in (("rouge_l", "ROUGE-L"), ("nonllm_context_recall", "Context recall (non-LLM)")):
        top = max(rag_means, key=lambda m: rag_means[m][metric]["mean"])
        cell = rag_means[top][metric]
        assert f"Best on {label}: {top}, {cell['mean']:.3f} [" in text
        assert f"{cell['n']}/{cell['total']}" in text  # coverage
    assert "Pareto-optimal on nDCG@5, cost and latency" in text


def test_report_is_one_offline_file_with_a_manifest(real_runs, sample, tmp_path):
    from plotly.offline import get_plotlyjs

    import cli

    store, ret, rag, load = real_runs
    out = tmp_path / "sub" / "report.html"
    from evaluators.report import write_report

    write_report(store, f"{ret},{rag},{load}", out, n_resamples=500)
    page = out.read_text()
    assert page.count(get_plotlyjs()[:200]) == 1  # Plotly inline, once
    assert page.count("Plotly.newPlot(") >= 4  # retrieval, RAG, load and frontier charts
    ours = page.replace(get_plotlyjs(), "")  # everything but the (offline) library itself
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|cdn\.|https?://[^\s\"']*\.js|@import", ours)
    text = text_of(page)
    for needle in (sample.content_hash(), "sentence-transformers/all-MiniLM-L6-v2", "milvus-bm25",
                   "Answer the question using only the context below", "extractive", "pymilvus 3.0.2", "FLAT"):
        assert needle in text, needle
    assert "✅" in text and "❎" in text  # the article-style rank tables
    assert cli.main(["report", "--runs", "no-such-run", "--output", str(tmp_path / "x.html")]) == 2


def test_html_and_js_in_user_text_is_escaped(tmp_path):
    from evaluators.report import build_report

    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset("evil", n_queries=6, title=lambda i: EVIL_TITLE if i < 3 else f"Doc {i}",
                      query_text=lambda i: EVIL_QUERY)
    scores = {EVIL_MODEL: {f"q{i}": 0.1 * i for i in range(6)}, "bm25": {f"q{i}": 0.5 for i in range(6)}}
    ret = write_retrieval_run(store, ds, scores)
    rag = write_rag_run(store, ds, {EVIL_MODEL: {f"q{i}": {"faithfulness": 0.5} for i in range(6)}},
                        responses={(EVIL_MODEL, f"q{i}"): EVIL_ANSWER for i in range(6)}, prompt=EVIL_ANSWER)
    page = build_report(store, [ret, rag], dataset=ds, n_resamples=200)
    for evil in (EVIL_TITLE, EVIL_QUERY, EVIL_MODEL, EVIL_ANSWER, "<b>bold</b>", "<script>steal"):
        assert evil not in page, evil
    assert html.escape(EVIL_TITLE, quote=False) in page  # shown as text in the rank table
    visible = text_of(page)
    assert EVIL_QUERY in visible and EVIL_ANSWER in visible and EVIL_TITLE in visible
    assert page.count("<script") == page.count("</script>")  # no injected script tags
    without = build_report(store, [ret], n_resamples=200)  # dataset not readable: ids, a note, still escaped
    assert "examples show document ids" in without and EVIL_MODEL not in without
