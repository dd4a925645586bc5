"""Video datasets: a BEIR-like folder of video files, text and image queries, and judgments.

The folder (the image and audio folders' layout, with videos)::

    my-videos/
      corpus/            kitchen.mp4, street.webm, ...   mp4, webm or mkv; a file's id is its stem
      queries.jsonl      {"_id": "t1", "text": "a red car"}               a text query
                         {"_id": "i1", "image": "queries/car.png"}        an image query (a still, query by example)
      qrels/test.tsv     query-id <TAB> corpus-id <TAB> score              header line optional, as in BEIR
      captions.jsonl     optional: {"_id": "kitchen", "caption": "someone cooks"}
      transcripts.jsonl  optional: {"_id": "kitchen", "text": "what was said"}  (word error rate of asr: models)

Each file becomes a ``Document`` with ``title`` = its file name, ``text`` = its caption, ``video`` = its
absolute path and ``video_sha`` = the sha256 of its bytes. Every file is demuxed and its first video stream
decoded in full by FFmpeg (PyAV) at load time, so a corrupt, truncated, oversized, too long, too large
(per frame), frameless or unsupported file is a ``DatasetError`` naming it before any model sees it; nothing
is half-loaded. Checked files are remembered in-process by (path, mtime, size). The rules (names, escapes,
queries, judgments) are the shared media-folder loader's (``rag.data.media``).

Models see a video as frames sampled at a rate (``rag.data.frames``) and its speech as the audio track
(``rag.data.audio.load_audio`` reads it, ``asr:`` transcribes it).

Usage:
    from rag.data.video import is_video_folder, load_video_folder, sample_frames
    ds = load_video_folder("data/my-videos")       # ds.modality == "video"
    sample_frames(ds.documents[0].video, fps=1.0)  # [(0.0, RGB array), (1.0, ...), ...]
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.data.dataset import Dataset, DatasetError
from rag.data.media import CAPTIONS, Bad, Check, Medium, accepted, is_media_folder, load_media_folder, size_text
from rag.i18n import N_, _

VIDEO_EXTS = (".mp4", ".webm", ".mkv")
MAX_FRAME_PIXELS = 4096 * 4096      # per-frame resolution limit (16.8 MP: beyond 4K in either direction)
VIDEO_HINT = N_("a video folder holds corpus/ (.mp4, .webm or .mkv files), queries.jsonl (text, or image queries) "
              "and qrels/<split>.tsv; captions.jsonl and transcripts.jsonl are optional")
TRANSCRIPTS = "transcripts.jsonl"


@dataclass(frozen=True)
class VideoInfo:
    """What a checked video is: its bytes' sha256, frame size, frames decoded, length and whether it has sound."""

    sha: str
    width: int
    height: int
    frames: int
    seconds: float
    has_audio: bool


def is_video_folder(path: str | os.PathLike) -> bool:
    """A folder with ``corpus/`` whose first (by name, hidden files skipped) file is a video file."""
    return is_media_folder(path, VIDEO_EXTS)


def limits() -> tuple[int, float]:
    """(largest file in bytes, longest video in seconds) from settings (WORKBENCH_MAX_VIDEO_MB / _S)."""
    from rag.settings import get_settings

    s = get_settings()
    return int(s.max_video_mb) * 1024 * 1024, float(s.max_video_s)


def video_check(max_bytes: int | None = None, max_seconds: float | None = None) -> Check:
    """The per-file check of a video folder's corpus, at the limits in force."""
    default_bytes, default_seconds = limits()
    max_bytes = default_bytes if max_bytes is None else max_bytes
    max_seconds = default_seconds if max_seconds is None else max_seconds
    return lambda rel, path, named_by: check_video(rel, path, named_by, max_bytes, max_seconds).sha


