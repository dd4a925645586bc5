"""Tests for evaluators.stats.significance: bootstrap CIs, paired permutation test, Holm, model comparison."""

import itertools
import math

import numpy as np
import pytest

from evaluators.stats.power import min_detectable_difference, required_queries
from evaluators.stats.results import ComparisonResult
from evaluators.stats.significance import bootstrap_ci, compare_models, holm, paired_test

NAN = float("nan")


# ---------------------------------------------------------------- bootstrap_ci


def test_bootstrap_constant_values_width_zero():
    # 0.1 * 7 summed in floating point is not exactly 0.7; the CI must still be exactly (0.1, 0.1)
    assert bootstrap_ci([0.1] * 7) == (0.1, 0.1, 0.1)
    assert bootstrap_ci([1.0]) == (1.0, 1.0, 1.0)


def test_bootstrap_mean_and_ci_contain_sample_mean():
    values = np.random.default_rng(3).normal(0.5, 0.2, size=200)
    mean, low, high = bootstrap_ci(values)
    assert mean == pytest.approx(values.mean())
    assert low < mean < high
    # Width ~ 2 * 1.96 * sd / sqrt(n) = 2 * 1.96 * 0.2 / 14.14 ~= 0.055 for a normal sample
    assert (high - low) == pytest.approx(2 * 1.96 * values.std(ddof=1) / math.sqrt(200), rel=0.15)


def test_bootstrap_matches_scipy_percentile_bootstrap():
    from scipy.stats import bootstrap

    values = np.random.default_rng(5).exponential(size=80)
    _, low, high = bootstrap_ci(values, n_resamples=20000, confidence=0.9)
    ref = bootstrap(
        (values,),
        np.mean,
        n_resamples=20000,
        confidence_level=0.9,
        method="percentile",
        random_state=1,
    ).confidence_interval
    assert low == pytest.approx(ref.low, abs=0.02)
    assert high == pytest.approx(ref.high, abs=0.02)


def test_bootstrap_drops_nans_and_handles_empty():
    mean, low, high = bootstrap_ci([1.0, NAN, 3.0])
    assert mean == 2.0 and 1.0 <= low <= high <= 3.0
    assert all(math.isnan(x) for x in bootstrap_ci([NAN, NAN]))
    assert all(math.isnan(x) for x in bootstrap_ci([]))


def test_bootstrap_deterministic_with_seed():
    values = np.random.default_rng(0).random(50)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_bootstrap_resample_count_not_multiple_of_chunk():
    values = np.arange(10.0)
    _, low, high = bootstrap_ci(values, n_resamples=1234)
    assert 0 <= low < 4.5 < high <= 9


# ---------------------------------------------------------------- paired_test


def test_identical_models_p_one_ci_zero():
    a = np.random.default_rng(1).random(30)
    r = paired_test(a, a.copy())
    assert r == {"diff": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0, "n": 30}


def test_better_on_every_query_is_significant():
    rng = np.random.default_rng(2)
    b = rng.random(30)
    a = b + 0.05 + rng.random(30) * 0.01  # a beats b on all 30 queries
    r = paired_test(a, b)
    assert r["p_value"] < 0.01
    # Monte Carlo (n > 16) with +1 correction: p is never 0, at least 1/(10000+1)
    assert r["p_value"] >= 1 / 10001
    assert r["diff"] == pytest.approx(np.mean(a - b))
    assert 0.05 < r["low"] < r["diff"] < r["high"] < 0.06
    # Swapping sides flips the sign of the difference but not the two-sided p-value
    s = paired_test(b, a)
    assert s["diff"] == pytest.approx(-r["diff"])
    assert s["p_value"] == r["p_value"]


def test_exact_sign_flip_small_n():
    # n=5 differences, all positive and distinct: among 2^5 = 32 sign patterns only all-plus and
    # all-minus reach |mean| >= observed, so p = 2/32 = 0.0625 exactly.
    r = paired_test([1.0, 2.0, 3.0, 4.0, 5.0], [0.0] * 5)
    assert r["p_value"] == pytest.approx(2 / 32)
    # n=16 (largest exact case): p = 2 / 2^16
    r16 = paired_test(np.arange(1.0, 17.0), np.zeros(16))
    assert r16["p_value"] == pytest.approx(2 / 2**16)


def test_exact_sign_flip_counts_ties_with_observed():
    # diffs (1, 1, -1, 1): observed |mean| = 0.5. Patterns with |sum| >= 2: sum = +-2 or +-4.
    # Flipping signs of four +-1 values: sums are 4 (1 way), 2 (4), 0 (6), -2 (4), -4 (1) -> 10/16.
    r = paired_test([2.0, 2.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0])
    assert r["p_value"] == pytest.approx(10 / 16)


