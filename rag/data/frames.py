"""A video dataset as an image dataset of its frames: what ``clip:`` / ``img:`` models embed and Milvus indexes.

Why frames as images: a frame sampled from a video is a still, so every image path applies unchanged (the
encoders, the embedding cache keyed by the bytes' hash, thumbnails, Milvus collections). Frames are sampled
at ``fps`` per second (``rag.data.video.sample_frames``), written once as PNG files in the data folder under
``cache/frames/<video sha256>/fps<rate>/`` (so the same bytes at the same rate are decoded once, whatever the
file is called) and each becomes an image ``Document`` with id ``file.mp4@12.0`` (file and second, as an ASR
segment is ``file.wav@12.0-15.5``), title ``file.mp4 12.0 s`` and the video's caption. ``parents`` maps each
frame back to its video, so a ranking of frames becomes a ranking of videos the way a chunk ranking becomes
a document ranking (``rag.data.chunking.document_ranking``: a video takes its best frame's place and score);
``times`` gives each frame's second, for the best frame's time in results, players and reports.

Usage:
    framed = frame_dataset(video_ds, fps=1.0)   # framed.dataset.modality == "image"
    framed.parents["street.mp4@3.0"]            # "street"
    framed.times["street.mp4@3.0"]              # 3.0
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.data.dataset import Dataset, Document
from rag.i18n import N_, _

DEFAULT_FPS = 1.0
MAX_FPS = 10.0  # frame ids keep tenths of a second: more than 10 a second would collide
MANIFEST = "frames.json"
FRAME_ID = re.compile(r"^(?P<file>.+)@(?P<time>\d+\.\d)$")


@dataclass
class FramedDataset:
    dataset: Dataset                                       # image documents, one per sampled frame
    fps: float
    parents: dict[str, str] = field(default_factory=dict)  # frame id -> video id
    times: dict[str, float] = field(default_factory=dict)  # frame id -> seconds from the video's start

    @property
    def most_per_video(self) -> int:
        """The most frames any one video has: how deep a frame search must go to see k distinct videos."""
        counts: dict[str, int] = {}
        for video in self.parents.values():
            counts[video] = counts.get(video, 0) + 1
        return max(counts.values(), default=1)


def check_fps(fps: float) -> float:
    if not 0 < fps <= MAX_FPS:
        raise ValueError(_("fps={fps}: give a rate above 0 and at most {max} frames a second").format(
            fps=f"{fps:g}", max=f"{MAX_FPS:g}"))
    return float(fps)


def frame_id(file: str, seconds: float) -> str:
    return f"{file}@{seconds:.1f}"


def frame_files(path: str, sha: str, fps: float, data_root: Path | None = None) -> list[tuple[float, Path, str]]:
    """(seconds, PNG path, PNG sha256) of a video's frames at ``fps``, extracted once per (video bytes, rate)."""
    from rag.settings import get_settings

    folder = Path(data_root or get_settings().data_dir) / "cache" / "frames" / sha / f"fps{fps:g}"
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            rows = json.loads(manifest.read_text(encoding="utf-8"))
            out = [(float(t), folder / name, png_sha) for t, name, png_sha in rows]
            if all(p.is_file() for _, p, _ in out):
                return out
        except (OSError, ValueError, TypeError):
            pass  # damaged: extract again
    from PIL import Image

    from rag.data.samples.folder import ensure_folder
    from rag.data.video import sample_frames

    files: dict[str, bytes] = {}
    rows = []
    for t, rgb in sample_frames(path, fps):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "PNG")
        name = f"{t:010.3f}.png"
        files[name] = buf.getvalue()
        rows.append((t, name, hashlib.sha256(files[name]).hexdigest()))
    files[MANIFEST] = json.dumps(rows).encode()
    ensure_folder(folder, files, N_("video frames"))
    return [(t, folder / name, png_sha) for t, name, png_sha in rows]


def frame_dataset(ds: Dataset, fps: float = DEFAULT_FPS, data_root: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> FramedDataset:
    """Each video of ``ds`` as its frames at ``fps`` (see the module docstring); queries and qrels (on videos)
    are kept: scores are taken after the frames are folded back into videos. ``progress(videos done, all)``."""
    fps = check_fps(fps)
    docs, parents, times = [], {}, {}
    for i, d in enumerate(ds.documents):
        if progress:
            progress(i, len(ds.documents))
        seen: set[str] = set()
        for t, png, png_sha in frame_files(d.video, d.video_sha, fps, data_root):
            fid = frame_id(d.title, t)
            if fid in seen:  # two frames within a tenth of a second: the first stands for both
                continue
            seen.add(fid)
            docs.append(Document(fid, f"{d.title} {t:.1f} s", d.text, image=str(png), image_sha=png_sha))
            parents[fid], times[fid] = d.id, t
    if progress:
        progress(len(ds.documents), len(ds.documents))
    framed = Dataset(ds.name, docs, ds.queries, ds.qrels, source=ds.source)
    return FramedDataset(framed, fps, parents, times)


def fold_frames(hits: list[tuple[str, float]], framed: FramedDataset, k: int) -> tuple[list[tuple[str, float]],
                                                                                       dict[str, float]]:
    """A frame ranking as a video ranking (each video at its best frame's place and score, at most ``k``) and
    each ranked video's best frame's second."""
    from rag.data.chunking import document_ranking

    best: dict[str, float] = {}
    for fid, _score in hits:
        video = framed.parents.get(fid, fid)
        if video not in best and fid in framed.times:
            best[video] = framed.times[fid]
    ranking = document_ranking(hits, framed.parents)[:k]
    return ranking, {v: best[v] for v, _ in ranking if v in best}