def _video_medium() -> Medium:
    from rag.data.images import IMAGE_QUERY  # a video folder's query by example is a still image

    return Medium("video", VIDEO_EXTS, unknown=N_("unknown video {id} (no such file in corpus/)"),
                  id_hint=N_("a video's id is its file name without the extension"),
                  files_hint=N_("put the video files directly in corpus/"), none_found=N_("no videos in corpus/"),
                  hint=VIDEO_HINT, check=video_check, query=IMAGE_QUERY,
                  texts=((CAPTIONS, "caption"), (TRANSCRIPTS, "text")))


def load_video_folder(folder: str | os.PathLike, split: str = "test", name: str | None = None, *,
                      max_bytes: int | None = None, max_seconds: float | None = None) -> Dataset:
    """A video dataset from a folder (see the module docstring), or a ``DatasetError``."""
    medium = _video_medium()
    if max_bytes is not None or max_seconds is not None:
        medium = replace(medium, check=lambda: video_check(max_bytes, max_seconds))
    return load_media_folder(folder, medium, split, name)


def check_video(rel: str, path: Path, named_by: str | None, max_bytes: int, max_seconds: float) -> VideoInfo:
    """What a good video file is (``VideoInfo``); a DatasetError (file = ``rel``) for a bad one."""
    def hint(*parts: str | None) -> str | None:
        return _("; ").join(p for p in (*parts, _("named by {where}").format(where=named_by) if named_by else None)
                            if p) or None

    try:
        st = path.stat()
    except OSError as e:
        raise DatasetError(_("cannot read the video file: {reason}").format(reason=e.strerror or e), file=rel,
                           hint=hint()) from None
    if st.st_size > max_bytes:
        raise DatasetError(_("video file is {size}, over the {limit} limit").format(
            size=size_text(st.st_size), limit=size_text(max_bytes)), file=rel,
            hint=hint(_("raise WORKBENCH_MAX_VIDEO_MB or cut the video")))
    if st.st_size == 0:
        raise DatasetError(_("empty file"), file=rel, hint=hint())
    try:
        info = _checked(str(path), st.st_mtime_ns, st.st_size, max_seconds)
    except Bad as e:
        raise DatasetError(e.message, file=rel, hint=hint(e.hint)) from None
    if info.seconds > max_seconds:
        too_long = _too_long(info.seconds, max_seconds)
        raise DatasetError(too_long.message, file=rel, hint=hint(too_long.hint))
    return info


def _too_long(seconds: float, max_seconds: float) -> Bad:
    return Bad(_("video is {seconds} s long, over the {limit} s limit").format(seconds=f"{seconds:,.1f}",
                                                                              limit=f"{max_seconds:g}"),
               _("raise WORKBENCH_MAX_VIDEO_S or cut the video"))


