"""How numbers and missing values read, in one place for the pages and the report.

Why: a reader sees ``None``, ``nan`` or ``0.12345678`` and stops trusting the table; a cell that is
empty must say why ("— no load run yet"), and the same quantity must read the same everywhere.
Rules: scores with 3 decimals, milliseconds as integers, US dollars with 2 decimals (4 under a
cent, "<$0.0001" below that), shares as whole percents. No Streamlit here (pages and report both
import it).

Usage:
    fmt_score(0.41234)            # "0.412"
    fmt_ms(119.6)                 # "120"
    fmt_usd(0.00042)              # "$0.0004"
    fmt_ms(None, "no load run yet")  # "— no load run yet"
    display_frame(frame, {"p95_ms": "no load run yet"})  # every cell a string, nothing raw
"""

from __future__ import annotations

import json
import math
import numbers

import numpy as np
import pandas as pd

from rag.i18n import N_, _

DASH = "—"


def missing(reason: str | None = None) -> str:
    """The text of an empty cell: ``—`` and, when known, why it is empty."""
    return f"{DASH} {_(reason)}" if reason else DASH  # our reasons are catalog keys: in the reader's language


def is_missing(v) -> bool:
    """None, NaN / NaT / pd.NA, or an empty string."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # lists, dicts: not missing
        return False


def fmt_score(v, reason: str | None = None) -> str:
    """A score (nDCG, Ragas mean, difference) with 3 decimals."""
    return missing(reason) if is_missing(v) else f"{float(v):.3f}"


def fmt_ci(low, high, reason: str | None = None) -> str:
    """A 95% interval ``[0.412, 0.530]``."""
    return missing(reason) if is_missing(low) or is_missing(high) else f"[{float(low):.3f}, {float(high):.3f}]"


def fmt_ms(v, reason: str | None = None) -> str:
    """Milliseconds as an integer (thousands separated)."""
    return missing(reason) if is_missing(v) else f"{round(float(v)):,}"


def fmt_usd(v, reason: str | None = None) -> str:
    """Dollars: 2 decimals from a cent up, 4 under a cent, ``<$0.0001`` for a positive amount below that."""
    if is_missing(v):
        return missing(reason)
    v = float(v)
    if v == 0:
        return "$0.00"
    if abs(v) < 0.00005:
        return "<$0.0001"
    return f"${v:,.4f}" if abs(v) < 0.01 else f"${v:,.2f}"


def fmt_rate(v, reason: str | None = None) -> str:
    """Requests per second with 1 decimal."""
    return missing(reason) if is_missing(v) else f"{float(v):,.1f}"


def fmt_pct(v, reason: str | None = None) -> str:
    """A share (0..1) as a whole percent."""
    return missing(reason) if is_missing(v) else f"{float(v):.0%}"


def fmt_int(v, reason: str | None = None) -> str:
    return missing(reason) if is_missing(v) else f"{int(round(float(v))):,}"


def fmt_value(v, reason: str | None = None, floats: int = 3) -> str:
    """Any cell as text: missing → ``—`` (+ reason), bool → yes/no, float → ``floats`` decimals,
    int → as is, list → comma-joined, dict → ``key: value`` pairs; never a Python repr."""
    if isinstance(v, (bool, np.bool_)):
        return _("yes") if v else _("no")
    if isinstance(v, (list, tuple, set)):
        return ", ".join(fmt_value(x, floats=floats) for x in v) if v else missing(reason)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {fmt_value(x, floats=floats)}" for k, x in v.items()) if v else missing(reason)
    if is_missing(v):
        return missing(reason)
    if isinstance(v, numbers.Integral):
        return f"{int(v)}"
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isinf(f):
            return "∞" if f > 0 else "−∞"
        return f"{f:.{floats}f}"
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


# How known columns read; every other column goes through ``fmt_value``.
COLUMN_FORMATS = {
    "mean": fmt_score, "quality": fmt_score, "diff": fmt_score, "ci_low": fmt_score, "ci_high": fmt_score,
    "mdd": fmt_score, "cost_per_1k": fmt_usd, "cost_usd": fmt_usd,
    "p50_ms": fmt_ms, "p95_ms": fmt_ms, "p99_ms": fmt_ms, "avg_ms": fmt_ms, "min_ms": fmt_ms, "max_ms": fmt_ms,
    "target_p95_ms": fmt_ms,
    "rps": fmt_rate, "coverage": fmt_pct,
    "users": fmt_int, "max_users": fmt_int, "requests": fmt_int, "failures": fmt_int, "n": fmt_int, "total": fmt_int,
}


# Why cells of a comparison table (``MetricComparison.table()`` / ``.pairs()``) can be empty.
CI_REASONS = {"mean": N_("not scored"), "ci_low": N_("not scored"), "ci_high": N_("not scored"),
              "coverage": N_("no queries"), "diff": N_("no shared queries"), "mdd": N_("too few queries")}


def display_frame(frame: pd.DataFrame, reasons: dict[str, str] | None = None,
                  formats: dict | None = None, floats: int = 3) -> pd.DataFrame:
    """A copy of ``frame`` where every cell is display text: known columns by ``COLUMN_FORMATS``
    (or ``formats``), text kept as is, missing cells ``— <reason>`` (``reasons`` per column, else ``—``)."""
    reasons, fmts = reasons or {}, {**COLUMN_FORMATS, **(formats or {})}
    out = frame.copy()
    for col in out.columns:
        fn = fmts.get(col)
        why = reasons.get(col)
        out[col] = [v if isinstance(v, str) and v.strip() else fn(v, why) if fn else fmt_value(v, why, floats)
                    for v in frame[col].tolist()]  # text is already display text (formatting twice is safe)
    if out.index.name is not None or not isinstance(out.index, pd.RangeIndex):
        out.index = [fmt_value(v) for v in out.index.tolist()]
        out.index.name = frame.index.name
    return out.astype(object)


RELEVANT, NOT_RELEVANT = "✅", "❎"


NO_MATCH = N_("— (no match)")  # a sentinel the tints compare with: translate it only where it is shown
