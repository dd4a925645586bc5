"""Runs out of the store: per-query rows as CSV or Parquet, a whole run as JSON, the history table.

Why here and not in the pages: the History page, ``cli.py export`` and tests all need the same
bytes. Rows are flat (one row per model x query); nested values (rankings, retrieved ids, errors)
become JSON strings so a CSV opens in a spreadsheet and Parquet keeps a fixed schema. Everything
passes through ``scrub`` once more on the way out, so a key that reached the process after a run
was stored still never leaves it.

Usage:
    store = RunStore.default()
    Path("rows.csv").write_bytes(export_rows(store, "latest", "csv"))
    payload = run_json(store, run_id)        # {"run": {...}, "rows": [...]}; RunStore.restore(payload)
    export_run(store, run_id, "parquet", "rows.parquet")
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd

from rag.runs import Run, RunStore, scrub

FORMATS = ("csv", "parquet", "json")
MIME = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json",
        "html": "text/html"}
_LEAD = ("run_id", "model", "item_id")


def rows_frame(store: RunStore, run_id: str) -> pd.DataFrame:
    """One row per stored (model, item): run_id, model, item_id, numeric metrics, then the rest
    (nested values as JSON text). Missing metric values are NaN."""
    run = store.get(run_id)
    records = []
    for r in scrub(store.rows(run.id)):
        flat = {"run_id": run.id}
        for key, val in r.items():
            flat[key] = json.dumps(val, ensure_ascii=False) if isinstance(val, (dict, list)) else val
        records.append(flat)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=list(_LEAD))
    for col in _LEAD:
        if col not in frame:
            frame[col] = None
    rest = [c for c in frame.columns if c not in _LEAD]
    numeric = [c for c in rest if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    other = [c for c in rest if c not in numeric]
    for c in other:  # mixed object columns (e.g. str + None) must be one type for Parquet
        frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    return frame[[*_LEAD, *numeric, *other]]


def run_json(store: RunStore, run_id: str) -> dict:
    """The whole run (configuration, summary, every row) as JSON-ready data; ``RunStore.restore`` reads it."""
    return scrub(store.snapshot(store.get(run_id).id))


def export_rows(store: RunStore, run_id: str, fmt: str) -> bytes:
    """Bytes of a run in ``csv``, ``parquet`` (per-query rows) or ``json`` (the whole run)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; choose from {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(run_json(store, run_id), indent=2, ensure_ascii=False).encode()
    frame = rows_frame(store, run_id)
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def export_run(store: RunStore, run_id: str, fmt: str, output: str | Path) -> Path:
    """Write ``export_rows`` to ``output``; returns the path."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export_rows(store, run_id, fmt))
    return path


def export_filename(run_id: str, fmt: str) -> str:
    return f"run-{run_id}.{fmt}" if fmt == "json" else f"run-{run_id}-rows.{fmt}"


# ---------------------------------------------------------------- the history table

def _headline(run: Run) -> str:
    """A short 'best model: value' for the list, per kind."""
    s = run.summary or {}
    if run.kind == "retrieval":
        k = run.config.get("k")
        vals = {m: v.get(f"ndcg@{k}") for m, v in (s.get("metrics") or {}).items()}
        vals = {m: v for m, v in vals.items() if isinstance(v, (int, float))}
        return f"nDCG@{k} " + ", ".join(f"{m} {v:.3f}" for m, v in vals.items()) if vals else ""
    if run.kind == "rag":
        from evaluators.comparison import metric_label

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
