"""Speech to text: ``asr:FOLDER`` (Whisper in transformers) turns an audio or video dataset into a text dataset.

A video's audio track is demuxed by FFmpeg (PyAV) to the same mono 16 kHz waveform a sound file gives
(``rag.data.audio.load_audio``), so its segments are ``clip.mp4@12.0-15.5``; a video without sound has none.

Every sound is transcribed by the model's own ``generate(return_timestamps=True)`` (transformers advises
its own long-form decoding over the pipeline's chunking for Whisper: recordings over 30 s are decoded
window by window, each window's timestamps offset by the tokenizer) into timed segments; each segment
becomes a text ``Document`` (id ``file.wav@12.0-15.5``, title ``file.wav 12.0-15.5 s``, text = what was
said), so every text model, BM25, chunking and RAG apply. A judgment on a sound carries over, with its
grade, to every segment of that sound; text queries are kept, audio queries are left out (said in
``AsrReport.dropped_queries``). Transcripts are cached in the data folder by (model fingerprint, the
sound bytes' sha256), so a renamed or copied file is not transcribed twice and a changed one is.

FOLDER is a Whisper model saved with transformers (``save_pretrained`` of the model, its
``WhisperProcessor`` and a ``generation_config.json`` with ``no_timestamps_token_id``, as the openai/whisper-*
checkpoints ship). The word error rate against ``transcripts.jsonl`` (when the folder has one) is jiwer's
corpus WER over the files with a reference: the whole-file transcript (segments joined) against the
reference, lower-cased with punctuation removed on both sides.

Usage:
    text_ds, report = transcribe(load_audio_folder("data/talks"), "asr:/models/whisper-small")
    report.wer, report.segments, report.cached     # then evaluate text_ds with any text model
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.data.dataset import Dataset, Document
from rag.i18n import _
from rag.models.base import ModelUnavailable

PREFIX = "asr:"
RATE = 16_000  # Whisper's feature extractor rate
Progress = Callable[[int, int], None]  # (sounds done, sounds in all)


def asr_problem(path: str) -> str | None:
    """Why ``path`` cannot be an ``asr:`` folder, or None (files only, no model load)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return _("no model folder at {path}").format(path=path)
    has = {p.name for p in folder.iterdir()}
    if "config.json" not in has:
        return _("{path} has no config.json: save the Whisper model there with save_pretrained (transformers)"
                 ).format(path=path)
    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type", "")
    except (OSError, ValueError, AttributeError) as e:
        return _("{path}/config.json cannot be read ({error}: {why})").format(
            path=path, error=type(e).__name__, why=e)
    if model_type != "whisper":
        return _("{path} is a '{model_type}' model, not Whisper (asr: takes model_type whisper)").format(
            path=path, model_type=model_type or "unknown")
    if "preprocessor_config.json" not in has:
        return _("{path} has no preprocessor_config.json: save the WhisperProcessor there too").format(path=path)
    if not has & {"tokenizer.json", "vocab.json"}:
        return _("{path} has no tokenizer (tokenizer.json / vocab.json): save the WhisperProcessor there too"
                 ).format(path=path)
    try:
        gen = json.loads((folder / "generation_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        gen = {}
    if "no_timestamps_token_id" not in gen:
        return _("{path} has no generation_config.json with no_timestamps_token_id: Whisper cannot give "
                 "timestamps without it (save the checkpoint's generation config there too)").format(path=path)
    return None


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass
class AsrReport:
    """What transcription did: the model, counts, cache hits, and WER when references exist."""

    model: str
    sounds: int = 0
    segments: int = 0
    cached: int = 0
    empty: list[str] = field(default_factory=list)       # sounds with no speech found (no documents)
    dropped_queries: int = 0                             # audio queries (a text dataset has text queries)
    wer: float | None = None                             # jiwer corpus WER over the referenced sounds
    wer_files: int = 0
    per_file_wer: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """What transcription did, in one line (``summary`` of ``to_json``)."""
        return summary(self.to_json())

    def to_json(self) -> dict:
        return {"model": self.model, "sounds": self.sounds, "segments": self.segments, "cached": self.cached,
                "empty": self.empty, "dropped_audio_queries": self.dropped_queries, "wer": self.wer,
                "wer_files": self.wer_files, "per_file_wer": self.per_file_wer}


def summary(record: dict) -> str:
    """An ``AsrReport.to_json()`` (as runs record it) in one line: segments, cache hits, left out, WER."""
    r = record
    values = {"model": r["model"], "sounds": r["sounds"], "segments": r["segments"], "cached": r["cached"],
              "empty": len(r["empty"]), "dropped": r["dropped_audio_queries"]}
    if r.get("wer") is None:
        return _("{model}: {sounds} sounds -> {segments} segments ({cached} from the cache); {empty} without speech; "
                 "{dropped} audio queries left out; WER not measured (no transcripts.jsonl)").format(**values)
    return _("{model}: {sounds} sounds -> {segments} segments ({cached} from the cache); {empty} without speech; "
             "{dropped} audio queries left out; WER {wer} over {files} transcribed sounds").format(
        **values, wer=f"{r['wer']:.1%}", files=r["wer_files"])


class WhisperTranscriber:
    """A Whisper folder (float32, eval mode, CPU by default), loaded on first use."""

    def __init__(self, folder: str, device: str = "cpu"):
        self.folder, self.device = str(Path(folder).expanduser().resolve()), device
        self._loaded = None

    def _load(self):
        if self._loaded is None:
            import torch
            from transformers import WhisperForConditionalGeneration, WhisperProcessor

            problem = asr_problem(self.folder)
            if problem:
                raise ModelUnavailable(problem)
            try:
                model = WhisperForConditionalGeneration.from_pretrained(self.folder, dtype=torch.float32)
                processor = WhisperProcessor.from_pretrained(self.folder)
            except (OSError, ValueError, KeyError, RuntimeError) as e:
                raise ModelUnavailable(_("cannot load {folder} with transformers ({error}: {why})").format(
                    folder=self.folder, error=type(e).__name__, why=e)) from None
            self._loaded = (model.to(self.device).eval(), processor)
        return self._loaded

    @property
    def fingerprint(self) -> str:
        """The model's identity for the cache: its config files' bytes and its weights' sizes and names."""
        h = hashlib.sha256()
        for p in sorted(Path(self.folder).iterdir()):
            if p.suffix == ".json":
                h.update(p.name.encode() + p.read_bytes())
            elif p.suffix in (".safetensors", ".bin"):
                h.update(f"{p.name}:{p.stat().st_size}".encode())
        return h.hexdigest()[:16]

    def transcribe(self, samples) -> list[Segment]:
        """Timed segments of mono 16 kHz samples, by the model's own generate with timestamps."""
        import torch

        model, processor = self._load()
        long_form = len(samples) > 30 * RATE
        kwargs = dict(truncation=False, padding="longest", return_attention_mask=True) if long_form else {}
        feats = processor(samples, sampling_rate=RATE, return_tensors="pt", **kwargs)
        with torch.inference_mode():
            ids = model.generate(feats.input_features.to(self.device, torch.float32), return_timestamps=True,
                                 **({"attention_mask": feats.attention_mask} if long_form else {}))
        offsets = processor.tokenizer.decode(ids[0].tolist(), output_offsets=True)["offsets"]
        return [Segment(round(float(o["timestamp"][0]), 2), round(float(o["timestamp"][1]), 2), o["text"].strip())
                for o in offsets]


def _cache_path(fingerprint: str, sha: str) -> Path:
    from rag.settings import get_settings

    return get_settings().path("cache", "transcripts", fingerprint, f"{sha}.json")


def transcribe_file(model: WhisperTranscriber, path: str, sha: str) -> tuple[list[Segment], bool]:
    """(segments, from the cache?) for one sound, cached by its bytes' sha256."""
    cache = _cache_path(model.fingerprint, sha)
    if cache.is_file():
        return [Segment(**s) for s in json.loads(cache.read_text(encoding="utf-8"))], True
    from rag.data.audio import load_audio

    segments = model.transcribe(load_audio(path, RATE))
    cache.write_text(json.dumps([s.__dict__ for s in segments], ensure_ascii=False), encoding="utf-8")
    return segments, False


def _has_sound(path: str) -> bool:
    from rag.data.video import video_info

    return video_info(path).has_audio


def segment_id(file: str, s: Segment) -> str:
    return f"{file}@{s.start:.1f}-{s.end:.1f}"


SEGMENT_ID = re.compile(r"^(?P<file>.+)@(?P<start>\d+\.\d)-(?P<end>\d+\.\d)(#\d+)?$")


def segment_media(ds: Dataset, doc_id: str) -> tuple[str, float, float] | None:
    """(sound path, start s, end s) of a transcribed segment, for a player from that offset; None for any
    other document or when the audio dataset (``ds.source``) can no longer be read."""
    m = SEGMENT_ID.match(doc_id)
    if not m or not ds.source:
        return None
    path = _sound_paths(ds.source).get(m["file"])
    return (path, float(m["start"]), float(m["end"])) if path else None


@lru_cache(maxsize=16)
def _sound_paths(source: str) -> dict[str, str]:
    from rag.data.dataset import DatasetError
    from rag.data.loaders import load_dataset

    try:
        audio = load_dataset(source)
    except (DatasetError, OSError):
        return {}
    return {d.title: d.audio or d.video for d in audio.documents if d.audio or d.video}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """jiwer's corpus WER (total substitutions + deletions + insertions over total reference words)."""
    import jiwer

    return float(jiwer.wer(references, hypotheses))


def transcribe_dataset(ds: Dataset, asr_spec: str, progress: Progress | None = None) -> Dataset:
    """The text dataset of an audio dataset's speech (see the module docstring)."""
    return transcribe(ds, asr_spec, progress)[0]


def transcribe(ds: Dataset, asr_spec: str, progress: Progress | None = None,
               device: str = "cpu") -> tuple[Dataset, AsrReport]:
    """The text dataset of an audio dataset's speech and what was done (counts, cache hits, WER)."""
    if not asr_spec.startswith(PREFIX):
        raise ValueError(_("{spec}: a speech-to-text model is asr:FOLDER (a Whisper folder)").format(spec=asr_spec))
    if ds.modality not in ("audio", "video"):
        if ds.modality == "image":
            raise ValueError(_("{name} is an image dataset: {spec} transcribes audio and video datasets only")
                             .format(name=ds.name, spec=asr_spec))
        raise ValueError(_("{name} is a {modality} dataset: {spec} transcribes audio and video datasets only")
                         .format(name=ds.name, modality=_(ds.modality), spec=asr_spec))
    folder = asr_spec[len(PREFIX):].strip()
    problem = asr_problem(folder)
    if problem:
        raise ModelUnavailable(problem)
    model = WhisperTranscriber(folder, device)
    report = AsrReport(model=f"asr:{model.folder}", sounds=len(ds.documents))
    documents: list[Document] = []
    by_sound: dict[str, list[str]] = {}
    said: dict[str, str] = {}
    for i, doc in enumerate(ds.documents):
        if doc.video and not _has_sound(doc.video):
            segments, hit = [], False  # a silent video (no audio track): no speech, said in report.empty
        else:
            segments, hit = transcribe_file(model, doc.audio or doc.video, doc.audio_sha or doc.video_sha)
        report.cached += hit
        ids = by_sound.setdefault(doc.id, [])
        for s in segments:
            if not s.text:
                continue
            sid, n = segment_id(doc.title, s), 2
            while sid in ids:  # the same time range twice: keep both
                sid, n = f"{segment_id(doc.title, s)}#{n}", n + 1
            ids.append(sid)
            documents.append(Document(sid, f"{doc.title} {s.start:.1f}-{s.end:.1f} s", s.text))
        said[doc.id] = " ".join(s.text for s in segments if s.text)
        if not ids:
            report.empty.append(doc.title)
        if progress:
            progress(i + 1, len(ds.documents))
    report.segments = len(documents)
    queries = [q for q in ds.queries if q.kind == "text"]
    report.dropped_queries = len(ds.queries) - len(queries)
    qrels = {q.id: {sid: grade for doc_id, grade in ds.qrels.get(q.id, {}).items() for sid in by_sound.get(doc_id, [])}
             for q in queries}
    _wer(ds, said, report)
    name = f"{ds.name} (speech by {Path(model.folder).name})"
    return Dataset(name, documents, queries, {q: r for q, r in qrels.items() if r}, ds.source), report


def _wer(ds: Dataset, said: dict[str, str], report: AsrReport) -> None:
    from rag.data.audio import transcripts

    refs = transcripts(ds)
    keys = [k for k in refs if _norm(refs[k])]
    if not keys:
        return
    report.wer = word_error_rate([_norm(refs[k]) for k in keys], [_norm(said.get(k, "")) for k in keys])
    report.wer_files = len(keys)
    report.per_file_wer = {k: word_error_rate([_norm(refs[k])], [_norm(said.get(k, ""))]) for k in keys}
