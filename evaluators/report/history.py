"""The History list: one row per run with a short headline (its kind's, ``evaluators.stats.run_kinds``),
and the filters the History page offers.

Usage:
    frame = runs_frame(filter_runs(store.list(), kinds=["retrieval"]))
"""

from __future__ import annotations

import json
import time

import pandas as pd

from evaluators.stats.run_kinds import kind_of
from rag.runs import Run


def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """The History list: one row per run, newest first."""
    cols = ["id", "kind", "status", "created", "dataset", "dataset_hash", "models", "headline"]
    rows = [{"id": r.id, "kind": r.kind, "status": r.status,
             "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created)),
             "dataset": r.dataset or "", "dataset_hash": r.dataset_hash or "",
             "models": ", ".join(map(str, r.config.get("models", []))), "headline": kind_of(r).headline(r)}
            for r in runs]
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
