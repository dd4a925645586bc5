"""The "Models as encoded" table: each model of a run as it was fed, next to its numbers: prompts,
dims, max input tokens and how much of the data was cut (``models_info`` of the run record).

Why: two runs of "the same model" differ when one had a query prompt or 128 dims; a score without
them is not reproducible, and a truncated corpus is a caveat a reader must see beside the number.

Usage:
    encoded_frame(run)                 # DataFrame, one row per model (empty when the run recorded none)
    encoded_tables([run1, run2])       # [("Models as encoded · RUN", Markup table)] for a report section
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from evaluators.report.sections import html_table
from rag.i18n import N_, _
from rag.models.limits import limits_row

TITLE = N_("Models as encoded")


def models_info(run) -> dict:
    """What a run recorded: ``config["models_info"]`` (retrieval, RAG), or for a load run what the service
    said it serves (``summary["service"]["models_info"]``, from its ``/models``)."""
    return (run.config or {}).get("models_info") or ((run.summary or {}).get("service") or {}).get("models_info") \
        or {}


def encoded_frame(run) -> pd.DataFrame:
    """One row per model of ``models_info(run)``."""
    info = models_info(run)
    return pd.DataFrame([limits_row(m, i) for m, i in info.items() if isinstance(i, dict)])


def encoded_tables(runs: list) -> list[tuple[str, Markup]]:
    """The table of each run that recorded its models (a run older than the record has none: no table)."""
    out = []
    for run in runs:
        frame = encoded_frame(run)
        if not frame.empty:
            out.append((f"{_(TITLE)} · {run.id}" if len(runs) > 1 else _(TITLE), html_table(frame)))
    return out
