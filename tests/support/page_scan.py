"""One scan for every page test: no shown text of an AppTest run reads like a raw value.

Why: ``None``, ``nan`` or a Python repr in front of a reader means a value skipped the formatting
helpers (``evaluators.formatting``); a missing value must say why instead ("— no load run yet").
"""

from __future__ import annotations

import re

RAW_CELL = re.compile(r"^(None|nan|NaN|NaT|<NA>|null|inf|-inf)$|\bNone\b|\bnan\b|\bNaN\b|\bNaT\b|<NA>"
                      r"|<object|<function|object at 0x|Timestamp\(|np\.float|numpy\.")
TEXT_KINDS = ("markdown", "caption", "subheader", "header", "title", "text", "info", "warning", "success", "error",
              "metric")


def raw_cells(at) -> list[str]:
    """Every shown text of an AppTest run that reads like a raw value: dataframe cells (and missing
    cells, which Streamlit draws as ``None``), index labels, metrics and every text element."""
    found = []
    for d in at.dataframe:
        frame = d.value
        found += [f"missing cell in {list(frame.columns)}" for _ in range(int(frame.isna().sum().sum()))]
        found += [str(v) for col in frame.columns for v in frame[col].tolist() if RAW_CELL.search(str(v))]
        found += [str(v) for v in frame.index.tolist() if RAW_CELL.search(str(v))]
    for kind in TEXT_KINDS:
        for e in getattr(at, kind):
            shown = [e.value] + ([e.label, e.delta] if kind == "metric" else [])
            found += [str(s) for s in shown if s is not None and RAW_CELL.search(str(s))]
    return found
