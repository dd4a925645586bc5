"""Judge noise inside every interval: the CI tables, the gate and the paired comparisons of a judged metric
scored K times per row are two-level (questions, then repeats); without noise every number is the one-level one.

Known answers: repeats that never differ give exactly ``compare_models`` without repeats; a model whose
per-question means equal the other's but whose repeats disagree has a zero difference with a one-level CI of
(0, 0) and a two-level CI around 0; a real run against the noisy test judge (p = 0.3, seed 7, K = 3) gets, in
``run_stats``, exactly the interval ``judge_noise`` reports, strictly wider than the one-level one.
"""

from __future__ import annotations

import pytest

from evaluators.judge.noise import judge_noise
from evaluators.report.gate import check_gate
from evaluators.stats.comparison import collect_scores, compare_scores
from evaluators.stats.run_stats import run_stats
from evaluators.stats.significance import compare_models, two_level_ci
from rag.runs import RunStore
from tests.judge.test_judge_reliability import NOISY, _run
from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)

Q = [f"q{i}" for i in range(1, 9)]
A = dict(zip(Q, [0.1, 0.5, 0.9, 1.0, 0.0, 0.3, 0.7, 0.6]))
B = dict(zip(Q, [0.2, 0.4, 0.8, 0.6, 0.1, 0.3, 0.5, 0.9]))


def test_repeats_that_never_differ_give_the_one_level_numbers_exactly():
    quiet = {"a": {q: [v, v, v] for q, v in A.items()}, "b": {q: [v] * 3 for q, v in B.items()}}
    assert compare_models({"a": A, "b": B}, n_resamples=2000, repeats=quiet) == \
        compare_models({"a": A, "b": B}, n_resamples=2000)
    assert compare_models({"a": A, "b": B}, n_resamples=2000, repeats={}) == \
        compare_models({"a": A, "b": B}, n_resamples=2000)


def test_noisy_repeats_widen_the_model_and_pair_intervals():
    noisy = {q: [v - 0.1, v + 0.1] for q, v in A.items()}      # means A, every row's repeats differ
    one = compare_models({"a": A, "same": dict(A)}, n_resamples=4000)
    two = compare_models({"a": A, "same": dict(A)}, n_resamples=4000, repeats={"a": noisy})
    qs = sorted(A)
    assert (two.models[0].mean, two.models[0].n) == (one.models[0].mean, 8)
    assert (two.models[0].low, two.models[0].high) == two_level_ci([noisy[q] for q in qs], 4000)[1:]
    assert two.models[1] == one.models[1]                       # the quiet model keeps its interval
    p1, p2 = one.pairs[0], two.pairs[0]
    assert (p1.diff, p1.low, p1.high, p1.p_value) == (0.0, 0.0, 0.0, 1.0)
    # known answer: "same" has one value per question, so the paired bootstrap is a's two-level bootstrap
    # of its repeats minus the other's value, question by question
    _, lo, hi = two_level_ci([[r - A[q] for r in noisy[q]] for q in qs], 4000)
    assert (p2.low, p2.high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert p2.low < 0 < p2.high and p2.diff == 0.0
    assert p2.p_value == p1.p_value == 1.0                      # the sign-flip test stays on the rows' means


@pytest.mark.slow
def test_a_noisy_judges_run_gets_two_level_intervals_everywhere(judge_server, sample, retriever):  # noqa: F811
    metrics = ["context_precision", "nonllm_context_recall"]
    run = _run(judge_server, sample, retriever, NOISY, judge_repeats=3, limit=8, metrics=metrics)
    store = RunStore.default()
    rows = {run.run_id: store.rows(run.run_id)}
    stats = run_stats(store, [run.run_id])
    noise = judge_noise(rows[run.run_id], ["context_precision"])["context_precision"]
    cp = stats.get("context_precision")
    scores, _ = collect_scores(store, [run.run_id], "context_precision", rows)
    one = compare_scores(scores, "context_precision", [run.run_id], n_resamples=10_000)
    for s, s1 in zip(cp.result.models, one.result.models):
        assert [s.low, s.high] == noise[s.model]["ci_with_judge_noise"]      # exactly judge_noise's interval
        assert s.high - s.low > s1.high - s1.low and s.mean == s1.mean
    pair, pair1 = cp.result.pairs[0], one.result.pairs[0]
    assert pair.high - pair.low > pair1.high - pair1.low
    assert (pair.diff, pair.p_value) == (pair1.diff, pair1.p_value)
    assert any("include the judge's noise (3 judge repeats per row" in n for n in cp.notes)
    # a metric that is not judged keeps its numbers
    ids, _ = collect_scores(store, [run.run_id], "nonllm_context_recall", rows)
    assert stats.get("nonllm_context_recall").result == \
        compare_scores(ids, "nonllm_context_recall", [run.run_id], n_resamples=10_000).result
    # the gate's --ci-low reads the same two-level low
    bm25 = next(s for s in cp.result.models if s.model == "bm25")
    gate = check_gate(store, store.get(run.run_id), "context_precision", model="bm25", ci_low=1.0)
    assert not gate.ok and f"95% CI low = {bm25.low:.4f} < 1" in gate.message
