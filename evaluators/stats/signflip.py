"""The paired sign-flip (permutation) test and the confidence interval that inverts it: one method, one story.

Why: a paired difference used to get a bootstrap interval and, separately, a sign-flip p-value. Two
methods disagree at the edges, and on 6 questions a report read "difference 0.625 [0.375, 0.750], p = 0.17:
statistically tied": an interval that excludes 0 beside a sentence that says tie. Here the interval is the
set of shifts δ the *same* test does not reject: δ is in the interval exactly when the sign-flip test of
the differences minus δ has p ≥ the level. So "the interval excludes 0" and "the test rejects" are one
statement (Good, *Permutation Tests*, ch. 3; Hodges–Lehmann style test inversion). The sign vectors are
drawn once (all 2^n of them up to n = 16, else ``n_resamples`` with the +1 correction of Phipson & Smyth
2010) and reused for every δ, so the inversion is exact for the test that gives the p-value.

When even "every question favours one side" cannot reach the level (n = 6 has a smallest p of 2/64 = 0.031;
with Holm's correction over three pairs the level is 0.0167), no shift is rejected and the interval is
unbounded: the honest statement is "too few questions to tell".

Usage:
    flip = SignFlip.of(diffs, n_resamples=10_000, seed=0)
    flip.p()                          # two-sided p of H0 "mean difference 0"
    flip.interval(0.05)               # (low, high): every δ with p(δ) >= 0.05; (-inf, inf) if none rejected
    flip.smallest_p                   # the best p these n questions can give
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EXACT_MAX_N = 16   # 2**16 sign vectors: exact enumeration is cheap up to here
CHUNK = 1000       # random sign vectors per block (bounds memory to ~CHUNK * n floats)
_STEPS = 60        # bisection steps per interval end: (max - min) / 2**60, far below 3 printed decimals


@dataclass(frozen=True)
class SignFlip:
    """Sign vectors' sums against one set of paired differences; p(δ) for any shift δ in O(resamples)."""

    diffs: np.ndarray      # the n paired differences a - b
    signed: np.ndarray     # for each sign vector s: s · diffs
    sign_sums: np.ndarray  # for each sign vector s: Σ s
    exact: bool            # all 2^n vectors (p = share), or a random draw (p = (count + 1) / (B + 1))

    @classmethod
    def of(cls, diffs, n_resamples: int = 10000, seed: int = 0) -> SignFlip:
        d = np.asarray(diffs, dtype=float).ravel()
        n = d.size
        if n <= EXACT_MAX_N:
            signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
            return cls(d, signs @ d, signs.sum(axis=1).astype(float), True)
        rng = np.random.default_rng(seed)
        signed, sums = np.empty(n_resamples), np.empty(n_resamples)
        for start in range(0, n_resamples, CHUNK):  # the same stream as the earlier chunked test
            size = min(CHUNK, n_resamples - start)
            signs = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
            signed[start:start + size], sums[start:start + size] = signs @ d, signs.sum(axis=1)
        return cls(d, signed, sums, False)

    @property
    def n(self) -> int:
        return int(self.diffs.size)

    def p(self, delta: float = 0.0) -> float:
        """Two-sided p of H0 "each difference minus δ is equally likely + or −" (statistic |mean|)."""
        n = self.n
        observed = abs(self.diffs.mean() - delta)
        tol = 1e-12 * max(1.0, observed)  # equal statistics must count as "as extreme"
        extreme = int(np.sum(np.abs(self.signed - delta * self.sign_sums) / n >= observed - tol))
        return extreme / self.signed.size if self.exact else (extreme + 1) / (self.signed.size + 1)

    @property
    def smallest_p(self) -> float:
        """The p of a shift beyond every difference: only the all-same sign vectors are as extreme."""
        return self.p(float(self.diffs.max()) + 1.0 + abs(float(self.diffs.max())))

    def interval(self, level: float, zero_inside: bool | None = None) -> tuple[float, float]:
        """Every shift δ whose p(δ) >= ``level`` (the (1 − level) interval), found by bisection from the
        mean outwards; (-inf, inf) when no shift can be rejected at this level. ``zero_inside`` (the
        decision the reader is told) pins 0 on the matching side, so the interval and the decision cannot
        disagree even where p(δ) is not monotone."""
        n = self.n
        if n == 0:
            return math.nan, math.nan
        if self.smallest_p >= level:
            return -math.inf, math.inf
        mean = float(self.diffs.mean())
        if np.all(self.diffs == self.diffs[0]):
            low = high = float(self.diffs[0])
        else:
            lo, hi = float(self.diffs.min()), float(self.diffs.max())
            margin = 1e-9 * (1.0 + hi - lo)  # just beyond every difference: p = smallest_p < level
            low = self._edge(mean, lo - margin, level, zero_inside)
            high = self._edge(mean, hi + margin, level, zero_inside)
        if zero_inside:  # p(0) >= level: 0 belongs to the interval
            low, high = min(low, 0.0), max(high, 0.0)
        return low, high

    def _edge(self, inside: float, outside: float, level: float, zero_inside: bool | None) -> float:
        """The last accepted shift between ``inside`` (p = 1) and ``outside`` (p = smallest_p < level)."""
        if zero_inside is not None and min(inside, outside) < 0.0 < max(inside, outside):
            if zero_inside:
                inside = 0.0
            else:
                outside = 0.0
        for _ in range(_STEPS):
            mid = (inside + outside) / 2.0
            if mid in (inside, outside):
                break
            if self.p(mid) >= level:
                inside = mid
            else:
                outside = mid
        return inside
