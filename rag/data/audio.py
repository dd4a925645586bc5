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

Models read the samples with ``load_audio(path, rate)`` (a sound, or a video's audio track): mono
(channels averaged), float32 in [-1, 1],
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
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.data.dataset import Dataset, DatasetError
from rag.data.media import (
    CAPTIONS,
    Check,
    Medium,
    QueryMedium,
    accepted,
    is_media_folder,
    load_media_folder,
    size_text,
)
from rag.data.media import Bad as _Bad
from rag.data.media import read_texts as media_texts
from rag.data.video import VIDEO_EXTS
from rag.i18n import N_, _

SOUNDFILE_EXTS = (".wav", ".flac", ".ogg", ".mp3")  # decoded by libsndfile (soundfile)
AV_EXTS = (".m4a",)                                 # AAC in MP4: decoded by FFmpeg (PyAV)
AUDIO_EXTS = SOUNDFILE_EXTS + AV_EXTS
MIN_RATE, MAX_RATE = 4_000, 384_000                 # sample rates outside this are refused
AUDIO_HINT = N_("an audio folder holds corpus/ (.wav, .flac, .ogg, .mp3 or .m4a files), queries.jsonl and "
              "qrels/<split>.tsv; captions.jsonl and transcripts.jsonl are optional")
TRANSCRIPTS = "transcripts.jsonl"


@dataclass(frozen=True)
class AudioInfo:
    """What a checked file is: its bytes' sha256, native rate, channels and length."""

    sha: str
    rate: int
    channels: int
    seconds: float


def is_audio_folder(path: str | os.PathLike) -> bool:
    """A folder with ``corpus/`` whose first (by name, hidden files skipped) file is a sound file."""
    return is_media_folder(path, AUDIO_EXTS)


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
    medium = AUDIO
    if max_bytes is not None or max_seconds is not None:
        def check() -> Check:
            return audio_check(max_bytes, max_seconds)
        medium = replace(AUDIO, check=check, query=replace(AUDIO_QUERY, check=check))
    return load_media_folder(folder, medium, split, name)


def audio_check(max_bytes: int | None = None, max_seconds: float | None = None) -> Check:
    """The per-file check of an audio folder (corpus and query sounds), at the limits in force."""
    default_bytes, default_seconds = limits()
    max_bytes = default_bytes if max_bytes is None else max_bytes
    max_seconds = default_seconds if max_seconds is None else max_seconds
    return lambda rel, path, named_by: check_audio(rel, path, named_by, max_bytes, max_seconds).sha


AUDIO_QUERY = QueryMedium("audio", AUDIO_EXTS, either=N_("a query has text or audio, not both"),
                          needs=N_("a query needs a text or an audio file"),
                          not_found=N_("audio file not found: {rel}"), check=audio_check)
AUDIO = Medium("audio", AUDIO_EXTS, unknown=N_("unknown sound {id} (no such file in corpus/)"),
               id_hint=N_("a sound's id is its file name without the extension"),
               files_hint=N_("put the sound files directly in corpus/"), none_found=N_("no sound files in corpus/"),
               hint=AUDIO_HINT, check=audio_check, query=AUDIO_QUERY,
               texts=((CAPTIONS, "caption"), (TRANSCRIPTS, "text")))


def read_texts(root: Path, name: str, field: str, files: dict[str, str]) -> dict[str, str]:
    """``{"_id": sound id, field: text}`` lines of captions.jsonl / transcripts.jsonl, every line checked."""
    return media_texts(root, name, field, files, AUDIO.unknown)


def transcripts(dataset: Dataset) -> dict[str, str]:
    """The reference transcripts of an audio dataset's sounds (sound id -> text), {} without transcripts.jsonl."""
    first = dataset.documents[0].audio or dataset.documents[0].video if dataset.documents else ""
    root = Path(first).parent.parent if first else None
    if root is None or not (root / TRANSCRIPTS).is_file():
        return {}
    return read_texts(root, TRANSCRIPTS, "text", {d.id: d.title for d in dataset.documents})


# --- checking and decoding one file ---------------------------------------------------------------

def check_audio(rel: str, path: Path, named_by: str | None, max_bytes: int, max_seconds: float) -> AudioInfo:
    """What a good sound file is (``AudioInfo``); a DatasetError (file = ``rel``) for a bad one."""
    def hint(*parts: str | None) -> str | None:
        return _("; ").join(p for p in (*parts, _("named by {where}").format(where=named_by) if named_by else None)
                            if p) or None

    try:
        st = path.stat()
    except OSError as e:
        raise DatasetError(_("cannot read the audio file: {reason}").format(reason=e.strerror or e), file=rel,
                           hint=hint()) from None
    if st.st_size > max_bytes:
        raise DatasetError(_("audio file is {size}, over the {limit} limit").format(
            size=size_text(st.st_size), limit=size_text(max_bytes)), file=rel,
            hint=hint(_("raise WORKBENCH_MAX_AUDIO_MB or cut the recording")))
    if st.st_size == 0:
        raise DatasetError(_("empty file"), file=rel, hint=hint())
    try:
        info = _checked(str(path), st.st_mtime_ns, st.st_size)
    except _Bad as e:
        raise DatasetError(e.message, file=rel, hint=hint(e.hint)) from None
    if info.seconds > max_seconds:
        raise DatasetError(_("recording is {seconds} s long, over the {limit} s limit").format(
            seconds=f"{info.seconds:,.1f}", limit=f"{max_seconds:g}"),
            file=rel, hint=hint(_("raise WORKBENCH_MAX_AUDIO_S or cut the recording")))
    return info


@lru_cache(maxsize=100_000)
def _checked(path: str, mtime_ns: int, size: int) -> AudioInfo:
    """Decode the whole file once (cached by path, mtime and size): a damaged file fails here."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise _Bad(_("cannot read the audio file: {reason}").format(reason=e.strerror or e)) from None
    samples, rate = _decode(data, Path(path).suffix.lower())
    if not MIN_RATE <= rate <= MAX_RATE:
        raise _Bad(_("sample rate {rate} Hz is outside {low}-{high} Hz").format(
            rate=f"{rate:,}", low=f"{MIN_RATE:,}", high=f"{MAX_RATE:,}"))
    if samples.shape[0] == 0:
        raise _Bad(_("no audio samples (a zero-length recording)"))
    if not np.isfinite(samples).all():
        raise _Bad(_("the samples hold NaN or infinite values"))
    return AudioInfo(hashlib.sha256(data).hexdigest(), rate, samples.shape[1], samples.shape[0] / rate)


def _decode(data: bytes, ext: str) -> tuple[np.ndarray, int]:
    """(frames x channels float32, rate) from a file's bytes."""
    if ext in AV_EXTS or ext in VIDEO_EXTS:  # a video's audio track: FFmpeg demuxes it
        return _decode_av(data)
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise _Bad(_("corrupt or not a sound file"), _("; ").join((f"libsndfile: {e}", accepted(AUDIO_EXTS)))) from None
    return samples, int(rate)


def _decode_av(data: bytes) -> tuple[np.ndarray, int]:
    import av

    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.audio:
                raise _Bad(_("no audio stream in the file"))
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
        raise _Bad(_("corrupt or not a sound file"), _("; ").join((f"FFmpeg: {e}", accepted(AUDIO_EXTS)))) from None
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
        raise DatasetError(_("cannot read the audio file: {reason}").format(reason=e.strerror or e), file=p.name,
                           hint=str(p)) from None
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
