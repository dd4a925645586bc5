"""Audio datasets: a BEIR-like folder of sound files, text and audio queries, and judgments.

The folder (the image folder's layout, with sounds)::

    my-sounds/
      corpus/            dog-bark.wav, rain.flac, ...   wav, flac, ogg, mp3 or m4a; a file's id is its stem
      queries.jsonl      {"_id": "t1", "text": "a dog barking"}           a text query
                         {"_id": "a1", "audio": "queries/a1.wav"}         an audio query (query by example):
                                                                          a path inside the folder
      qrels/test.tsv     query-id <TAB> corpus-id <TAB> score              header line optional, as in BEIR
      captions.jsonl     optional: {"_id": "dog-bark", "caption": "a dog barks twice"}
      transcripts.jsonl  optional: {"_id": "talk-1", "text": "what was said"}   (word error rate of asr: models)

Each file becomes a ``Document`` with ``title`` = its file name, ``text`` = its caption ("" without
one), ``audio`` = its absolute path and ``audio_sha`` = the sha256 of its bytes. Only the queries judged
in ``qrels/<split>.tsv`` are kept, as in ``load_beir``. Every file is decoded in full at load time
(libsndfile through ``soundfile`` for wav/flac/ogg/mp3; FFmpeg through PyAV for m4a), so a corrupt,
truncated, oversized, too long, empty or unsupported file is a ``DatasetError`` naming it before any
model sees it; nothing is half-loaded. Checked files are remembered in-process by (path, mtime, size).

Models read the samples with ``load_audio(path, rate)``: mono (channels averaged), float32 in [-1, 1],
resampled to the model's rate by polyphase filtering (``scipy.signal.resample_poly``).

Usage:
    from rag.data.audio import is_audio_folder, load_audio_folder, load_audio
    if is_audio_folder("data/my-sounds"):
        ds = load_audio_folder("data/my-sounds")      # ds.modality == "audio"
    ds.select_queries("audio")                        # only the query-by-example queries
    samples = load_audio(ds.documents[0].audio, 16_000)  # np.float32, mono, 16 kHz
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from rag.data.dataset import Dataset, DatasetError, Document, Query
from rag.data.validation import IdRegistry, decode_text, get_id, get_text, iter_jsonl, read_source
from rag.i18n import carry_language

SOUNDFILE_EXTS = (".wav", ".flac", ".ogg", ".mp3")  # decoded by libsndfile (soundfile)
AV_EXTS = (".m4a",)                                 # AAC in MP4: decoded by FFmpeg (PyAV)
AUDIO_EXTS = SOUNDFILE_EXTS + AV_EXTS
MIN_RATE, MAX_RATE = 4_000, 384_000                 # sample rates outside this are refused
AUDIO_HINT = ("an audio folder holds corpus/ (.wav, .flac, .ogg, .mp3 or .m4a files), queries.jsonl and "
              "qrels/<split>.tsv; captions.jsonl and transcripts.jsonl are optional")
ACCEPTED = "accepted: " + ", ".join(AUDIO_EXTS)
QUERIES, CAPTIONS, TRANSCRIPTS = "queries.jsonl", "captions.jsonl", "transcripts.jsonl"


@dataclass(frozen=True)
class AudioInfo:
    """What a checked file is: its bytes' sha256, native rate, channels and length."""

    sha: str
    rate: int
    channels: int
    seconds: float


def is_audio_folder(path: str | os.PathLike) -> bool:
    """A folder with ``corpus/`` whose first (by name, hidden files skipped) file is a sound file."""
    corpus = Path(path).expanduser() / "corpus"
    if not corpus.is_dir():
        return False
    try:
        files = sorted(p.name for p in corpus.iterdir() if not p.name.startswith(".") and p.is_file())
    except OSError:
        return False
    return bool(files) and Path(files[0]).suffix.lower() in AUDIO_EXTS


def limits() -> tuple[int, float]:
    """(largest file in bytes, longest recording in seconds) from settings (WORKBENCH_MAX_AUDIO_MB / _S)."""
    from rag.settings import get_settings

    s = get_settings()
    return int(s.max_audio_mb) * 1024 * 1024, float(s.max_audio_s)


