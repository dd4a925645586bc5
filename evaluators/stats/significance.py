"""Honest uncertainty for comparing models scored on the same queries.

Why: RAG test sets are small (tens to hundreds of queries) and per-query metrics are
noisy, so a 0.02 gap in mean nDCG is often luck. Every model scores the *same* queries,
so comparisons should be paired (per-query differences remove the shared "this query is
hard" variance), and when many pairs are compared the p-values must be corrected for
multiplicity. Methods, chosen because they assume no distribution for bounded, skewed,
tie-heavy IR metrics:

* ``bootstrap_ci``: percentile bootstrap over queries.
* ``paired_test``: a two-sided paired permutation (sign-flip) test and the interval of the
  mean difference that inverts the same test (``evaluators.stats.signflip``): the interval
  excludes 0 exactly when the test rejects, so a table and its sentence cannot disagree;
  exact enumeration for n <= 16, Monte Carlo with the +1 correction (Phipson & Smyth 2010)
  otherwise, so p is never exactly 0.
* ``holm``: Holm-Bonferroni step-down adjustment (family-wise error, no independence
  assumption, uniformly more powerful than Bonferroni).
* ``compare_models``: all of the above for every model pair, plus "which models are
  statistically tied with the best".
* ``min_detectable_difference``, ``required_queries``: sample-size hints (``evaluators.stats.power``).
* ``two_level_ci`` and ``repeats=`` on the paired test and ``compare_models``: when a judged metric
  was scored K times per row (``--judge-repeats``), the bootstrap resamples questions, then the
  repeats within each resampled question, so every interval includes the judge's own noise. Rows
  whose repeats never differ give exactly the one-level numbers.

NaNs (a metric that could not be computed for a query) are dropped; for paired methods
the whole pair is dropped. Everything is deterministic for a given ``seed``.

Usage:
    >>> a = {"q1": 0.9, "q2": 0.7, "q3": 0.8}
    >>> b = {"q1": 0.5, "q2": 0.6, "q3": 0.4}
    >>> result = compare_models({"dense": a, "bm25": b})
    >>> result.best
    'dense'
    >>> result.to_frame()        # per-model mean, CI, n  # doctest: +SKIP
    >>> result.pairs_frame()     # diff, CI, p, Holm-adjusted p  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evaluators.stats.power import paired_diffs
from evaluators.stats.results import ComparisonResult, ModelSummary, PairComparison
from evaluators.stats.signflip import SignFlip
from rag.i18n import _

_CHUNK = 1000  # bootstrap resamples per block, bounds memory to ~_CHUNK * n floats
Repeats = Mapping[str, Mapping[str, Sequence[float | None]]]   # {model: {query: each judge repeat's value}}


def _clean(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def bootstrap_ci(
    values: Sequence[float],
    n_resamples: int = 10000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap CI of the mean over queries.

    Constant values give a width-0 interval (exactly, not up to rounding). Empty input
    (after dropping NaNs) gives NaNs: there is nothing to estimate.
    """
    arr = _clean(values)
    n = arr.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if np.all(arr == arr[0]):
        return float(arr[0]), float(arr[0]), float(arr[0])
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, _CHUNK):
        stop = min(start + _CHUNK, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = arr[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return mean, float(low), float(high)


@dataclass(frozen=True)
class _PairData:
    """One pair's differences, its sign-flip test and (judge repeats that differ) two-level resamples."""

    diffs: np.ndarray
    flip: SignFlip | None
    noisy_means: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.diffs.size)

    def p(self) -> float:
        if self.n == 0:
            return math.nan
        return 1.0 if self.flip is None else self.flip.p()

    def interval(self, level: float, zero_inside: bool) -> tuple[float, float]:
        """The (1 − level) interval of the mean difference: the sign-flip test inverted at ``level``
        (widened to the two-level bootstrap's interval when the judge's repeats differ)."""
        if self.n == 0:
            return math.nan, math.nan
        low, high = (0.0, 0.0) if self.flip is None else self.flip.interval(level, zero_inside)
        if self.noisy_means is not None:
            lo2, hi2 = _percentiles(self.noisy_means, 1.0 - level)
            low, high = min(low, lo2), max(high, hi2)
        return low, high


def _pair_data(a: Sequence[float], b: Sequence[float], n_resamples: int, seed: int,
               repeats: tuple[Sequence, Sequence] | None) -> _PairData:
    diffs = paired_diffs(a, b)
    keep = ~(np.isnan(np.asarray(a, dtype=float)) | np.isnan(np.asarray(b, dtype=float)))
    sides = None if repeats is None else [_clean_repeats([r for r, k in zip(side, keep) if k], values)
                                          for side, values in zip(repeats, (np.asarray(a, float)[keep],
                                                                            np.asarray(b, float)[keep]))]
    noisy = diffs.size > 0 and sides is not None and any(len(set(q)) > 1 for side in sides for q in side)
    means = _two_level_means([(sides[0], 1.0), (sides[1], -1.0)], n_resamples, seed) if noisy else None
    flip = None if diffs.size == 0 or np.all(diffs == 0) else SignFlip.of(diffs, n_resamples, seed)
    return _PairData(diffs, flip, means)


def paired_test(a: Sequence[float], b: Sequence[float], n_resamples: int = 10000, seed: int = 0,
                repeats: tuple[Sequence, Sequence] | None = None, confidence: float = 0.95) -> dict[str, float]:
    """Paired comparison of two models on the same queries (aligned sequences).

    Returns ``{"diff": mean(a - b), "low", "high", "p_value", "n"}``: the two-sided paired sign-flip
    (permutation) p-value and the interval that inverts the same test (``evaluators.stats.signflip``),
    so the interval excludes 0 exactly when p < 1 − confidence. Identical inputs give p = 1 and
    CI (0, 0); too few pairs for any shift to be rejected give (-inf, inf). Pairs with a NaN on either
    side are dropped. ``repeats``: (a's, b's) judge repeats per query, aligned with a and b; when some
    differ, the interval also covers the two-level bootstrap's (questions, then each side's repeats),
    so it includes the judge's noise. The p-value stays the test on the per-question means: each mean
    already carries its K repeats' noise, and flipping resampled repeats would count that noise twice.
    """
    data = _pair_data(a, b, n_resamples, seed, repeats)
    if data.n == 0:
        return dict.fromkeys(("diff", "low", "high", "p_value"), math.nan) | {"n": 0}
    p_value = data.p()
    low, high = data.interval(1.0 - confidence, p_value >= 1.0 - confidence)
    return {"diff": float(data.diffs.mean()), "low": low, "high": high, "p_value": p_value, "n": data.n}


def _clean_repeats(repeats: Sequence[Sequence[float | None] | None], values: Sequence[float]) -> list[list[float]]:
    """Each question's finite repeat values, or its one value when it has none (K = 1, a non-judged row)."""
    out = []
    for reps, v in zip(repeats, values):
        kept = [float(x) for x in reps or [] if x is not None and math.isfinite(x)]
        out.append(kept or [float(v)])
    return out


def _two_level_means(sides: list[tuple[list[list[float]], float]], n_resamples: int, seed: int) -> np.ndarray:
    """Resampled statistics: questions drawn with replacement (one draw shared by every side), then each
    side's repeats within each drawn question; a question's value is the sum of sign × its side's mean of
    the drawn repeats. Questions are drawn by the same generator as ``bootstrap_ci``'s."""
    n = len(sides[0][0])
    mats = []
    for qs, sign in sides:
        k = np.array([len(q) for q in qs])
        m = np.full((n, k.max()), np.nan)
        for i, q in enumerate(qs):
            m[i, :len(q)] = q
        mats.append((m, k, sign))
    rng_q, rng_r = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, _CHUNK):
        size = min(_CHUNK, n_resamples - start)
        idx = rng_q.integers(0, n, size=(size, n))
        total = np.zeros((size, n))
        for m, k, sign in mats:
            kk = k[idx][..., None]
            r = np.minimum((rng_r.random((size, n, k.max())) * kk).astype(int), kk - 1)
            vals = np.where(np.arange(k.max()) < kk, m[idx[..., None], r], 0.0)
            total += sign * vals.sum(axis=2) / k[idx]
        means[start:start + size] = total.mean(axis=1)
    return means


