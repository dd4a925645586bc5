"""The History list: one row per run with a short headline, and the filters the History page offers.

Usage:
    frame = runs_frame(filter_runs(store.list(), kinds=["retrieval"]))
"""

from __future__ import annotations

import json
import time

import pandas as pd

from evaluators.comparison import metric_label
from rag.runs import Run


def _headline(run: Run) -> str:
    """A short 'best model: value' for the list, per kind."""
    s = run.summary or {}
    if run.kind == "retrieval":
        k = run.config.get("k")
        vals = {m: v.get(f"ndcg@{k}") for m, v in (s.get("metrics") or {}).items()}
        vals = {m: v for m, v in vals.items() if isinstance(v, (int, float))}
        return f"nDCG@{k} " + ", ".join(f"{m} {v:.3f}" for m, v in vals.items()) if vals else ""
    if run.kind == "rag":
        parts = []
        for m, metrics in (s.get("metrics") or {}).items():
            name = next((k for k, v in metrics.items() if isinstance(v, dict) and v.get("mean") is not None), None)
            if name:
                parts.append(f"{m} {metric_label(name)} {metrics[name]['mean']:.3f}")
        return ", ".join(parts)
    if run.kind == "load":
        res = s.get("results") or {}
        return ", ".join(f"{m} p95 {v.get('p95_ms', float('nan')):.0f} ms" for m, v in res.items()
                         if isinstance(v, dict) and isinstance(v.get("p95_ms"), (int, float)))
    return ""


def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """The History list: one row per run, newest first."""
    cols = ["id", "kind", "status", "created", "dataset", "dataset_hash", "models", "headline"]
    rows = [{"id": r.id, "kind": r.kind, "status": r.status,
             "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created)),
             "dataset": r.dataset or "", "dataset_hash": r.dataset_hash or "",
             "models": ", ".join(map(str, r.config.get("models", []))), "headline": _headline(r)} for r in runs]
    return pd.DataFrame(rows, columns=cols)


def filter_runs(runs: list[Run], kinds: list[str] | None = None, datasets: list[str] | None = None,
                text: str = "", status: list[str] | None = None) -> list[Run]:
    """Keep runs of the given kinds, datasets and statuses whose id, models or config mention ``text``."""
    needle = text.strip().lower()
    out = []
    for r in runs:
        if kinds and r.kind not in kinds or datasets and (r.dataset or "") not in datasets:
            continue
        if status and r.status not in status:
            continue
        if needle and needle not in (r.id + " " + json.dumps(r.config, ensure_ascii=False)).lower():
            continue
        out.append(r)
    return out
