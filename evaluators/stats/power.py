"""Sample-size hints for a paired comparison: the smallest difference n questions detect, and the
questions needed to detect a given one (normal approximation), plus the floor the exact sign-flip test
sets: with n questions its smallest two-sided p is 2 / 2^n, so no n below log2(2 / level) can ever reject.

Usage:
    min_detectable_difference(sd_diff=0.2, n=30)      # 0.102
    required_queries(0.1, sd_diff=0.2)                # 32
    exact_floor(0.05 / 3)                             # 7: fewer questions can never be significant
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm


def paired_diffs(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """a - b on the pairs where neither is NaN (ValueError when the sides differ in length)."""
    a_arr = np.asarray(a, dtype=float).ravel()
    b_arr = np.asarray(b, dtype=float).ravel()
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"paired inputs differ in length: {a_arr.size} vs {b_arr.size}")  # i18n: internal
    keep = ~(np.isnan(a_arr) | np.isnan(b_arr))
    return a_arr[keep] - b_arr[keep]


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
            raise ValueError("values_b is required with values_a")  # i18n: internal
        diffs = paired_diffs(values_a, values_b)
        if diffs.size < 2:
            raise ValueError("need at least 2 complete pairs to estimate sd_diff")  # i18n: internal
        sd_diff = float(np.std(diffs, ddof=1))
        n = diffs.size if n is None else n
    if sd_diff is None or n is None:
        raise ValueError("give values_a and values_b, or sd_diff and n")  # i18n: internal
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")  # i18n: internal
    z = norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power)
    return float(z * sd_diff / math.sqrt(n))


def required_queries(difference: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """The inverse hint: paired queries needed to detect ``difference`` (same
    normal approximation as :func:`min_detectable_difference`), rounded up."""
    if difference <= 0:
        raise ValueError("difference must be > 0")  # i18n: internal
    z = norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power)
    return max(1, math.ceil((z * sd_diff / difference) ** 2))


def exact_floor(level: float) -> int:
    """The fewest paired questions whose sign-flip test can reach p < ``level`` at all (2 / 2^n < level)."""
    return max(1, math.floor(math.log2(2.0 / level)) + 1)
