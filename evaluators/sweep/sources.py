"""What each setup of a sweep searches: the dataset as loaded, or (an ``asr`` part) its sounds' transcript,
then chunked; and the dataset every setup is scored against.

Why a module of its own: on an audio folder the setups search different units (clap:X the sounds,
asr:A+bm25 A's timed segments, asr:B+minilm B's), while the qrels judge sounds. Each transcript is made
once per sweep (``rag.models.asr.transcribe``, cached by the sounds' bytes, so the plan and the run share
it) and its segments (and their chunks) carry their sound as parent: the sweep collapses each ranking to
sounds (a sound takes its best segment's rank, as a document its best chunk's) and scores every setup on
the same text queries and judgments (``scoring_base``). Audio queries are left out of an audio sweep:
a text model cannot take them, and every setup must answer the same questions.

Usage:
    base = scoring_base(ds, setups)          # refuses a setup that cannot run on ds, in one line
    sources = Sources(ds)
    chunked = sources.get(setup)             # ChunkedDataset, parents -> the sounds / documents
    sources.record(setup.asr)                # the ASR run record (WER …) or None
"""

from __future__ import annotations

from rag.data.chunking import ChunkedDataset, chunk_dataset
from rag.data.dataset import Dataset
from rag.i18n import _
from rag.models.registry import resolve


def scoring_base(ds: Dataset, setups: list) -> Dataset:
    """The dataset every setup is scored against (an audio folder: its text queries); ValueError, one line,
    for a setup that cannot run on ``ds`` (a text model on sounds without an ASR model, an ASR model on text,
    an ASR folder that is not Whisper)."""
    from evaluators.sweep.setups import check_asr

    if ds.modality == "image":
        ds.require_text("a sweep")
    for s in setups:
        media = resolve(s.model).modality
        if ds.modality == "audio" and media == "text" and not s.asr:
            raise ValueError(_("{model} embeds text and {dataset} is an audio dataset: give it a speech-to-text "
                               "model (asr:FOLDER+{model}, or the ASR models list) or use a clap:/aud: model").format(
                model=s.model, dataset=ds.name))
        if ds.modality != "audio" and s.asr:
            raise ValueError(_("{asr} transcribes audio datasets only: {dataset} is a {modality} dataset").format(
                asr=s.asr, dataset=ds.name, modality=ds.modality))
        if ds.modality != "audio" and media == "audio":
            raise ValueError(_("{model} embeds audio datasets only: {dataset} is a {modality} dataset").format(
                model=s.model, dataset=ds.name, modality=ds.modality))
    for asr in dict.fromkeys(s.asr for s in setups):
        check_asr(asr)
    if ds.modality != "audio":
        return ds
    base = ds.select_queries("text")
    if not base.judged_queries:
        raise ValueError(_("dataset {dataset} has no judged text queries: a sweep searches by query text").format(
            dataset=ds.name))
    return base


class Sources:
    """Each (ASR model, chunking) of a sweep computed once."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        self._text: dict[str, tuple[Dataset, dict, dict[str, str]]] = {}  # asr -> (transcript, record, parents)
        self._done: dict[tuple, ChunkedDataset] = {}

    def _transcript(self, asr: str) -> tuple[Dataset, dict, dict[str, str]]:
        if asr not in self._text:
            from evaluators.retrieval.asr_record import asr_run_record
            from rag.models.asr import SEGMENT_ID, transcribe

            text, report = transcribe(self.ds, asr)
            sound = {d.title: d.id for d in self.ds.documents}
            parents = {d.id: sound[SEGMENT_ID.match(d.id)["file"]] for d in text.documents}
            self._text[asr] = (text, asr_run_record(report, asr), parents)
        return self._text[asr]

    def text(self, asr: str | None) -> Dataset:
        """The dataset a setup with this ASR part indexes (the one loaded when None)."""
        return self._transcript(asr)[0] if asr else self.ds

    def record(self, asr: str | None) -> dict | None:
        """What the ASR model did (``evaluators.retrieval.asr_record``), None without one."""
        return self._transcript(asr)[1] if asr else None

    def transcripts(self) -> list[Dataset]:
        return [t for t, _, _ in self._text.values()]

    def get(self, setup) -> ChunkedDataset:
        """The setup's searched units, each unit's parent the document (sound) the qrels judge."""
        asr, _, size, overlap = setup.index_key
        key = (asr, size, overlap)
        if key not in self._done:
            c = chunk_dataset(self.text(asr), size, overlap)
            if asr:
                sound = self._transcript(asr)[2]
                c = ChunkedDataset(c.dataset, c.label, {u.id: sound[c.parents.get(u.id, u.id)]
                                                        for u in c.dataset.documents})
            self._done[key] = c
        return self._done[key]
