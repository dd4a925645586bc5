"""A setup's latency from a timed sample of its queries, one at a time, with a CI on p50 and p95.

Why a sample and not every query: a sweep's quality needs every judged query, but those are searched in
batches from the embedding cache (the path ``cli.py retrieval`` takes), which says nothing about what a
user waits for one query. Latency is what one query costs end to end (embedding uncached, search,
reranking), so it is timed one query at a time; 50 queries give p50 within a few percent and p95 with a
CI that says how sure it is, at a fraction of the time every query would take (SciFact: 300). The sample
is drawn with a fixed seed from the judged queries (the same queries for every setup of a sweep, and
again on a re-run) and recorded: each sampled query's row carries its ``latency_ms``, the others none.

The CI is a percentile bootstrap of the percentile itself (``percentile_ci``): resample the timings with
replacement, take each resample's p50 / p95, report the 2.5 % and 97.5 % quantiles of those.

Usage:
    timed = latency_sample(ds.judged_queries, 50)            # [Query, ...] in dataset order
    lat = time_queries(lambda text: search_one(text), timed)
    lat.p50_ms, lat.p50_ci, lat.p95_ms, lat.p95_ci, lat.per_query   # per_query: query id -> ms
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

LATENCY_SAMPLE = 50     # queries timed per setup (``--latency-sample``); 0 or ≥ the judged queries: all
SAMPLE_SEED = 0
N_RESAMPLES = 2000


def latency_sample(queries: Sequence, n: int = LATENCY_SAMPLE, seed: int = SAMPLE_SEED) -> list:
    """``n`` of ``queries`` drawn with a fixed seed, in their dataset order (all of them when ``n`` ≤ 0 or
    ≥ their number)."""
    if n <= 0 or n >= len(queries):
        return list(queries)
    keep = sorted(random.Random(seed).sample(range(len(queries)), n))
    return [queries[i] for i in keep]


def percentile_ci(values: Sequence[float], q: float, confidence: float = 0.95, n_resamples: int = N_RESAMPLES,
                  seed: int = 0) -> tuple[float, float]:
    """(low, high): percentile bootstrap CI of the ``q``-th percentile (NaNs when there is nothing)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, arr.size, size=(n_resamples, arr.size))
    stats = np.percentile(arr[idx], q, axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass
class Latency:
    per_query: dict[str, float] = field(default_factory=dict)   # query id -> ms (the sample)
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")
    p50_ci: tuple[float, float] = (float("nan"), float("nan"))
    p95_ci: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def n(self) -> int:
        return len(self.per_query)

    def summary(self) -> dict[str, float]:
        """The recorded figures (a sweep run's ``latency`` per setup)."""
        return {"p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "p50_ci_low_ms": self.p50_ci[0],
                "p50_ci_high_ms": self.p50_ci[1], "p95_ci_low_ms": self.p95_ci[0],
                "p95_ci_high_ms": self.p95_ci[1], "latency_n": float(self.n)}


def time_queries(one: Callable[[str], object], queries: Sequence, tick: Callable[[], None] | None = None) -> Latency:
    """Time ``one(query.text)`` for each query, one at a time, after an untimed warm-up query (a model's
    first call is not a query's latency)."""
    if not queries:
        return Latency()
    one(queries[0].text)
    per_query = {}
    for q in queries:
        t = time.perf_counter()
        one(q.text)
        per_query[q.id] = (time.perf_counter() - t) * 1000
        if tick:
            tick()
    ms = list(per_query.values())
    return Latency(per_query, float(np.percentile(ms, 50)), float(np.percentile(ms, 95)),
                   percentile_ci(ms, 50), percentile_ci(ms, 95))