def load_audio_folder(folder: str | os.PathLike, split: str = "test", name: str | None = None, *,
                      max_bytes: int | None = None, max_seconds: float | None = None) -> Dataset:
    """An audio dataset from a folder (see the module docstring), or a ``DatasetError``.

    Cheap checks (files present, names, queries, judgments, captions, transcripts) run first, then
    every file is decoded; the first problem found is raised, naming its file (and line and field).
    """
    from rag.data.beir import parse_qrels

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DatasetError("folder not found" if not root.exists() else "not a folder", file=str(folder),
                           hint=AUDIO_HINT)
    root = root.resolve()
    default_bytes, default_seconds = limits()
    max_bytes = default_bytes if max_bytes is None else max_bytes
    max_seconds = default_seconds if max_seconds is None else max_seconds
    for rel, ok in (("corpus/", (root / "corpus").is_dir()), (QUERIES, (root / QUERIES).is_file())):
        if not ok:
            raise DatasetError(f"missing {rel}", file=rel, hint=f"in {root}: {AUDIO_HINT}")
    qrels_name = f"qrels/{split}.tsv"
    if not (root / qrels_name).is_file():
        found = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise DatasetError(f"no judgments for split {split!r}", file=qrels_name,
                           hint=f"splits found: {', '.join(found) or 'none'}; {AUDIO_HINT}")

    files = _scan_corpus(root)
    qrels, qrel_lines = parse_qrels(qrels_name, _read_text(root, qrels_name))
    queries, all_query_ids = _read_queries(root, set(qrels))
    query_lines = {q.id: line for q, _, line in queries}
    for query_id, judged in qrels.items():
        if query_id not in all_query_ids:
            raise DatasetError(f"unknown query {query_id!r} (not in {QUERIES})", file=qrels_name,
                               line=qrel_lines[query_id, None], field="query-id")
        for doc_id in judged:
            if doc_id not in files:
                raise DatasetError(f"unknown sound {doc_id!r} (no such file in corpus/)", file=qrels_name,
                                   line=qrel_lines[query_id, doc_id], field="corpus-id")
    captions = read_texts(root, CAPTIONS, "caption", files) if (root / CAPTIONS).exists() else {}
    if (root / TRANSCRIPTS).exists():
        read_texts(root, TRANSCRIPTS, "text", files)  # checked now; read by the speech-to-text evaluation

    checks = [(f"corpus/{fname}", root / "corpus" / fname, None) for fname in files.values()]
    checks += [(rel, root / rel, f"{QUERIES} line {query_lines[q.id]}") for q, rel, _ in queries if rel]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        infos = dict(zip((c[0] for c in checks),
                         pool.map(carry_language(lambda c: check_audio(*c, max_bytes, max_seconds)), checks)))

    documents = [Document(doc_id, fname, captions.get(doc_id, ""), audio=str(root / "corpus" / fname),
                          audio_sha=infos[f"corpus/{fname}"].sha) for doc_id, fname in files.items()]
    out_queries = [Query(q.id, q.text, q.reference, audio=str(root / rel), audio_sha=infos[rel].sha) if rel else q
                   for q, rel, _ in queries]
    return Dataset(name=name or root.name, documents=documents, queries=out_queries, qrels=qrels,
                   source=str(root))


def _read_text(root: Path, rel: str) -> str:
    return decode_text(*read_source(root / rel, name=rel))


