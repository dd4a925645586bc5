"""Verdicts that hold (issue 22): coverage before ranking, one story per pair, no winner without signal.

Hand-made cases with hand-computed answers: the issue's 6 paired queries (an interval that excluded 0
beside a sentence that said "tied"), a model that failed 24 of 30 rows, an all-zero BLEU, a metric every
model failed; the interval that inverts the sign-flip test checked against a brute-force enumeration
written here independently.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from evaluators.report.build import build_report
from evaluators.stats.comparison import BEST, compare_runs, compare_scores
from evaluators.stats.run_kinds import kind_of
from evaluators.stats.run_stats import run_stats
from evaluators.stats.significance import compare_models, paired_test
from rag.runs import RunStore
from tests.support.run_fixtures import make_dataset, write_retrieval_run

LOW_COVERAGE, NO_SIGNAL = "not ranked: lower coverage", "no signal"  # the table's marks
Q6 = [f"q{i}" for i in range(6)]
# the issue's walk, by hand: bm25 ahead of hybrid on all 6 questions it survived (mean difference 0.625)
BM25 = dict(zip(Q6, [1.0, 1.0, 1.0, 0.5, 0.75, 1.0]))
HYBRID = dict(zip(Q6, [0.25, 0.5, 0.0, 0.0, 0.25, 0.5]))
MINILM = dict(zip(Q6, [0.5, 0.75, 0.25, 0.25, 0.5, 0.75]))


def test_the_issues_six_paired_queries_interval_and_sentence_tell_one_story():
    cmp = compare_scores({"minilm": MINILM, "bm25": BM25, "hybrid": HYBRID}, "context_precision", n_resamples=2000)
    pair = cmp.result.pair("bm25", "hybrid")
    assert pair.n == 6 and pair.diff == pytest.approx(0.625)
    # all 6 differences positive: the exact sign-flip p is 2/64; three pairs, Holm multiplies the smallest by 3
    assert pair.p_value == pytest.approx(2 / 64) and pair.p_adjusted == pytest.approx(3 * 2 / 64)
    # this pair's Holm level is 0.05 / 3 < 2/64: no shift can be rejected, so the interval is unbounded
    assert (pair.low, pair.high) == (-math.inf, math.inf) and not pair.significant
    sentence = cmp.pair_sentence("hybrid", "bm25")
    # about 7 needed: the smallest n whose exact test can reach 0.05 / 3 (2 / 2^7 = 0.0156)
    assert sentence == ("Too few questions to tell bm25 from hybrid on Context precision (n = 6; about 7 needed for "
                        "a difference of 0.625): difference 0.625 [unbounded: too few questions], p = 0.09.")
    assert "statistically tied" not in sentence and "[unbounded: too few questions]" in sentence
    # the issue's defect: an interval excluding 0 beside a verdict that is not "beats"; never again, any pair
    for p in cmp.result.pairs:
        assert p.significant == (not p.low <= 0.0 <= p.high) == (p.p_adjusted < 0.05)


def test_two_models_on_six_queries_all_one_way_is_a_win_with_an_interval_excluding_zero():
    cmp = compare_scores({"bm25": BM25, "hybrid": HYBRID}, "context_precision", n_resamples=2000)
    p = cmp.result.pair("bm25", "hybrid")
    assert p.p_adjusted == pytest.approx(2 / 64) and p.significant and 0 < p.low <= p.diff <= p.high
    assert cmp.pair_sentence("bm25", "hybrid").startswith("bm25 beats hybrid on Context precision by 0.625 [")


def _brute_force_interval(diffs, level, grid):
    """Accepted shifts by enumerating every sign vector for every grid point (no shared code)."""
    n = len(diffs)
    accepted = []
    for delta in grid:
        d = [x - delta for x in diffs]
        observed = abs(sum(d)) / n
        extreme = sum(abs(sum(s * x for s, x in zip(signs, d))) / n >= observed - 1e-12
                      for signs in itertools.product((1, -1), repeat=n))
        if extreme / 2**n >= level:
            accepted.append(delta)
    return min(accepted), max(accepted)


@pytest.mark.parametrize("diffs,level", [([0.1, 0.4, 0.2, 0.9, 0.3], 0.1), ([0.3, -0.1, 0.5, 0.2, 0.6, 0.4], 0.05)])
def test_the_interval_is_every_shift_the_test_does_not_reject(diffs, level):
    grid = np.linspace(min(diffs) - 0.2, max(diffs) + 0.2, 2801)
    step = grid[1] - grid[0]
    low, high = _brute_force_interval(diffs, level, grid)
    from evaluators.stats.signflip import SignFlip

    flip = SignFlip.of(diffs)
    got = flip.interval(level)
    assert got[0] == pytest.approx(low, abs=step) and got[1] == pytest.approx(high, abs=step)
    assert flip.smallest_p == pytest.approx(2 / 2 ** len(diffs))


def test_paired_test_interval_excludes_zero_exactly_when_p_is_below_the_level():
    rng = np.random.default_rng(22)
    for n in (4, 6, 9, 14, 25):
        for _ in range(12):
            a = rng.random(n)
            b = a - rng.normal(0.15, 0.3, n)
            r = paired_test(a, b, n_resamples=2000)
            assert (r["p_value"] < 0.05) == (not r["low"] <= 0.0 <= r["high"]), (n, r)


def test_three_models_any_data_significant_iff_the_interval_excludes_zero():
    rng = np.random.default_rng(7)
    for n in (5, 8, 12, 20):
        for _ in range(6):
            base = rng.random(n)
            scores = {m: dict(zip(map(str, range(n)), base + shift + rng.normal(0, 0.2, n)))
                      for m, shift in (("a", 0.0), ("b", 0.2), ("c", 0.35))}
            for p in compare_models(scores, n_resamples=1000).pairs:
                assert p.significant == (not p.low <= 0.0 <= p.high) == (p.p_adjusted < 0.05)


# ---------------------------------------------------------------- coverage before ranking


def _rag_run(store, ds, rows: list[dict], metrics: list[str], models: list[str]) -> str:
    """A RAG run of hand-written rows (``scores`` and ``errors`` as the job stores them)."""
    run_id = store.create("rag", {"models": models, "k": 4, "dataset_source": ds.source, "metrics_active": metrics,
                                  "generator": {"spec": "extractive", "label": "Extractive", "baseline": True}},
                          dataset=ds)
    store.add_rows(run_id, [{"item_id": r["q"], "question_id": r["q"], "question": f"question {r['q']}",
                             "response": "an answer", "retrieved_ids": [] if r.get("errors") else ["d0"],
                             "not_applicable": {}, **r} for r in rows])
    summary = {}
    for m in models:
        summary[m] = {}
        for name in metrics:
            mine = [r for r in rows if r["model"] == m]
            vals = [r["scores"][name] for r in mine if r["scores"].get(name) is not None]
            summary[m][name] = {"mean": sum(vals) / len(vals) if vals else None, "n": len(vals), "total": len(mine)}
    store.finish(run_id, {"metrics": summary, "metrics_active": metrics})
    return run_id


def _walk(store, failure: str):
    """The issue's walk in numbers: 30 questions; bm25 fails 24 rows (``failure``) and scores 0.875 on the
    other 6; minilm and hybrid score every row (0.5 / 0.45 on average)."""
    ds = make_dataset("walk-zh", n_queries=30)
    qs = [q.id for q in ds.queries]
    rows = []
    for i, q in enumerate(qs):
        rows.append({"model": "minilm", "q": q, "scores": {"context_precision": (0.25, 0.75)[i % 2],
                                                            "rouge_l": 0.3 + 0.01 * i}})
        rows.append({"model": "hybrid", "q": q, "scores": {"context_precision": (0.25, 0.75, 0.35)[i % 3],
                                                            "rouge_l": 0.28 + 0.01 * i}})
        failed = i >= 6
        rows.append({"model": "bm25", "q": q, "errors": {"context_precision": failure} if failed else {},
                     "scores": {"context_precision": None if failed else (0.75, 1.0)[i % 2],
                                "rouge_l": 0.2 + 0.01 * i}})
    return ds, _rag_run(store, ds, rows, ["context_precision", "rouge_l"], ["minilm", "bm25", "hybrid"])


def test_a_failed_retrieval_is_a_miss_scored_zero_not_an_absence(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    _, run = _walk(store, "no contexts were retrieved")
    cmp = run_stats(store, run, n_resamples=2000).get("context_precision")
    bm25 = cmp.summary("bm25")
    # 6 rows at 0.75 / 1.0 (3 each) and 24 misses at 0: (3 * 0.75 + 3 * 1.0) / 30
    assert (bm25.n, bm25.total, bm25.mean) == (30, 30, pytest.approx(5.25 / 30))
    assert cmp.result.best == "minilm" and cmp.mark("bm25") != BEST
    assert cmp.coverage("bm25") == "bm25: 30 of 30 questions scored (misses scored 0: 24 no contexts retrieved)"
    assert "Coverage: bm25: 30 of 30 questions scored (misses scored 0: 24 no contexts retrieved)." in cmp.verdicts()
    from evaluators.rag.tables import metrics_frame  # the RAG quality page's table: the same mean and coverage

    stats = run_stats(store, run, n_resamples=2000)
    frame = metrics_frame(store.get(run).summary, stats).set_index(["model", "metric"])
    assert frame.loc[("bm25", "context_precision"), "display"].startswith(f"{5.25 / 30:.3f} [")
    assert frame.loc[("bm25", "context_precision"), "display"].endswith("(30/30, 24 misses scored 0)")


def test_a_model_with_lower_coverage_is_never_best_on_what_survived(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    _, run = _walk(store, "timeout (APITimeoutError): Request timed out.")
    cmp = run_stats(store, run, n_resamples=2000).get("context_precision")
    bm25 = cmp.summary("bm25")
    assert (bm25.n, bm25.total, bm25.mean) == (6, 30, pytest.approx(0.875))   # the highest mean, on 6 questions
    assert cmp.result.best == "minilm" and cmp.result.low_coverage == {"bm25"}
    assert cmp.mark("bm25") == LOW_COVERAGE and "bm25" not in cmp.result.tied_with_best
    verdicts = cmp.verdicts()
    assert verdicts[0] == "Best on Context precision: minilm, 0.500 [" + verdicts[0].split("[", 1)[1]
    assert verdicts[0].endswith("over 30 of 30 questions.")
    line = next(v for v in verdicts if v.startswith("bm25 is not ranked"))
    assert line.startswith("bm25 is not ranked on Context precision: 6 of 30 questions scored; 24 failed, "
                           "left out: 24 timeout (APITimeoutError): Request timed out; its mean 0.875 is over the "
                           "questions it survived. On the questions both scored: ")
    table = cmp.table().set_index("model")
    assert table.loc["bm25", "scored"].startswith("6 of 30 questions scored; 24 failed")


def test_the_report_opens_with_a_true_first_sentence_and_coverage(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    _, run = _walk(store, "timeout (APITimeoutError): Request timed out.")
    page = build_report(store, [run], n_resamples=2000, examples=0)
    summary = page[page.index('id="summary"'):page.index("</section>")]
    # the default main metric is one every model covers: ROUGE-L, not the context precision bm25 mostly failed
    assert kind_of("rag").default_metric(store.get(run), ["context_precision", "rouge_l"]) == "rouge_l"
    assert "minilm scores best on ROUGE-L, 0.445 [" in summary and "bm25 scores best" not in summary
    assert "over 30 of 30 questions" in summary
    cp = page[page.index("Context precision: mean and 95% CI"):]
    # the frontier: bm25's 0.875 on 6 questions is not Pareto-optimal, and its chart label says 6/30
    assert "Pareto-optimal on ROUGE-L, cost and latency: minilm + extractive." in page
    cp_page = build_report(store, [run], n_resamples=2000, examples=0, metric="context_precision")
    assert "Pareto-optimal on Context precision, cost and latency: minilm + extractive." in cp_page
    assert "bm25 + extractive (6/30 scored)" in cp_page and "not ranked: lower coverage" in cp_page
    assert "6 of 30 questions scored; 24 failed, left out" in cp[:3000]
    assert "not ranked: lower coverage" in cp[:3000]


# ---------------------------------------------------------------- no winner without signal


def test_all_zero_bleu_names_no_best():
    zeros = dict.fromkeys(Q6, 0.0)
    cmp = compare_scores({"minilm": zeros, "bm25": dict(zeros), "hybrid": dict(zeros)}, "bleu", n_resamples=500)
    assert cmp.result.best is None and cmp.result.tied_with_best == frozenset()
    assert cmp.verdicts()[0] == ("No signal on BLEU: every model scored 0.000 on every scored question: the metric "
                                 "does not separate them; no model is ranked on it.")
    assert set(cmp.table()["mark"]) == {NO_SIGNAL}
    assert not any(v.startswith("Best on") for v in cmp.verdicts())


def test_a_metric_every_model_failed_names_no_best():
    nan = dict.fromkeys(Q6, math.nan)
    cmp = compare_scores({"minilm": nan, "bm25": dict(nan)}, "faithfulness", n_resamples=500,
                         failures={"minilm": {"judge timed out": 6}, "bm25": {"judge timed out": 6}})
    assert cmp.result.best is None
    assert cmp.verdicts()[0] == "No signal on Faithfulness: no model has a score on it; no model is ranked on it."


def test_report_winner_says_no_signal(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset("zeros", n_queries=6)
    run = write_retrieval_run(store, ds, {"minilm": dict.fromkeys([q.id for q in ds.queries], 0.0),
                                          "bm25": dict.fromkeys([q.id for q in ds.queries], 0.0)})
    page = build_report(store, [run], n_resamples=500, examples=0)
    assert "No winner on nDCG@5: no signal (every model scored 0.000" in page
    assert "scores best" not in page and "Winner on" not in page


def test_retrieval_queries_that_returned_nothing_are_misses_in_the_coverage(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    ds = make_dataset("short", n_queries=24, n_docs=20)   # queries 20–23 get an empty ranking (fixture)
    vals = {q.id: (0.0 if i >= 20 else 0.5 + 0.02 * (i % 5)) for i, q in enumerate(ds.queries)}
    run = write_retrieval_run(store, ds, {"bm25": vals, "minilm": {q: v * 0.9 for q, v in vals.items()}})
    cmp = compare_runs(store, run, n_resamples=500)
    assert cmp.coverage("bm25") == "bm25: 24 of 24 questions scored (misses scored 0: 4 no document retrieved)"
