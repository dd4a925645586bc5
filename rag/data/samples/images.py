"""The built-in image sample: 30 drawn images (coloured shapes and digits), 10 text and 5 image queries.

Generated here, deterministically, so the workbench can evaluate image retrieval offline and in
seconds, with judgments anyone can check by looking: 64x64 RGB images on white of a circle, square,
triangle, star or cross in red, green, blue, yellow or purple (three also drawn small), and the
digits 0, 3, 5, 7 and 8 drawn large as seven-segment figures. Each image has a caption ("a red
circle", "a small blue square", "the digit 3 in blue").

Text queries (``t1``..``t10``, e.g. "something blue", "the digit 3") judge every image matching them
with grade 1. Image queries (``i1``..``i5``) judge the images of the same shape, colour and kind:
grade 2 for the query's own image (``IMAGE_QUERY_SOURCES``), grade 1 for the others (a small one of
the same shape and colour). ``i1`` and ``i2`` are corpus images themselves (``corpus/red-circle.png``,
``corpus/green-star.png``); ``i3``..``i5`` are the same drawings shifted by 2-3 pixels, stored under
``queries/``. A retriever that works ranks each image query's own image first.

The pixels are computed here (exact arithmetic on pixel centres, no anti-aliasing, no fonts) and
the PNG is written here too, uncompressed (stored deflate blocks), with no metadata: so the bytes,
and the sha256s that key the embedding cache, are identical on every machine, whatever the
Pillow or zlib build. ``load_image_sample`` writes the folder once into the data folder
(``samples/image-sample-v1``, built in a temporary folder beside it and renamed into place, so a
killed process never leaves half a folder), then loads it with ``rag.data.images.load_image_folder``:
the sample is a worked example of the image folder format.

Usage:
    from rag.data.samples.images import load_image_sample
    ds = load_image_sample()            # 30 documents, 15 judged queries, ds.modality == "image"
    ds.relevant("i1")                   # {'red-circle': 2, 'red-circle-small': 1}
    ds.select_queries("text")           # the 10 text queries
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from rag.data.dataset import Dataset
from rag.data.samples.folder import folder_files, load_folder_sample, sample_dir
from rag.i18n import N_

SAMPLE_NAME = "image-sample"
FOLDER_NAME = "image-sample-v1"  # bump the version whenever the drawings, queries or judgments change
SIZE = 64

COLOURS = {"red": (220, 30, 40), "green": (30, 150, 60), "blue": (30, 80, 220), "yellow": (240, 200, 20),
           "purple": (140, 50, 170), "black": (25, 25, 25)}
WHITE = (255, 255, 255)

# A five-pointed star of radius 1 around (0, 0), inner radius 0.42, written out so no libm rounding can
# move a pixel (these are round(r * cos / sin(-90° + k·36°), 4)).
STAR = ((0.0, -1.0), (0.2469, -0.3398), (0.9511, -0.309), (0.3994, 0.1298), (0.5878, 0.809), (0.0, 0.42),
        (-0.5878, 0.809), (-0.3994, 0.1298), (-0.9511, -0.309), (-0.2469, -0.3398))
TRIANGLE = ((0.0, -1.0), (1.0, 0.8), (-1.0, 0.8))

# Seven-segment digits: which of the segments a (top), b (top right), c (bottom right), d (bottom),
# e (bottom left), f (top left), g (middle) are lit.
SEGMENTS = {"0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg", "6": "acdefg",
            "7": "abc", "8": "abcdefg", "9": "abcdfg"}

# (id, shape, colour, scale, caption): shapes of radius 22 px (small: 12) centred on the 64x64 canvas.
_SHAPES = ("circle", "square", "triangle", "star", "cross")
IMAGES: tuple[tuple[str, str, str, int, str], ...] = (
    *((f"{c}-{s}", s, c, 22, f"a {c} {s}") for c in ("red", "green", "blue", "yellow") for s in _SHAPES),
    ("purple-circle", "circle", "purple", 22, "a purple circle"),
    ("purple-star", "star", "purple", 22, "a purple star"),
    ("red-circle-small", "circle", "red", 12, "a small red circle"),
    ("blue-square-small", "square", "blue", 12, "a small blue square"),
    ("green-star-small", "star", "green", 12, "a small green star"),
    ("digit-0", "digit 0", "black", 22, "the digit 0 in black"),
    ("digit-3", "digit 3", "blue", 22, "the digit 3 in blue"),
    ("digit-5", "digit 5", "green", 22, "the digit 5 in green"),
    ("digit-7", "digit 7", "purple", 22, "the digit 7 in purple"),
    ("digit-8", "digit 8", "red", 22, "the digit 8 in red"),
)
_BY_ID = {i[0]: i for i in IMAGES}

TEXT_QUERIES: tuple[tuple[str, str], ...] = (
    ("t1", "a red circle"), ("t2", "something blue"), ("t3", "the digit 3"), ("t4", "a green triangle"),
    ("t5", "a yellow star"), ("t6", "something purple"), ("t7", "a cross"), ("t8", "a blue square"),
    ("t9", "the digit 8"), ("t10", "a star"),
)
_TEXT_MATCH: dict[str, Callable[[str, str, int], bool]] = {  # (shape, colour, scale) -> relevant?
    "t1": lambda s, c, r: (s, c) == ("circle", "red"),
    "t2": lambda s, c, r: c == "blue",
    "t3": lambda s, c, r: s == "digit 3",
    "t4": lambda s, c, r: (s, c) == ("triangle", "green"),
    "t5": lambda s, c, r: (s, c) == ("star", "yellow"),
    "t6": lambda s, c, r: c == "purple",
    "t7": lambda s, c, r: s == "cross",
    "t8": lambda s, c, r: (s, c) == ("square", "blue"),
    "t9": lambda s, c, r: s == "digit 8",
    "t10": lambda s, c, r: s == "star",
}

# Image queries: id -> (the corpus image it is, or was drawn from; shift in pixels (dx, dy), None: the
# corpus file itself).
IMAGE_QUERIES: dict[str, tuple[str, tuple[int, int] | None]] = {
    "i1": ("red-circle", None),
    "i2": ("green-star", None),
    "i3": ("blue-square", (2, 1)),      # small shifts: even in raw pixels (L2) the nearest corpus image is
    "i4": ("yellow-triangle", (-3, 2)),  # the one each was drawn from (tests/data/test_image_sample.py checks it)
    "i5": ("purple-star", (-2, 2)),
}
IMAGE_QUERY_SOURCES = {q: src for q, (src, _) in IMAGE_QUERIES.items()}  # image query -> its own image


# --- drawing --------------------------------------------------------------------------------------

def _in_polygon(x: float, y: float, points: tuple[tuple[float, float], ...]) -> bool:
    """Even-odd rule (ray casting): only + - * / on floats, so the same answer on every machine."""
    inside = False
    j = len(points) - 1
    for i in range(len(points)):
        (xi, yi), (xj, yj) = points[i], points[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _segment_rects(digit: str, r: int) -> list[tuple[float, float, float, float]]:
    """The lit segments of a seven-segment digit as rectangles (x0, y0, x1, y1) relative to the centre."""
    half_w, half_h, t = r * 0.6, float(r), r * 0.27
    left, right, top, bottom = -half_w, half_w, -half_h, half_h
    rects = {"a": (left, top, right, top + t), "d": (left, bottom - t, right, bottom),
             "g": (left, -t / 2, right, t / 2),
             "b": (right - t, top, right, 0.0), "c": (right - t, 0.0, right, bottom),
             "e": (left, 0.0, left + t, bottom), "f": (left, top, left + t, 0.0)}
    return [rects[s] for s in SEGMENTS[digit]]


def _shape_test(shape: str, r: int) -> Callable[[float, float], bool]:
    """Is the point (dx, dy) from the centre inside the shape of radius ``r``?"""
    if shape == "circle":
        return lambda dx, dy: dx * dx + dy * dy <= r * r
    if shape == "square":
        h = r * 0.85
        return lambda dx, dy: abs(dx) <= h and abs(dy) <= h
    if shape == "cross":
        t = r * 0.3
        return lambda dx, dy: (abs(dx) <= t and abs(dy) <= r) or (abs(dy) <= t and abs(dx) <= r)
    if shape in ("triangle", "star"):
        unit = TRIANGLE if shape == "triangle" else STAR
        points = tuple((px * r, py * r) for px, py in unit)
        return lambda dx, dy: _in_polygon(dx, dy, points)
    if shape.startswith("digit "):
        rects = _segment_rects(shape.split()[1], r)
        return lambda dx, dy: any(x0 <= dx <= x1 and y0 <= dy <= y1 for x0, y0, x1, y1 in rects)
    raise ValueError(f"unknown shape {shape!r}")  # i18n: internal (the built-in sample's own table)


def draw(shape: str, colour: str, r: int, shift: tuple[int, int] = (0, 0)) -> bytes:
    """RGB pixels (row by row) of one drawing on white, centred (plus ``shift``) on the canvas."""
    inside = _shape_test(shape, r)
    cx, cy = SIZE / 2 + shift[0], SIZE / 2 + shift[1]
    fg, bg = bytes(COLOURS[colour]), bytes(WHITE)
    return b"".join(fg if inside(x + 0.5 - cx, y + 0.5 - cy) else bg for y in range(SIZE) for x in range(SIZE))


def png_bytes(pixels: bytes, width: int = SIZE, height: int = SIZE) -> bytes:
    """A minimal RGB PNG (IHDR, one IDAT of stored deflate blocks, IEND): no compressor, no metadata,
    so the same pixels always give the same bytes."""
    stride = width * 3
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))  # filter 0: none
    blocks = []
    for start in range(0, len(raw), 65535):
        block = raw[start:start + 65535]
        final = 1 if start + 65535 >= len(raw) else 0
        blocks.append(bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block)
    idat = b"\x78\x01" + b"".join(blocks) + struct.pack(">I", zlib.adler32(raw))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --- the folder -----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _files() -> tuple[tuple[str, bytes], ...]:
    files: list[tuple[str, bytes]] = [(f"corpus/{i}.png", png_bytes(draw(s, c, r))) for i, s, c, r, _ in IMAGES]
    queries = [{"_id": q, "text": text} for q, text in TEXT_QUERIES]
    qrels = ["query-id\tcorpus-id\tscore"]
    for q, _text in TEXT_QUERIES:
        qrels += [f"{q}\t{i}\t1" for i, s, c, r, _ in IMAGES if _TEXT_MATCH[q](s, c, r)]
    for q, (src, shift) in IMAGE_QUERIES.items():
        _, shape, colour, r, _ = _BY_ID[src]
        if shift is None:
            rel = f"corpus/{src}.png"
        else:
            rel = f"queries/{src}-shifted.png"
            files.append((rel, png_bytes(draw(shape, colour, r, shift))))
        queries.append({"_id": q, "image": rel})
        qrels.append(f"{q}\t{src}\t2")
        qrels += [f"{q}\t{i}\t1" for i, s, c, _, _ in IMAGES if (s, c) == (shape, colour) and i != src]
    return folder_files(files, [{"_id": i, "caption": cap} for i, _, _, _, cap in IMAGES], queries, qrels, _README)


def sample_files() -> dict[str, bytes]:
    """Every file of the sample folder: relative path -> bytes (the same on every run and machine)."""
    return dict(_files())


def image_sample_dir(data_root: Path | None = None) -> Path:
    """The sample folder in the data folder (``samples/image-sample-v1``), written if missing or damaged."""
    return sample_dir(FOLDER_NAME, sample_files(), N_("image sample"), data_root)


def load_image_sample() -> Dataset:
    """The image sample as a Dataset named "image-sample" with source "image-sample"."""
    from rag.data.images import load_image_folder

    return load_folder_sample(load_image_folder, image_sample_dir(), SAMPLE_NAME)


_README = """\
# image-sample (written by rag/data/samples/images.py; regenerated if changed)

An image dataset in the workbench's image folder format:

- corpus/: 30 PNG images; an image's id is its file name without .png
- captions.jsonl: {"_id", "caption"} per image (optional in the format)
- queries.jsonl: {"_id", "text"} text queries t1..t10, {"_id", "image"} image queries i1..i5
  (i1, i2 name corpus images; i3..i5 are shifted drawings in queries/)
- qrels/test.tsv: query-id, corpus-id, score (image queries: 2 = the query's own image)
"""
