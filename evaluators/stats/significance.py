"""Honest uncertainty for comparing models scored on the same queries.

Why: RAG test sets are small (tens to hundreds of queries) and per-query metrics are
noisy, so a 0.02 gap in mean nDCG is often luck. Every model scores the *same* queries,
so comparisons should be paired (per-query differences remove the shared "this query is
hard" variance), and when many pairs are compared the p-values must be corrected for
multiplicity. Methods, chosen because they assume no distribution for bounded, skewed,
tie-heavy IR metrics:

* ``bootstrap_ci``: percentile bootstrap over queries.
* ``paired_test``: paired bootstrap CI of the mean difference plus a two-sided paired
  permutation (sign-flip) test; exact enumeration for n <= 16, Monte Carlo with the
  +1 correction (Phipson & Smyth 2010) otherwise, so p is never exactly 0.
* ``holm``: Holm-Bonferroni step-down adjustment (family-wise error, no independence
  assumption, uniformly more powerful than Bonferroni).
* ``compare_models``: all of the above for every model pair, plus "which models are
  statistically tied with the best".
* ``min_detectable_difference``: a sample-size hint (normal approximation).
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
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy.stats import norm

_EXACT_MAX_N = 16  # 2**16 sign vectors: exact enumeration is cheap up to here
_CHUNK = 1000  # bootstrap resamples per block, bounds memory to ~_CHUNK * n floats
Repeats = Mapping[str, Mapping[str, Sequence[float | None]]]   # {model: {query: each judge repeat's value}}


def _clean(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def _paired_diffs(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    a_arr = np.asarray(a, dtype=float).ravel()
    b_arr = np.asarray(b, dtype=float).ravel()
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"paired inputs differ in length: {a_arr.size} vs {b_arr.size}")
    keep = ~(np.isnan(a_arr) | np.isnan(b_arr))
    return a_arr[keep] - b_arr[keep]


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


def _sign_flip_p(diffs: np.ndarray, n_resamples: int, rng: np.random.Generator) -> float:
    """Two-sided p of |mean(d)| under H0 "each difference is equally likely +/-"."""
    n = diffs.size
    observed = abs(diffs.mean())
    tol = 1e-12 * max(1.0, observed)  # equal statistics must count as "as extreme"
    if n <= _EXACT_MAX_N:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        stats = np.abs(signs @ diffs) / n
        return float(np.mean(stats >= observed - tol))
    extreme = 0
    for start in range(0, n_resamples, _CHUNK):
        size = min(_CHUNK, n_resamples - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
        extreme += int(np.sum(np.abs(signs @ diffs) / n >= observed - tol))
    return (extreme + 1) / (n_resamples + 1)


def paired_test(a: Sequence[float], b: Sequence[float], n_resamples: int = 10000, seed: int = 0,
                repeats: tuple[Sequence, Sequence] | None = None) -> dict[str, float]:
    """Paired comparison of two models on the same queries (aligned sequences).

    Returns ``{"diff": mean(a - b), "low", "high", "p_value", "n"}``: the bootstrap CI of
    the mean difference and the sign-flip permutation p-value. Identical inputs give
    p = 1 and CI (0, 0). Pairs with a NaN on either side are dropped. ``repeats``: (a's, b's)
    judge repeats per query, aligned with a and b; when some differ, the CI resamples questions,
    then each side's repeats within each question (``two_level_ci``). The p-value stays the
    sign-flip test on the per-question means: each mean already carries its K repeats' noise, so
    the test is valid for them, and flipping resampled repeats would count that noise twice.
    """
    diffs = _paired_diffs(a, b)
    n = diffs.size
    if n == 0:
        return dict.fromkeys(("diff", "low", "high", "p_value"), math.nan) | {"n": 0}
    keep = ~(np.isnan(np.asarray(a, dtype=float)) | np.isnan(np.asarray(b, dtype=float)))
    sides = None if repeats is None else [_clean_repeats([r for r, k in zip(side, keep) if k], values)
                                          for side, values in zip(repeats, (np.asarray(a, float)[keep],
                                                                            np.asarray(b, float)[keep]))]
    noisy = sides is not None and any(len(set(q)) > 1 for side in sides for q in side)
    if np.all(diffs == 0) and not noisy:
        return {"diff": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0, "n": n}
    if noisy:
        diff = float(diffs.mean())
        low, high = _percentiles(_two_level_means([(sides[0], 1.0), (sides[1], -1.0)], n_resamples, seed), 0.95)
    else:
        diff, low, high = bootstrap_ci(diffs, n_resamples=n_resamples, seed=seed)
    p_value = _sign_flip_p(diffs, n_resamples, np.random.default_rng(seed))
    return {"diff": diff, "low": low, "high": high, "p_value": p_value, "n": n}


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


@dataclass(frozen=True)
class ModelSummary:
    """One model's mean score with its bootstrap CI over its n non-NaN queries."""

    model: str
    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class PairComparison:
    """model_a minus model_b on their n common (non-NaN) queries."""

    model_a: str
    model_b: str
    n: int
    diff: float
    low: float
    high: float
    p_value: float
    p_adjusted: float


