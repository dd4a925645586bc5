"""What a run records about the speech-to-text step that made its text: which ``asr:`` model (the spec as
given, the folder it resolved to, its weights' fingerprint and how it was run), how many sounds and segments,
cache hits, and the word error rate against ``transcripts.jsonl`` when the folder has one.

Why: on an audio folder's speech the numbers depend on the transcription as much as on the embedding model:
two runs of "bm25" over two Whisper models are two setups. The CLI (``retrieval --asr``), the Retrieval page
(a dataset the Data page transcribed) and the sweep (its ``asr`` setup part) record the same dict, so History,
the report's "Models as encoded" section, the gate and the JSON all read one shape.

Usage:
    text_ds, report = transcribe(audio_ds, "asr:/models/whisper-small")
    record = asr_run_record(report, "asr:/models/whisper-small")   # run config["asr"]
    summary(record)                                               # the one line (rag.models.asr.summary)
"""

from __future__ import annotations

from rag.i18n import N_
from rag.models.asr import PREFIX, RATE, WhisperTranscriber

# How ``rag.models.asr`` runs every Whisper folder (recorded so a reader need not know the code's defaults).
# The descriptions are marked for the catalog: the record keeps English, the report shows them translated.
OPTIONS = {"decoding": N_("generate(return_timestamps=True), long-form over 30 s"), "dtype": "float32",
           "device": "cpu", "sampling_rate": RATE, "wer": N_("jiwer corpus WER, lower-cased, punctuation removed")}


def asr_run_record(report, spec: str) -> dict:
    """``AsrReport.to_json()`` with the spec as given, its options and the model's fingerprint."""
    record = report.to_json()
    folder = record["model"].removeprefix(PREFIX)
    try:
        fingerprint = WhisperTranscriber(folder).fingerprint
    except OSError:  # the folder went away after transcribing: the rest still stands
        fingerprint = None
    return {**record, "spec": spec.strip(), "options": dict(OPTIONS), "fingerprint": fingerprint}

