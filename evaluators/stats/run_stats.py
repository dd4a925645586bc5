"""One set of statistics per run (or per family of runs), computed once and read by every view.

Why: bootstrap CIs and permutation p-values are random-resampling estimates. When the Retrieval
page, the History compare, the report and the CI gate each resample on their own (2,000 here,
10,000 there), the same mean gets two different intervals and a reader rightly stops trusting
both. So a run's statistics are one object: for every metric × model the mean, 95% CI and n, and
per metric the paired comparisons (diff, CI, p, Holm-adjusted p), the best and the tied group;
computed with one seed and one resample count (``N_RESAMPLES``; a judged metric scored K times per
row, ``--judge-repeats``, by the two-level bootstrap, so its interval includes the judge's noise),
stored in the run store under the tuple of run ids and reused until the runs' rows change (``RunStore.stamp``).

Measured (2 cores): 300 queries × 2 models × 6 metrics take 1.3 s at 10,000 resamples (0.5 s at
2,000), once per run; a stored object is read back in milliseconds, so every page uses 10,000.

Usage:
    stats = run_stats(store, "latest")              # computed now, or read back
    stats.get("ndcg@10").table()                      # mean, ci_low, ci_high, n, … mark
    stats.ci_table()                                  # model × metric "mean [low, high]"
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pandas as pd

from evaluators.stats.comparison import (
    MetricComparison,
    check_one_dataset,
    collect_outcomes,
    collect_repeats,
    collect_scores,
    compare_scores,
    find_metric,
    run_metrics,
)
from rag.i18n import _
from rag.runs import RunStore

N_RESAMPLES = 10_000
SEED = 0
ALPHA = 0.05
VERSION = 3  # bump when the computation changes: objects stored by an older version are recomputed
#             (2: a judged metric scored K times per row gets two-level CIs, see statistics.two_level_ci;
#              3: misses scored 0, coverage before ranking, pair CIs invert the sign-flip test, no-signal)
_MEMO: dict[tuple[str, str], RunStats] = {}  # (store path, key) -> object; saves JSON parsing per page rerun
_MEMO_MAX = 32


@dataclass
class RunStats:
    """Every metric's comparison for one run or one family of runs (same dataset)."""

    run_ids: tuple[str, ...]
    comparisons: dict[str, MetricComparison]
    n_resamples: int = N_RESAMPLES
    seed: int = SEED
    alpha: float = ALPHA
    stamp: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> list[str]:
        return list(self.comparisons)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(s.model for c in self.comparisons.values() for s in c.result.models))

    def get(self, metric: str) -> MetricComparison:
        """The comparison of one metric (case-insensitive); ValueError names the available ones."""
        found = find_metric(self.metrics, metric)
        if found is None:
            raise ValueError(_("metric '{metric}' is not in run(s) {runs}; available: {available}").format(
                metric=metric, runs=", ".join(self.run_ids), available=", ".join(self.metrics) or _("none")))
        return self.comparisons[found]

    def main_metric(self, preferred: str | None = None) -> str | None:
        """``preferred`` (a kind's default) when every model covers it and it separates them; else the first
        metric that does; else ``preferred``: a metric one model mostly failed never heads a report."""
        order = ([preferred] if preferred in self.comparisons else []) + self.metrics
        ok = next((m for m in order if self.comparisons[m].complete() and self.comparisons[m].result.no_signal is None),
                  None)
        return ok or preferred or (self.metrics[0] if self.metrics else None)

    def frame(self) -> pd.DataFrame:
        """One row per (model, metric): mean, ci_low, ci_high, n (for CI tables and error bars)."""
        rows = [{"model": s.model, "metric": m, "mean": s.mean, "ci_low": s.low, "ci_high": s.high, "n": s.n}
                for m, c in self.comparisons.items() for s in c.result.models]
        return pd.DataFrame(rows, columns=["model", "metric", "mean", "ci_low", "ci_high", "n"])

    def ci_table(self, models: list[str] | None = None) -> pd.DataFrame:
        """Model × metric cells reading "mean [low, high]" ("–" when not scored), models in the given order."""
        summary = self.frame()
        cells = summary.assign(value=["–" if math.isnan(m) else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
                                      for m, lo, hi in zip(summary["mean"], summary["ci_low"], summary["ci_high"])])
        table = cells.pivot(index="model", columns="metric", values="value").reindex(models or self.models)
        return table[self.metrics]

    def to_json(self) -> dict:
        return {"version": VERSION, "run_ids": list(self.run_ids), "n_resamples": self.n_resamples,
                "seed": self.seed, "alpha": self.alpha, "stamp": self.stamp, "notes": self.notes,
                "comparisons": [c.to_json() for c in self.comparisons.values()]}

    @classmethod
    def from_json(cls, d: dict) -> RunStats:
        cmps = [MetricComparison.from_json(c) for c in d["comparisons"]]
        return cls(tuple(d["run_ids"]), {c.metric: c for c in cmps}, d["n_resamples"], d["seed"], d["alpha"],
                   d["stamp"], list(d["notes"]))


def _key(ids: list[str], n_resamples: int, seed: int, alpha: float) -> str:
    return f"stats:v{VERSION}:{n_resamples}:{seed}:{alpha:g}:{','.join(ids)}"


def compute_stats(store: RunStore, ids: list[str], n_resamples: int = N_RESAMPLES, seed: int = SEED,
                  alpha: float = ALPHA) -> RunStats:
    """Compute (no cache) every metric of the runs ``ids`` (already resolved) as one family."""
    runs = [store.get(i) for i in ids]
    check_one_dataset(runs)
    stamp = "/".join(store.stamp(i) for i in ids)
    rows = {i: store.rows(i) for i in ids}
    names = list(dict.fromkeys(n for r in runs for n in run_metrics(store, r)))  # quality kinds only
    comparisons = {}
    for metric in names:
        scores, notes = collect_scores(store, ids, metric, rows)
        repeats = collect_repeats(store, ids, metric, rows)   # judged metrics with --judge-repeats: two-level CIs
        comparisons[metric] = compare_scores(scores, metric, ids, alpha, n_resamples, seed, notes, repeats,
                                             *collect_outcomes(store, ids, metric, rows))
    return RunStats(tuple(ids), comparisons, n_resamples, seed, alpha, stamp)


def run_stats(store: RunStore, run_ids: list[str] | str, n_resamples: int = N_RESAMPLES, seed: int = SEED,
              alpha: float = ALPHA) -> RunStats:
    """The statistics of the runs (``"ID"``, ``"A,B"``, ``latest`` or a list), read from the store when
    they were computed for the same rows, else computed now and stored (keyed by the tuple of ids)."""
    ids = store.resolve_ids(run_ids)
    key = _key(ids, n_resamples, seed, alpha)
    stamp = "/".join(store.stamp(i) for i in ids)
    memo = _MEMO.get((str(store.path), key))
    if memo is not None and memo.stamp == stamp:
        return memo
    stored = store.derived(key)
    if stored is not None and stored[0] == stamp:
        stats = RunStats.from_json(json.loads(stored[1]))
    else:
        stats = compute_stats(store, ids, n_resamples, seed, alpha)
        store.put_derived(key, ids, stats.stamp, json.dumps(stats.to_json(), ensure_ascii=False))
    if len(_MEMO) >= _MEMO_MAX:
        try:  # pages of several sessions share the memo; another thread may have emptied it
            _MEMO.pop(next(iter(_MEMO)))
        except (StopIteration, KeyError):
            pass
    _MEMO[(str(store.path), key)] = stats
    return stats