def _percentiles(means: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def two_level_ci(repeats: Sequence[Sequence[float | None]], n_resamples: int = 10000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) of the mean over questions, each question the mean of its repeats; the
    percentile interval resamples questions, then repeats within each (None / NaN repeats dropped,
    questions with none left out). No question's repeats differ: ``bootstrap_ci``, exactly."""
    qs = [q for q in _clean_repeats(repeats, [math.nan] * len(repeats)) if not math.isnan(q[0])]
    if all(len(set(q)) == 1 for q in qs):          # no judge noise: the one-level interval, exactly
        return bootstrap_ci([q[0] for q in qs], n_resamples, confidence, seed)
    low, high = _percentiles(_two_level_means([(qs, 1.0)], n_resamples, seed), confidence)
    return float(np.mean([np.mean(q) for q in qs])), low, high


def holm(p_values: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """Holm-Bonferroni adjusted p-values: sort ascending, multiply the i-th smallest
    by (m - i), enforce monotonicity with a running max, cap at 1. NaN p-values are
    passed through and do not count towards m."""
    # sort on p only: keys need not be orderable (e.g. tuples of model names on equal p)
    valid = sorted(((k, p) for k, p in p_values.items() if not math.isnan(p)), key=lambda kv: kv[1])
    m = len(valid)
    adjusted: dict[Hashable, float] = {key: math.nan for key in p_values}
    running = 0.0
    for i, (key, p) in enumerate(valid):
        running = max(running, min(1.0, (m - i) * p))
        adjusted[key] = running
    return adjusted










def _no_signal(summaries: list[ModelSummary], values: dict[str, np.ndarray]) -> str | None:
    """Why this metric cannot name a best model, or None: no model scored, or every score is one value."""
    scored = [s for s in summaries if s.n > 0]
    if not scored:
        return _("no model has a score on it")
    every = np.concatenate([values[s.model] for s in scored])
    if np.all(every == every[0]):  # formed in the reader's language: the pages and the report quote it as is
        if len(summaries) == 1:
            return _("the only model scored {score} on every scored question: the metric does not separate "
                     "them").format(score=f"{every[0]:.3f}")
        return _("every model scored {score} on every scored question: the metric does not separate them").format(
            score=f"{every[0]:.3f}")
    return None


def compare_models(
    scores: Mapping[str, Mapping[str, float]],
    alpha: float = 0.05,
    n_resamples: int = 10000,
    seed: int = 0,
    repeats: Repeats | None = None,
) -> ComparisonResult:
    """Compare models given ``{model: {query_id: score}}`` for one metric.

    ``repeats``: ``{model: {query_id: [each judge repeat's value]}}`` of a judged metric scored K
    times per row: where a model's repeats differ, its CI and its pairs' CIs are two-level (questions,
    then repeats), with the queries in id order (the rows' stored order is their completion order);
    elsewhere every number is the one-level one.

    Each pair is tested on the queries both models scored (the paired design needs the same queries on
    both sides). Holm's correction runs over all pairs; each pair's interval inverts its sign-flip test at
    the pair's Holm level (α · p / p_Holm), so it excludes 0 exactly when the Holm-adjusted p < α.
    Coverage before ranking: only models scored on as many questions as the best-covered one can be
    best (``low_coverage`` are the others: a mean on the questions a model survived is not a ranking).
    The best is the highest mean among those (first listed on ties); a model is *tied with the best*
    when its difference is not significant, or when it cannot be tested against it (no common queries):
    not shown worse is treated as tied. A model with no score at all (n = 0, e.g. a RAG setup on a
    retrieval metric) is *not scored*: neither tied nor worse. When every score is one value, or no
    model has one, there is no best: ``no_signal`` says why.
    """
    names = list(scores)
    asked = len(set().union(*[set(s) for s in scores.values()])) if scores else 0
    repeats = repeats or {}
    noisy = {m for m in names if any(len(set(v for v in r if v is not None)) > 1
                                     for r in (repeats.get(m) or {}).values())}
    summaries, values = [], {}
    for name in names:
        values[name] = _clean(list(scores[name].values()))
        mean, low, high = bootstrap_ci(values[name], n_resamples, seed=seed)
        if name in noisy:
            qs = sorted(q for q, v in scores[name].items() if not math.isnan(v))
            reps = _clean_repeats([repeats[name].get(q) for q in qs], [scores[name][q] for q in qs])
            low, high = two_level_ci(reps, n_resamples, seed=seed)[1:]
        summaries.append(ModelSummary(name, mean, low, high, int(values[name].size), asked))

    data: dict[tuple[str, str], _PairData] = {}
    for model_a, model_b in itertools.combinations(names, 2):
        common = [q for q in scores[model_a] if q in scores[model_b]]
        pair_reps = None
        if noisy & {model_a, model_b}:
            common = sorted(common)
            pair_reps = tuple([(repeats.get(m) or {}).get(q) for q in common] for m in (model_a, model_b))
        a = [scores[model_a][q] for q in common]
        b = [scores[model_b][q] for q in common]
        data[(model_a, model_b)] = _pair_data(a, b, n_resamples, seed, pair_reps)
    raw = {key: d.p() for key, d in data.items()}
    adjusted = holm(raw)
    pairs = []
    for (a, b), d in data.items():
        p, p_adj = raw[(a, b)], adjusted[(a, b)]
        level = alpha * p / p_adj if p_adj > 0 else alpha   # this pair's Holm level: p < level ⇔ p_adj < α
        low, high = d.interval(level, not p_adj < alpha) if d.n else (math.nan, math.nan)
        significant = bool(p_adj < alpha and not low <= 0.0 <= high)
        pairs.append(PairComparison(a, b, d.n, float(d.diffs.mean()) if d.n else math.nan, low, high, p, p_adj,
                                    1.0 - level, significant))

    notes: list[str] = []
    no_signal = _no_signal(summaries, values)
    scored = [s for s in summaries if s.n > 0]
    top = max((s.n for s in scored), default=0)
    low_coverage = frozenset(s.model for s in scored if s.n < top)
    eligible = [s for s in scored if s.n == top]
    best = max(eligible, key=lambda s: s.mean).model if eligible and no_signal is None else None
    tied: set[str] = set()
    if best is not None:
        tied.add(best)
        for p in pairs:
            if best in (p.model_a, p.model_b):
                other = p.model_b if p.model_a == best else p.model_a
                if other not in {s.model for s in eligible}:
                    continue
                if math.isnan(p.p_adjusted):
                    notes.append(_("{model}: no common scored queries with {best}; counted as tied").format(
                        model=other, best=best))
                    tied.add(other)
                elif not p.significant:
                    tied.add(other)
    return ComparisonResult(summaries, pairs, best, frozenset(tied), alpha, notes, no_signal, low_coverage)
