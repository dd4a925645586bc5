"""Runs out of the store: per-query rows as CSV or Parquet, a whole run as JSON.

Why here and not in the pages: the History page, ``cli.py export`` and tests all need the same
bytes. Rows are flat (one row per model x query; ``RunRow.columns``: each metric in ``scores`` is a
column under its own name); nested values (rankings, retrieved ids, errors) become JSON strings
so a CSV opens in a spreadsheet and Parquet keeps a fixed schema. Everything
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
from pathlib import Path

import pandas as pd

from rag.i18n import _
from rag.runs.store import RunStore, scrub

FORMATS = ("csv", "parquet", "json")
MIME = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json",
        "html": "text/html"}
_LEAD = ("run_id", "model", "item_id")


def rows_frame(store: RunStore, run_id: str) -> pd.DataFrame:
    """One row per stored (model, item): run_id, model, item_id, numeric metrics, then the rest
    (nested values as JSON text). Missing metric values are NaN."""
    run = store.get(run_id)
    records = []
    for r in scrub([row.columns() for row in store.typed_rows(run.id)]):
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
        raise ValueError(_("unknown export format '{format}'; choose from {formats}").format(
            format=fmt, formats=", ".join(FORMATS)))
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