def test_mixed_small_difference_not_significant():
    rng = np.random.default_rng(4)
    b = rng.random(40)
    a = b + rng.normal(0, 0.1, 40)  # no real difference
    r = paired_test(a, b)
    assert r["p_value"] > 0.05
    assert r["low"] < 0 < r["high"]


def test_paired_nan_pairs_dropped():
    a = [0.5, NAN, 0.7, 0.9]
    b = [0.4, 0.3, NAN, 0.8]
    r = paired_test(a, b)
    assert r["n"] == 2
    assert r["diff"] == pytest.approx(0.1)  # (0.1 + 0.1) / 2
    # identical after dropping NaN pairs -> p = 1, CI (0, 0)
    same = paired_test([0.5, NAN, 0.7], [0.5, 0.2, 0.7])
    assert (same["p_value"], same["low"], same["high"], same["n"]) == (1.0, 0.0, 0.0, 2)
    empty = paired_test([NAN], [1.0])
    assert empty["n"] == 0 and math.isnan(empty["p_value"])


def test_paired_length_mismatch():
    with pytest.raises(ValueError):
        paired_test([1.0, 2.0], [1.0])


def test_paired_deterministic_with_seed():
    rng = np.random.default_rng(9)
    a, b = rng.random(25), rng.random(25)
    assert paired_test(a, b, seed=11) == paired_test(a, b, seed=11)


# ---------------------------------------------------------------- holm


def test_holm_known_example():
    # sorted: 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> running max 0.06
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})


def test_holm_caps_at_one_and_is_monotone():
    adjusted = holm({"x": 0.5, "y": 0.6, "z": 0.001})
    # z: 0.001*3 = 0.003; x: 0.5*2 = 1.0; y: max(1.0, 0.6*1) = 1.0
    assert adjusted == pytest.approx({"z": 0.003, "x": 1.0, "y": 1.0})
    raw = dict(enumerate(np.random.default_rng(0).random(20) ** 3))
    adj = holm(raw)
    order = sorted(raw, key=raw.get)
    assert all(adj[i] <= adj[j] for i, j in itertools.pairwise(order))
    assert all(raw[k] <= adj[k] <= 1.0 for k in raw)


def test_holm_nan_passthrough_and_empty():
    adjusted = holm({"a": 0.01, "b": NAN, "c": 0.02})
    assert math.isnan(adjusted["b"])
    # m = 2: a = 0.01*2 = 0.02; c = max(0.02, 0.02*1) = 0.02
    assert adjusted["a"] == pytest.approx(0.02)
    assert adjusted["c"] == pytest.approx(0.02)
    assert holm({}) == {}
    # equal p-values with keys that cannot be ordered against each other
    assert holm({("a", 1): 0.02, None: 0.02}) == pytest.approx({("a", 1): 0.04, None: 0.04})


# ---------------------------------------------------------------- compare_models


def _three_models(n=30):
    rng = np.random.default_rng(0)
    base = rng.random(n)
    noise = rng.normal(0, 0.05, n)
    # "close": mean exactly 0.01 below best, sd 0.05 -> not separable at n=30
    noise -= noise.mean() + 0.01
    q = [f"q{i}" for i in range(n)]
    return {
        "best": dict(zip(q, base + 0.2, strict=True)),
        "close": dict(zip(q, base + 0.2 + noise, strict=True)),  # tied with best
        "worse": dict(zip(q, base, strict=True)),  # 0.2 worse on every query
    }


def test_compare_models_best_and_ties():
    result = compare_models(_three_models())
    assert isinstance(result, ComparisonResult)
    assert result.best == "best"
    assert result.tied_with_best == {"best", "close"}
    assert [s.model for s in result.models] == ["best", "close", "worse"]
    assert all(s.n == 30 and s.low <= s.mean <= s.high for s in result.models)
    assert len(result.pairs) == 3  # every unordered pair once
    for p in result.pairs:
        assert p.p_value <= p.p_adjusted <= 1.0
    worse = result.pair("best", "worse")
    assert worse.diff == pytest.approx(0.2) and worse.p_adjusted < 0.05
    flipped = result.pair("worse", "best")
    assert flipped.diff == pytest.approx(-0.2) and flipped.low == pytest.approx(-worse.high)
    with pytest.raises(KeyError):
        result.pair("best", "nope")


def test_compare_models_uses_holm_adjusted_p_for_ties():
    # With alpha above the raw p but the comparison judged on adjusted p: choose alpha between them.
    result = compare_models(_three_models())
    p = result.pair("best", "worse")
    # adjusted p >= alpha -> tied
    strict = compare_models(_three_models(), alpha=p.p_adjusted)
    assert "worse" in strict.tied_with_best
    loose = compare_models(_three_models(), alpha=p.p_adjusted * 1.0001)
    assert "worse" not in loose.tied_with_best


