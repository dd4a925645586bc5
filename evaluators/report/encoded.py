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
        wer = _("not measured (no transcripts.jsonl)") if r.get("wer") is None else _(
            "{wer} over {n} sounds").format(wer=f"{r['wer']:.1%}", n=r.get("wer_files"))
        # keys: English column names (the History page reads them), shown in the reader's language by the table
        rows.append({**({N_("setup"): setup} if setup else {}), N_("model"): r.get("spec") or r.get("model"),
                     N_("options"): "; ".join(f"{k} {_option(v)}" for k, v in opts.items()) or _("not recorded"),
                     N_("sounds"): r.get("sounds"), N_("segments"): r.get("segments"),
                     N_("from cache"): r.get("cached"),
                     N_("without speech"): len(r.get("empty") or []),
                     N_("audio queries left out"): r.get("dropped_audio_queries"), N_("WER"): wer})
    return rows


def _option(value) -> str:
    """An option's value as recorded; our own descriptions of how Whisper runs (``asr_record.OPTIONS``) in
    the reader's language, anything else (a device, a dtype) as is."""
    from evaluators.retrieval.asr_record import OPTIONS

    return _(value) if value in (OPTIONS["decoding"], OPTIONS["wer"]) else str(value)


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