@lru_cache(maxsize=20_000)
def _checked(path: str, mtime_ns: int, size: int, max_seconds: float) -> VideoInfo:
    """Demux and decode the whole video stream once (cached by path, mtime and size): a damaged file fails here.
    A declared length over the limit is refused before decoding."""
    import av

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise Bad(_("cannot read the video file: {reason}").format(reason=e.strerror or e)) from None
    frames, first, last, step = 0, None, 0.0, 0.0
    try:
        with av.open(path, "r") as container:
            if not container.streams.video:
                raise Bad(_("no video stream in the file"), _("a sound-only file belongs in an audio folder"))
            stream = container.streams.video[0]
            if container.duration and container.duration / 1e6 > max_seconds:
                raise _too_long(container.duration / 1e6, max_seconds)
            width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
            if width * height > MAX_FRAME_PIXELS:
                raise Bad(_("video frames are {width}x{height} = {mp} MP, over the {limit} MP limit").format(
                    width=width, height=height, mp=f"{width * height / 1e6:.1f}",
                    limit=f"{MAX_FRAME_PIXELS / 1e6:.1f}"),
                    _("scale the video down"))
            has_audio = bool(container.streams.audio)
            rate = stream.average_rate or stream.guessed_rate
            step = 1 / float(rate) if rate else 0.0
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else frames * step
                first = t if first is None else first
                last, frames = t, frames + 1
                if last - first > max_seconds:
                    raise _too_long(last - first, max_seconds)
    except Bad:
        raise
    except (av.FFmpegError, ValueError, OSError) as e:
        raise Bad(_("corrupt or not a video file"), _("; ").join((f"FFmpeg: {e}", accepted(VIDEO_EXTS)))) from None
    if frames == 0:
        raise Bad(_("no video frames (a zero-length video)"))
    seconds = last - (first or 0.0) + step
    return VideoInfo(hashlib.sha256(data).hexdigest(), width, height, frames, round(seconds, 6), has_audio)


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Frame size, frames, length, sound and sha of a file (cached), for players, frames and reports."""
    p = Path(path)
    st = p.stat()
    try:
        return _checked(str(p), st.st_mtime_ns, st.st_size, limits()[1])
    except Bad as e:
        raise DatasetError(e.message, file=p.name, hint=e.hint) from None


def sample_frames(path: str | os.PathLike, fps: float) -> list[tuple[float, np.ndarray]]:
    """Frames at ``fps`` per second as (seconds from the first frame, RGB uint8 array): for each time
    0, 1/fps, 2/fps, ... the first decoded frame at or after it (one frame never stands for two times)."""
    import av

    if not fps > 0:
        raise ValueError(_("fps must be above 0, got {fps}").format(fps=fps))
    out: list[tuple[float, np.ndarray]] = []
    p = Path(path)
    try:
        with av.open(str(p), "r") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            step = 1 / float(rate) if rate else 0.0
            first, target, n = None, 0.0, 0
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else n * step
                n += 1
                first = t if first is None else first
                t -= first
                if t + 1e-6 >= target:
                    out.append((round(t, 3), frame.to_ndarray(format="rgb24")))
                    while target <= t + 1e-6:
                        target = round(target + 1 / fps, 9)
    except (av.FFmpegError, ValueError, OSError, IndexError) as e:
        raise DatasetError(_("cannot decode the video ({why})").format(why=f"{type(e).__name__}: {e}"), file=p.name,
                           hint=str(p)) from None
    return out


def frame_png(path: str | os.PathLike, seconds: float = 0.0, size: int = 96) -> bytes:
    """The frame shown at ``seconds`` (the first at or after it, else the last) as a PNG no larger than ``size``
    pixels a side, aspect kept: a result's thumbnail in tables and reports (cached by path, mtime, size)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise DatasetError(_("video not found"), file=p.name, hint=str(p)) from None
    return _frame_png(str(p), st.st_mtime_ns, st.st_size, round(float(seconds), 3), int(size))


def frame_data_uri(path: str | os.PathLike, seconds: float = 0.0, size: int = 96) -> str:
    """``frame_png`` as a ``data:image/png;base64,...`` URI: a report stays one standalone file."""
    import base64

    return "data:image/png;base64," + base64.b64encode(frame_png(path, seconds, size)).decode("ascii")


@lru_cache(maxsize=2048)
def _frame_png(path: str, mtime_ns: int, nbytes: int, seconds: float, size: int) -> bytes:
    import io

    import av
    from PIL import Image

    shown = None
    try:
        with av.open(path, "r") as container:
            stream = container.streams.video[0]
            first = None
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                first = t if first is None else first
                shown = frame
                if t - first + 1e-6 >= seconds:
                    break
            img = shown.to_image() if shown is not None else None
    except (av.FFmpegError, ValueError, OSError, IndexError) as e:
        raise DatasetError(_("cannot decode the video ({why})").format(why=f"{type(e).__name__}: {e}"),
                           file=Path(path).name) from None
    if img is None:
        raise DatasetError(_("no video frames (a zero-length video)"), file=Path(path).name)
    img = img.convert("RGB")
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()