def test_compare_models_common_queries_and_nans():
    scores = {
        "a": {"q1": 0.9, "q2": 0.8, "q3": NAN, "q4": 0.7},
        "b": {"q1": 0.5, "q2": 0.4, "q3": 0.3},  # q4 missing
    }
    result = compare_models(scores)
    pair = result.pair("a", "b")
    assert pair.n == 2  # q1, q2 (q3 NaN on a, q4 missing on b)
    assert pair.diff == pytest.approx(0.4)
    assert [s.n for s in result.models] == [3, 3]
    # n=2 exact test: all-plus and all-minus of 4 patterns -> p = 2/4: can't be significant
    assert pair.p_value == pytest.approx(0.5)
    assert result.tied_with_best == {"a", "b"}


def test_compare_models_no_common_queries_counts_as_tied():
    result = compare_models({"a": {"q1": 1.0}, "b": {"q2": 0.0}})
    assert result.best == "a"
    assert result.tied_with_best == {"a", "b"}
    assert result.notes and "no common" in result.notes[0]


def test_compare_models_identical_and_single():
    same = {"q1": 0.3, "q2": 0.6, "q3": 0.9}
    result = compare_models({"x": same, "y": dict(same)})
    assert result.pairs[0].p_value == 1.0 and result.pairs[0].diff == 0.0
    assert result.tied_with_best == {"x", "y"}
    single = compare_models({"only": same})
    assert single.best == "only" and single.pairs == [] and single.tied_with_best == {"only"}
    assert compare_models({}).best is None


def test_frames():
    result = compare_models(_three_models())
    frame = result.to_frame()
    assert list(frame.columns) == [
        "model",
        "mean",
        "ci_low",
        "ci_high",
        "n",
        "best",
        "tied_with_best",
    ]
    assert list(frame["model"]) == ["best", "close", "worse"]  # sorted by mean desc
    assert list(frame["best"]) == [True, False, False]
    pairs = result.pairs_frame()
    assert list(pairs.columns) == [
        "model_a",
        "model_b",
        "n",
        "diff",
        "ci_low",
        "ci_high",
        "p_value",
        "p_holm",
        "significant",
    ]
    assert len(pairs) == 3
    assert pairs.set_index(["model_a", "model_b"]).loc[("best", "worse"), "significant"]


def test_compare_models_deterministic():
    assert compare_models(_three_models(), seed=3) == compare_models(_three_models(), seed=3)


# ---------------------------------------------------------------- sample size


def test_min_detectable_difference_formula():
    # (z_0.975 + z_0.8) * sd / sqrt(n) = (1.959964 + 0.841621) * 1 / 10 = 0.2801585
    assert min_detectable_difference(sd_diff=1.0, n=100) == pytest.approx(0.2801585, abs=1e-6)
    # 4x the queries halves the detectable difference
    assert min_detectable_difference(sd_diff=1.0, n=400) == pytest.approx(0.2801585 / 2, abs=1e-6)


def test_min_detectable_difference_from_values():
    a = [1.0, 2.0, 3.0, 4.0, NAN]
    b = [0.0, 2.0, 2.0, 4.0, 1.0]
    # diffs (1, 0, 1, 0): sd (ddof=1) = sqrt(1/3) = 0.57735; n = 4
    expected = 2.8015853 * math.sqrt(1 / 3) / 2
    assert min_detectable_difference(a, b) == pytest.approx(expected, rel=1e-6)
    # "what if I had 100 queries?"
    assert min_detectable_difference(a, b, n=100) == pytest.approx(2.8015853 * math.sqrt(1 / 3) / 10, rel=1e-6)


def test_min_detectable_difference_errors():
    with pytest.raises(ValueError):
        min_detectable_difference()
    with pytest.raises(ValueError):
        min_detectable_difference([1.0, 2.0])
    with pytest.raises(ValueError):
        min_detectable_difference([1.0], [0.0])
    with pytest.raises(ValueError):
        min_detectable_difference(sd_diff=1.0, n=0)


def test_required_queries_inverts_mdd():
    # (2.8015853 * 1 / 0.1)^2 = 784.89 -> 785
    assert required_queries(0.1, 1.0) == 785
    n = required_queries(0.05, 0.2)
    assert min_detectable_difference(sd_diff=0.2, n=n) <= 0.05 < min_detectable_difference(sd_diff=0.2, n=n - 1)


def test_a_model_with_no_scores_is_not_tied_with_the_best():
    nan = float("nan")
    result = compare_models({"a": {"q1": 0.9, "q2": 0.7}, "b": {"q1": 0.5, "q2": 0.6},
                             "rag": {"q1": nan, "q2": nan}}, n_resamples=200)
    assert result.best == "a" and "rag" not in result.tied_with_best and result.notes == []
    assert [s.n for s in result.models] == [2, 2, 0]