def _scan_corpus(root: Path) -> dict[str, str]:
    """Sound id -> file name, in file-name order; hidden files are skipped."""
    files: dict[str, str] = {}
    for entry in sorted((root / "corpus").iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        rel = f"corpus/{entry.name}"
        if entry.is_dir():
            raise DatasetError("a folder inside corpus/ (subfolders are not read)", file=rel + "/",
                               hint="put the sound files directly in corpus/")
        ext = entry.suffix.lower()
        if ext not in AUDIO_EXTS:
            raise DatasetError(f"unsupported format {ext or '(no extension)'!r}", file=rel, hint=ACCEPTED)
        if entry.stem in files:
            raise DatasetError(f"duplicate id {entry.stem!r}: corpus/{files[entry.stem]} has the same name",
                               file=rel, hint="a sound's id is its file name without the extension")
        files[entry.stem] = entry.name
    if not files:
        raise DatasetError("no sound files in corpus/", file="corpus/", hint=ACCEPTED)
    return files


def _read_queries(root: Path, judged: set[str]) -> tuple[list[tuple[Query, str, int]], set[str]]:
    ids = IdRegistry(QUERIES, "_id")
    out: list[tuple[Query, str, int]] = []
    for line, record in iter_jsonl(QUERIES, _read_text(root, QUERIES)):
        query_id = get_id(QUERIES, line, record, "_id")
        ids.add(query_id, line)
        text = get_text(QUERIES, line, record, "text", required=False)
        value = record.get("audio")
        has_audio = value is not None and not (isinstance(value, str) and not value.strip())
        if text and has_audio:
            raise DatasetError("a query has text or audio, not both", file=QUERIES, line=line, field="audio")
        if not text and not has_audio:
            raise DatasetError("a query needs a text or an audio file", file=QUERIES, line=line, field="text")
        rel = _query_audio(root, line, value) if has_audio else ""
        if query_id in judged:
            out.append((Query(query_id, text), rel, line))
    return out, set(ids.lines)


def _query_audio(root: Path, line: int, value: Any) -> str:
    """The audio path of a query, relative to the folder (posix), checked to stay inside it and exist."""
    def fail(message: str, hint: str | None = None) -> DatasetError:
        return DatasetError(message, file=QUERIES, line=line, field="audio", hint=hint)

    if not isinstance(value, str):
        raise fail(f"audio path must be a string, got {type(value).__name__}")
    text = value.strip().replace("\\", "/")
    if text.startswith("/") or PureWindowsPath(text).drive or Path(text).is_absolute():
        raise fail(f"absolute audio path '{value.strip()}'", "give a path relative to the dataset folder")
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise fail(f"audio path '{value.strip()}' leaves the dataset folder ('..')",
                   "give a path inside the dataset folder")
    rel = PurePosixPath(*[p for p in parts if p != "."]).as_posix()
    path = root / rel
    if path.suffix.lower() not in AUDIO_EXTS:
        raise fail(f"unsupported format {path.suffix.lower() or '(no extension)'!r} ({rel})", ACCEPTED)
    if not path.is_file():
        raise fail(f"audio file not found: {rel}", f"paths are relative to {root}")
    if not path.resolve().is_relative_to(root):
        raise fail(f"audio path '{rel}' leaves the dataset folder (through a link)")
    return rel


def read_texts(root: Path, name: str, field: str, files: dict[str, str]) -> dict[str, str]:
    """``{"_id": sound id, field: text}`` lines of captions.jsonl / transcripts.jsonl, every line checked."""
    ids = IdRegistry(name, "_id")
    out: dict[str, str] = {}
    for line, record in iter_jsonl(name, _read_text(root, name)):
        sound_id = get_id(name, line, record, "_id")
        ids.add(sound_id, line)
        if sound_id not in files:
            raise DatasetError(f"unknown sound {sound_id!r} (no such file in corpus/)", file=name, line=line,
                               field="_id")
        out[sound_id] = get_text(name, line, record, field)
    return out


def transcripts(dataset: Dataset) -> dict[str, str]:
    """The reference transcripts of an audio dataset's sounds (sound id -> text), {} without transcripts.jsonl."""
    root = Path(dataset.documents[0].audio).parent.parent if dataset.documents and dataset.documents[0].audio \
        else None
    if root is None or not (root / TRANSCRIPTS).is_file():
        return {}
    return read_texts(root, TRANSCRIPTS, "text", {d.id: d.title for d in dataset.documents})


# --- checking and decoding one file ---------------------------------------------------------------

class _Bad(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def check_audio(rel: str, path: Path, named_by: str | None, max_bytes: int, max_seconds: float) -> AudioInfo:
    """What a good sound file is (``AudioInfo``); a DatasetError (file = ``rel``) for a bad one."""
    def hint(*parts: str | None) -> str | None:
        return "; ".join(p for p in (*parts, f"named by {named_by}" if named_by else None) if p) or None

    try:
        st = path.stat()
    except OSError as e:
        raise DatasetError(f"cannot read the audio file: {e.strerror or e}", file=rel, hint=hint()) from None
    if st.st_size > max_bytes:
        raise DatasetError(f"audio file is {_size(st.st_size)}, over the {_size(max_bytes)} limit", file=rel,
                           hint=hint("raise WORKBENCH_MAX_AUDIO_MB or cut the recording"))
    if st.st_size == 0:
        raise DatasetError("empty file", file=rel, hint=hint())
    try:
        info = _checked(str(path), st.st_mtime_ns, st.st_size)
    except _Bad as e:
        raise DatasetError(e.message, file=rel, hint=hint(e.hint)) from None
    if info.seconds > max_seconds:
        raise DatasetError(f"recording is {info.seconds:,.1f} s long, over the {max_seconds:g} s limit",
                           file=rel, hint=hint("raise WORKBENCH_MAX_AUDIO_S or cut the recording"))
    return info


@lru_cache(maxsize=100_000)
def _checked(path: str, mtime_ns: int, size: int) -> AudioInfo:
    """Decode the whole file once (cached by path, mtime and size): a damaged file fails here."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise _Bad(f"cannot read the audio file: {e.strerror or e}") from None
    samples, rate = _decode(data, Path(path).suffix.lower())
    if not MIN_RATE <= rate <= MAX_RATE:
        raise _Bad(f"sample rate {rate:,} Hz is outside {MIN_RATE:,}-{MAX_RATE:,} Hz")
    if samples.shape[0] == 0:
        raise _Bad("no audio samples (a zero-length recording)")
    if not np.isfinite(samples).all():
        raise _Bad("the samples hold NaN or infinite values")
    return AudioInfo(hashlib.sha256(data).hexdigest(), rate, samples.shape[1], samples.shape[0] / rate)


def _decode(data: bytes, ext: str) -> tuple[np.ndarray, int]:
    """(frames x channels float32, rate) from a file's bytes."""
    if ext in AV_EXTS:
        return _decode_av(data)
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise _Bad("corrupt or not a sound file", f"libsndfile: {e}; {ACCEPTED}") from None
    return samples, int(rate)


def _decode_av(data: bytes) -> tuple[np.ndarray, int]:
    import av

    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.audio:
                raise _Bad("no audio stream in the file")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono")
            chunks, rate = [], int(stream.codec_context.sample_rate or stream.rate or 0)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except _Bad:
        raise
    except (av.FFmpegError, ValueError, OSError) as e:
        raise _Bad("corrupt or not a sound file", f"FFmpeg: {e}; {ACCEPTED}") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return samples.astype(np.float32).reshape(-1, 1), rate


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Mono samples at ``rate`` resampled to ``target`` Hz (polyphase, scipy's Kaiser-windowed FIR)."""
    if rate == target:
        return samples.astype(np.float32)
    from scipy.signal import resample_poly

    ratio = Fraction(int(target), int(rate))
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def load_audio(path: str | os.PathLike, rate: int | None = None, start: float = 0.0,
               end: float | None = None) -> np.ndarray:
    """A file's samples: mono (channels averaged), float32, at ``rate`` Hz (its own when None), from
    ``start`` to ``end`` seconds. An unreadable file is a DatasetError naming it."""
    p = Path(path)
    try:
        samples, native = _decode(p.read_bytes(), p.suffix.lower())
    except OSError as e:
        raise DatasetError(f"cannot read the audio file: {e.strerror or e}", file=p.name, hint=str(p)) from None
    except _Bad as e:
        raise DatasetError(e.message, file=p.name, hint=e.hint) from None
    mono = samples.mean(axis=1)
    a, b = int(round(start * native)), None if end is None else int(round(end * native))
    return resample(mono[a:b], native, rate or native)


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Rate, channels, length and sha of a file (cached), for players and reports."""
    p = Path(path)
    st = p.stat()
    try:
        return _checked(str(p), st.st_mtime_ns, st.st_size)
    except _Bad as e:
        raise DatasetError(e.message, file=p.name, hint=e.hint) from None


def waveform_png(path: str | os.PathLike, width: int = 160, height: int = 32) -> bytes:
    """A small waveform picture (PNG, peak envelope, dark on white) for reports and tables."""
    from PIL import Image, ImageDraw

    x = load_audio(path)
    cols = np.array_split(np.abs(x), width) if len(x) >= width else [np.abs(x)] * width
    peaks = np.array([c.max() if len(c) else 0.0 for c in cols])
    peaks = peaks / (peaks.max() or 1.0)
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    mid = height / 2
    for i, p in enumerate(peaks):
        h = max(1.0, p * (height / 2 - 1))
        draw.line([(i, mid - h), (i, mid + h)], fill=(40, 90, 160))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def waveform_data_uri(path: str | os.PathLike, width: int = 160, height: int = 32) -> str:
    """``waveform_png`` as a ``data:image/png;base64,...`` URI: reports and tables stay standalone files."""
    import base64

    return "data:image/png;base64," + base64.b64encode(waveform_png(path, width, height)).decode("ascii")
