"""The "Models as encoded" table: each model of a run as it was fed, next to its numbers: prompts,
dims, max input tokens and how much of the data was cut (``models_info`` of the run record).

Why: two runs of "the same model" differ when one had a query prompt or 128 dims; a score without
them is not reproducible, and a truncated corpus is a caveat a reader must see beside the number.

Usage:
    encoded_frame(run)                 # DataFrame, one row per model (empty when the run recorded none)
    encoded_tables([run1, run2])       # [("Models as encoded · RUN", Markup table)] for a report section
    asr_frame(run)                     # the speech-to-text model that made a run's text (``config["asr"]``)
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from evaluators.report.sections import html_table
from rag.i18n import N_, _
from rag.models.limits import limits_row

TITLE = N_("Models as encoded")
ASR_TITLE = N_("Speech to text")


def models_info(run) -> dict:
    """What a run recorded: ``config["models_info"]`` (retrieval, RAG), or for a load run what the service
    said it serves (``summary["service"]["models_info"]``, from its ``/models``)."""
    return (run.config or {}).get("models_info") or ((run.summary or {}).get("service") or {}).get("models_info") \
        or {}


def encoded_frame(run) -> pd.DataFrame:
    """One row per model of ``models_info(run)``."""
    info = models_info(run)
    return pd.DataFrame([limits_row(m, i) for m, i in info.items() if isinstance(i, dict)])


def asr_rows(run) -> list[dict]:
    """The ASR model(s) a run's text came from: a retrieval run's ``config["asr"]`` (one), a sweep's
    ``summary["asr"]`` (one per setup with an ``asr`` part). Each: setup, model, options, counts, WER."""
    one = (run.config or {}).get("asr")
    per_setup = {"": one} if one else dict((run.summary or {}).get("asr") or {})
    rows = []
    for setup, r in per_setup.items():
        if not isinstance(r, dict):
            continue
        opts = r.get("options") or {}
        rows.append({**({"setup": setup} if setup else {}), "model": r.get("spec") or r.get("model"),
                     "options": "; ".join(f"{k} {v}" for k, v in opts.items()) or "not recorded",
                     "sounds": r.get("sounds"), "segments": r.get("segments"), "from cache": r.get("cached"),
                     "without speech": len(r.get("empty") or []),
                     "audio queries left out": r.get("dropped_audio_queries"),
                     "WER": "not measured (no transcripts.jsonl)" if r.get("wer") is None
                     else f"{r['wer']:.1%} over {r.get('wer_files')} sounds"})
    return rows


def asr_frame(run) -> pd.DataFrame:
    """``asr_rows`` as a frame (empty when the run's text was not transcribed)."""
    return pd.DataFrame(asr_rows(run))


def encoded_tables(runs: list) -> list[tuple[str, Markup]]:
    """The table of each run that recorded its models (a run older than the record has none: no table),
    and the speech-to-text model beside it when the run's text was transcribed from audio."""
    out = []
    for run in runs:
        suffix = f" · {run.id}" if len(runs) > 1 else ""
        if not (asr := asr_frame(run)).empty:
            out.append((_(ASR_TITLE) + suffix, html_table(asr)))
        frame = encoded_frame(run)
        if not frame.empty:
            out.append((_(TITLE) + suffix, html_table(frame)))
    return out
