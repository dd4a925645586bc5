"""Pareto-optimal rows: the setups no other setup beats on every axis (quality up, cost and latency down)."""

from __future__ import annotations

import math

import pandas as pd


def pareto_flags(frame: pd.DataFrame, maximize: tuple[str, ...] = ("quality",),
                 minimize: tuple[str, ...] = ("cost_per_1k", "p95_ms")) -> pd.Series:
    """True for rows no other row dominates. Axes with no values are ignored; a missing value
    counts as worst; rows without quality are never on the frontier."""
    if frame.empty:
        return pd.Series([], dtype=bool)
    axes = [(c, 1) for c in maximize if frame[c].notna().any()] + \
           [(c, -1) for c in minimize if c in frame and frame[c].notna().any()]
    pts = [[(sign * v) if v == v else -math.inf for v in frame[c].astype(float)] for c, sign in axes]
    pts = list(zip(*pts)) if pts else [() for _ in range(len(frame))]
    has_q = frame[maximize[0]].notna().tolist() if maximize else [True] * len(frame)
    flags = []
    for i, p in enumerate(pts):
        dominated = any(j != i and has_q[j] and all(a >= b for a, b in zip(o, p)) and any(a > b for a, b in zip(o, p))
                        for j, o in enumerate(pts))
        flags.append(bool(has_q[i]) and not dominated)
    return pd.Series(flags, index=frame.index, dtype=bool)
