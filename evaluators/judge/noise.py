"""Judge noise inside the intervals: a two-level bootstrap over questions, then repeats within each.

Why: a judged score moves from run to run with the same judge (sampling at temperature > 0, or just
the judge's instability); a CI that resamples only questions treats each row's judged value as exact.
With ``--judge-repeats K`` every judged metric is scored K times per row (``RagRow.repeats``), and the
interval here resamples the questions *and then* the repeats within each resampled question, so it
includes the judge's own noise. Questions whose repeats all agree contribute exactly what the
one-level bootstrap does: a run whose repeats never differ (or K = 1) gets the one-judge interval
(``statistics.bootstrap_ci``, same seed and resamples), not an approximation of it. The bootstrap
itself is ``statistics.two_level_ci``, the one every CI table, the gate and the paired comparisons
use, so this report and those tables quote the same interval.

Usage:
    two_level_ci([[0.5, 0.7, 0.6], [1.0, 1.0, 1.0]], n_resamples=10000)   # (mean, low, high)
    judge_noise(rows, ["faithfulness"])["faithfulness"]["minilm"]["ci_with_judge_noise"]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from evaluators.stats.significance import bootstrap_ci, two_level_ci

N_RESAMPLES, SEED = 10_000, 0   # as evaluators.stats.run_stats: the one-judge interval is the one the pages show



def _clean(repeats: Sequence[Sequence[float | None]]) -> list[list[float]]:
    out = [[float(v) for v in q if v is not None and math.isfinite(v)] for q in repeats]
    return [q for q in out if q]


def judge_noise(rows: list[dict], metrics: list[str], n_resamples: int = N_RESAMPLES,
                seed: int = SEED) -> dict[str, dict[str, dict]]:
    """Per judged metric with repeats, per model: K, the mean, the one-judge CI (rows' values) and the
    CI with judge noise (two-level), the repeats' mean per-row SD and how many rows' repeats differ."""
    out: dict[str, dict[str, dict]] = {}
    for name in metrics:
        for model in dict.fromkeys(r["model"] for r in rows):
            mine = sorted((r for r in rows if r["model"] == model and (r.get("repeats") or {}).get(name)
                           and r["scores"].get(name) is not None), key=lambda r: r["item_id"])   # any row order
            if not mine:
                continue
            reps = [_clean([r["repeats"][name]])[0] for r in mine]
            mean, lo, hi = bootstrap_ci([r["scores"][name] for r in mine], n_resamples, seed=seed)
            _, lo2, hi2 = two_level_ci(reps, n_resamples, seed=seed)
            out.setdefault(name, {})[model] = {
                "repeats": max(len(q) for q in reps), "n": len(mine), "mean": mean, "ci": [lo, hi],
                "ci_with_judge_noise": [lo2, hi2], "rows_varying": sum(len(set(q)) > 1 for q in reps),
                "repeat_sd": float(np.mean([np.std(q, ddof=1) if len(set(q)) > 1 else 0.0 for q in reps]))}
    return out