_FRAME_NAMES = {"low": "ci_low", "high": "ci_high", "p_adjusted": "p_holm"}


@dataclass(frozen=True)
class ComparisonResult:
    """Output of :func:`compare_models`; ``to_frame``/``pairs_frame`` for display."""

    models: list[ModelSummary]
    pairs: list[PairComparison]
    best: str | None
    tied_with_best: frozenset[str]
    alpha: float
    notes: list[str] = field(default_factory=list)

    def pair(self, model_a: str, model_b: str) -> PairComparison:
        """The comparison of a vs b, sign-flipped if it was computed as b vs a."""
        for p in self.pairs:
            if (p.model_a, p.model_b) == (model_a, model_b):
                return p
            if (p.model_a, p.model_b) == (model_b, model_a):
                flipped = {"diff": -p.diff, "low": -p.high, "high": -p.low}
                return replace(p, model_a=model_a, model_b=model_b, **flipped)
        raise KeyError((model_a, model_b))

    def to_frame(self):
        """Per-model table, best first: mean, ci_low, ci_high, n, best, tied_with_best."""
        import pandas as pd

        frame = pd.DataFrame([asdict(s) for s in self.models], columns=list(ModelSummary.__annotations__)).rename(
            columns=_FRAME_NAMES
        )
        frame["best"] = frame["model"] == self.best
        frame["tied_with_best"] = frame["model"].isin(self.tied_with_best)
        frame = frame.sort_values("mean", ascending=False, kind="stable")
        return frame.reset_index(drop=True)

    def pairs_frame(self):
        """One row per pair: model_a, model_b, n, diff (a - b), ci_low, ci_high,
        p_value (raw), p_holm, significant (p_holm < alpha)."""
        import pandas as pd

        frame = pd.DataFrame(
            [asdict(p) for p in self.pairs],
            columns=list(PairComparison.__annotations__),
        ).rename(columns=_FRAME_NAMES)
        frame["significant"] = (frame["p_holm"] < self.alpha).astype(bool)
        return frame


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

    Each pair is tested on the queries both models scored (the paired design needs the
    same queries on both sides). Holm's correction runs over all pairs. The best model
    is the highest mean (first listed on ties); a model is *tied with the best* when its
    Holm-adjusted p against the best is >= alpha, or when it cannot be tested against
    it (no common queries): not shown worse is treated as tied. The best is in the set.
    A model with no score at all (n = 0, e.g. a RAG setup on a retrieval metric) is *not
    scored*: neither tied nor worse, and never in the set.
    """
    names = list(scores)
    repeats = repeats or {}
    noisy = {m for m in names if any(len(set(v for v in r if v is not None)) > 1
                                     for r in (repeats.get(m) or {}).values())}
    summaries = []
    for name in names:
        values = _clean(list(scores[name].values()))
        mean, low, high = bootstrap_ci(values, n_resamples, seed=seed)
        if name in noisy:
            qs = sorted(q for q, v in scores[name].items() if not math.isnan(v))
            reps = _clean_repeats([repeats[name].get(q) for q in qs], [scores[name][q] for q in qs])
            low, high = two_level_ci(reps, n_resamples, seed=seed)[1:]
        summaries.append(ModelSummary(name, mean, low, high, int(values.size)))

    raw: dict[tuple[str, str], dict] = {}
    for model_a, model_b in itertools.combinations(names, 2):
        common = [q for q in scores[model_a] if q in scores[model_b]]
        pair_reps = None
        if noisy & {model_a, model_b}:
            common = sorted(common)
            pair_reps = tuple([(repeats.get(m) or {}).get(q) for q in common] for m in (model_a, model_b))
        a = [scores[model_a][q] for q in common]
        b = [scores[model_b][q] for q in common]
        raw[(model_a, model_b)] = paired_test(a, b, n_resamples=n_resamples, seed=seed, repeats=pair_reps)
    adjusted = holm({key: r["p_value"] for key, r in raw.items()})
    pairs = [PairComparison(model_a=a, model_b=b, p_adjusted=adjusted[(a, b)], **r) for (a, b), r in raw.items()]

    notes: list[str] = []
    ranked = [s for s in summaries if not math.isnan(s.mean)]
    best = max(ranked, key=lambda s: s.mean).model if ranked else None
    tied: set[str] = set()
    unscored = {s.model for s in summaries if s.n == 0}
    if best is not None:
        tied.add(best)
        for p in pairs:
            if best in (p.model_a, p.model_b):
                other = p.model_b if p.model_a == best else p.model_a
                if other in unscored:
                    continue
                if math.isnan(p.p_adjusted):
                    notes.append(f"{other}: no common scored queries with {best}; counted as tied")
                    tied.add(other)
                elif p.p_adjusted >= alpha:
                    tied.add(other)
    return ComparisonResult(summaries, pairs, best, frozenset(tied), alpha, notes=notes)


def min_detectable_difference(
    values_a: Sequence[float] | None = None,
    values_b: Sequence[float] | None = None,
    *,
    sd_diff: float | None = None,
    n: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest true mean difference that n paired queries detect with the given power.

    ``(z_{1-alpha/2} + z_{power}) * sd_diff / sqrt(n)``: the normal approximation to a
    two-sided paired test (a paired z-test; it treats the sample sd as the true sd and
    ignores the permutation test's discreteness, so it is optimistic for n < ~30). Use
    it as a sample-size hint, not a guarantee. Give either paired score lists (sd_diff
    and n are estimated from their non-NaN pairs; pass n to ask "what if I had n
    queries?") or ``sd_diff`` and ``n`` directly.
    """
    if values_a is not None:
        if values_b is None:
            raise ValueError("values_b is required with values_a")
        diffs = _paired_diffs(values_a, values_b)
        if diffs.size < 2:
            raise ValueError("need at least 2 complete pairs to estimate sd_diff")
        sd_diff = float(np.std(diffs, ddof=1))
        n = diffs.size if n is None else n
    if sd_diff is None or n is None:
        raise ValueError("give values_a and values_b, or sd_diff and n")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    z = norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power)
    return float(z * sd_diff / math.sqrt(n))


def required_queries(difference: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """The inverse hint: paired queries needed to detect ``difference`` (same
    normal approximation as :func:`min_detectable_difference`), rounded up."""
    if difference <= 0:
        raise ValueError("difference must be > 0")
    z = norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power)
    return max(1, math.ceil((z * sd_diff / difference) ** 2))
