"""The built-in video sample: 6 short videos of three coloured-shape scenes each, 6 text and 2 image queries.

Generated here, deterministically, so the workbench can evaluate video retrieval (frames by ``clip:`` /
``img:`` models) offline and in seconds, with judgments anyone can check by watching: each video is 6 s of
64x64 frames at 4 frames a second, three 2-second scenes of a shape drawn by the image sample's code
(``rag.data.samples.images.draw``: a red circle, then a yellow star, then a green triangle, ...), so every
shape is at a known second (``SCENE_SECONDS``) and a result's best frame time can be checked.

Text queries (``t1``..``t6``) name a coloured shape: grade 2 for a video showing exactly it, 1 for a video
showing that shape in another colour. Image queries (``i1``, ``i2``) are stills of a shape, shifted 2 px,
judged the same way. Videos are VP8 in WebM (libvpx through PyAV, one thread, FFmpeg's bitexact flags so no
muxer writes a random id or a version string), which every browser plays; the frames are drawn with integer
and float arithmetic only, so the bytes (and the sha256s that key the frame and embedding caches) are the
same on every run with the pinned PyAV. The folder is written once into the data folder
(``samples/video-sample-v1``, atomically) and loaded with ``rag.data.video.load_video_folder``.

Usage:
    from rag.data.samples.video import load_video_sample
    ds = load_video_sample()          # 6 documents, 8 judged queries, ds.modality == "video"
    ds.relevant("t1")                 # {'street': 2, 'ocean': 1, 'garden': 1, 'sunset': 1}
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.data.dataset import Dataset
from rag.data.samples.folder import folder_files, load_folder_sample, sample_dir
from rag.i18n import N_

SAMPLE_NAME = "video-sample"
FOLDER_NAME = "video-sample-v1"  # bump whenever the videos, queries or judgments change
FPS, SCENE_SECONDS, RADIUS = 4, 2, 22

# (id, scenes: (shape, colour) shown for SCENE_SECONDS each, in order)
VIDEOS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("street", (("circle", "red"), ("star", "yellow"), ("triangle", "green"))),
    ("ocean", (("square", "blue"), ("circle", "blue"), ("cross", "purple"))),
    ("garden", (("triangle", "green"), ("square", "green"), ("circle", "yellow"))),
    ("sunset", (("star", "yellow"), ("square", "red"), ("circle", "purple"))),
    ("night", (("cross", "purple"), ("star", "blue"), ("triangle", "red"))),
    ("festival", (("cross", "red"), ("star", "green"), ("triangle", "blue"))),
)
TEXT_QUERIES: tuple[tuple[str, str, tuple[str, str]], ...] = (
    ("t1", "a red circle", ("circle", "red")),
    ("t2", "a yellow star", ("star", "yellow")),
    ("t3", "a green triangle", ("triangle", "green")),
    ("t4", "a blue square", ("square", "blue")),
    ("t5", "a purple cross", ("cross", "purple")),
    ("t6", "a purple circle", ("circle", "purple")),
)
IMAGE_QUERIES: dict[str, tuple[str, str]] = {"i1": ("circle", "red"), "i2": ("star", "blue")}


def grade(scenes: tuple[tuple[str, str], ...], wanted: tuple[str, str]) -> int:
    """2: the video shows exactly this coloured shape; 1: the shape in another colour; 0: neither."""
    return 2 if wanted in scenes else 1 if any(s == wanted[0] for s, _ in scenes) else 0


def scene_second(video_id: str, wanted: tuple[str, str]) -> float:
    """When ``wanted`` starts in a video (seconds), for checking a best frame's time."""
    scenes = dict(VIDEOS)[video_id]
    return float(scenes.index(wanted) * SCENE_SECONDS)


def _frame(shape: str, colour: str, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    from rag.data.samples.images import SIZE, draw

    return np.frombuffer(draw(shape, colour, RADIUS, shift), dtype=np.uint8).reshape(SIZE, SIZE, 3)


def webm_bytes(frames: list[np.ndarray], fps: int = FPS) -> bytes:
    """RGB frames as VP8 in WebM (one thread, bitexact: the same frames give the same bytes)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="webm", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libvpx", rate=fps, options={"threads": "1", "crf": "4", "b": "1M",
                                                             "flags": "+bitexact"})
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@lru_cache(maxsize=1)
def _files() -> tuple[tuple[str, bytes], ...]:
    from rag.data.samples.images import png_bytes

    files = [(f"corpus/{v}.webm", webm_bytes([_frame(*scene) for scene in scenes for _ in range(FPS * SCENE_SECONDS)]))
             for v, scenes in VIDEOS]
    queries: list[dict] = [{"_id": q, "text": text} for q, text, _ in TEXT_QUERIES]
    qrels = ["query-id\tcorpus-id\tscore"]
    wanted = [(q, w) for q, _, w in TEXT_QUERIES] + list(IMAGE_QUERIES.items())
    for q, w in wanted:
        qrels += [f"{q}\t{v}\t{grade(scenes, w)}" for v, scenes in VIDEOS if grade(scenes, w)]
    for q, (shape, colour) in IMAGE_QUERIES.items():
        rel = f"queries/{q}-{colour}-{shape}.png"
        files.append((rel, png_bytes(_frame(shape, colour, (2, 2)).tobytes())))
        queries.append({"_id": q, "image": rel})
    captions = [{"_id": v, "caption": ", then ".join(f"a {c} {s}" for s, c in scenes)} for v, scenes in VIDEOS]
    return folder_files(files, captions, queries, qrels, _README)


def sample_files() -> dict[str, bytes]:
    """Every file of the sample folder: relative path -> bytes (the same on every run)."""
    return dict(_files())


def video_sample_dir(data_root: Path | None = None) -> Path:
    """The sample folder in the data folder (``samples/video-sample-v1``), written if missing or damaged."""
    return sample_dir(FOLDER_NAME, sample_files(), N_("video sample"), data_root)


def load_video_sample() -> Dataset:
    """The video sample as a Dataset named "video-sample" with source "video-sample"."""
    from rag.data.video import load_video_folder

    return load_folder_sample(load_video_folder, video_sample_dir(), SAMPLE_NAME)


_README = """\
# video-sample (written by rag/data/samples/video.py; regenerated if changed)

A video dataset in the workbench's video folder format:

- corpus/: 6 WebM (VP8) videos of 6 s, 64x64 at 4 frames a second: three 2-second scenes of a coloured shape
- captions.jsonl: {"_id", "caption"} per video ("a red circle, then a yellow star, then a green triangle")
- queries.jsonl: {"_id", "text"} text queries t1..t6, {"_id", "image"} image queries i1, i2 (stills in queries/)
- qrels/test.tsv: query-id, corpus-id, score (2 = the video shows exactly that coloured shape, 1 = the shape
  in another colour)
"""
