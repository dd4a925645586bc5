"""The built-in image sample (rag.data.samples.images): its shape, its judgments, identical bytes on
every run and machine, and a folder written atomically."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from rag.data.dataset import DatasetError
from rag.data.images import load_image_folder
from rag.data.loaders import load_dataset
from rag.data.samples import images as sample
from rag.data.samples.images import (
    FOLDER_NAME,
    IMAGE_QUERY_SOURCES,
    draw,
    image_sample_dir,
    load_image_sample,
    png_bytes,
    sample_files,
)

# The digest of every file of image-sample-v1 (path and sha256 of its bytes). Pinned: the same bytes
# on every machine, whatever Pillow or zlib it has. If the drawings change on purpose, bump FOLDER_NAME.
# (Re-pinned when the package moved: the folder's README.md names the module that writes it,
# rag/data/samples/images.py; every image's bytes, RED_CIRCLE_SHA among them, are unchanged.)
GOLDEN = "d1ed07cb1f9083fad7d165bdc03e81cce0ced10ab57e3979d57319e633b6c704"
RED_CIRCLE_SHA = "0f912072e7ad51ebcb6aa9a16ad237a16a2e8890d05569ab8f024157fce0e455"


def digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel, data in sorted(files.items()):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


@pytest.fixture(scope="module")
def ds():
    return load_image_sample()


def test_sample_shape(ds):
    assert (ds.name, ds.source, ds.modality) == ("image-sample", "image-sample", "image")
    assert len(ds.documents) == 30 and ds.query_kinds() == {"text": 10, "image": 5}
    assert [q.id for q in ds.queries] == [f"t{n}" for n in range(1, 11)] + [f"i{n}" for n in range(1, 6)]
    assert ds.doc("red-circle").text == "a red circle" and ds.doc("digit-3").text == "the digit 3 in blue"
    assert ds.doc("red-circle").title == "red-circle.png"
    for d in ds.documents:
        assert d.text and Path(d.image).is_file()
        assert d.image_sha == hashlib.sha256(Path(d.image).read_bytes()).hexdigest()
        with Image.open(d.image) as im:
            assert (im.format, im.mode, im.size) == ("PNG", "RGB", (64, 64))
    assert ds.doc("red-circle").image_sha == RED_CIRCLE_SHA
    assert [q.id for q in ds.select_queries("image").queries] == ["i1", "i2", "i3", "i4", "i5"]


def test_text_query_judgments(ds):
    assert {q.id: q.text for q in ds.queries if q.kind == "text"}["t2"] == "something blue"
    assert ds.relevant("t1") == {"red-circle": 1, "red-circle-small": 1}
    assert ds.relevant("t3") == {"digit-3": 1}
    assert set(ds.relevant("t2")) == {"blue-circle", "blue-square", "blue-triangle", "blue-star", "blue-cross",
                                      "blue-square-small", "digit-3"}
    assert set(ds.relevant("t6")) == {"purple-circle", "purple-star", "digit-7"}
    assert set(ds.relevant("t7")) == {"red-cross", "green-cross", "blue-cross", "yellow-cross"}
    assert len(ds.relevant("t10")) == 6
    for q in ds.queries:  # every judged image's caption says what the text query asks for
        if q.kind == "text" and q.text.startswith("a ") and q.text not in ("a cross", "a star"):
            assert all(q.text.split(" ", 1)[1] in ds.doc(d).text for d in ds.relevant(q.id)), q.id


def test_image_queries_judge_their_own_image_best(ds):
    assert IMAGE_QUERY_SOURCES == {"i1": "red-circle", "i2": "green-star", "i3": "blue-square",
                                   "i4": "yellow-triangle", "i5": "purple-star"}
    assert ds.qrels["i1"] == {"red-circle": 2, "red-circle-small": 1}
    assert ds.qrels["i3"] == {"blue-square": 2, "blue-square-small": 1}
    assert ds.qrels["i4"] == {"yellow-triangle": 2}
    for q in ds.select_queries("image").queries:
        own = IMAGE_QUERY_SOURCES[q.id]
        assert ds.qrels[q.id][own] == 2 and max(ds.qrels[q.id].values()) == 2
        assert q.image_sha == hashlib.sha256(Path(q.image).read_bytes()).hexdigest()
    by_id = {q.id: q for q in ds.queries}
    for q in ("i1", "i2"):  # corpus images themselves
        assert by_id[q].image == ds.doc(IMAGE_QUERY_SOURCES[q]).image
        assert by_id[q].image_sha == ds.doc(IMAGE_QUERY_SOURCES[q]).image_sha
    for q in ("i3", "i4", "i5"):  # shifted drawings, not in the corpus
        assert Path(by_id[q].image).parent.name == "queries"
        assert by_id[q].image_sha not in {d.image_sha for d in ds.documents}


def test_nearest_image_by_pixels_is_the_query_own_image(ds):
    """What a working encoder must reproduce: each image query's closest corpus image is its own."""
    def pixels(path: str) -> bytes:
        with Image.open(path) as im:
            return im.tobytes()

    corpus = {d.id: pixels(d.image) for d in ds.documents}
    for q in ds.select_queries("image").queries:
        mine = pixels(q.image)
        ranked = sorted(corpus, key=lambda i: sum((a - b) ** 2 for a, b in zip(mine, corpus[i], strict=True)))
        assert ranked[0] == IMAGE_QUERY_SOURCES[q.id], (q.id, ranked[:3])


def test_drawings_and_png_writer(ds):
    with Image.open(ds.doc("red-circle").image) as im:  # PIL decodes the hand-written PNG to the drawn pixels
        assert im.tobytes() == draw("circle", "red", 22)
        assert im.getpixel((32, 32)) == (220, 30, 40) and im.getpixel((0, 0)) == (255, 255, 255)
    with Image.open(ds.doc("digit-8").image) as im:
        assert im.getpixel((32, 32)) == (220, 30, 40)  # the middle bar is lit in 8 ...
    with Image.open(ds.doc("digit-0").image) as im:
        assert im.getpixel((32, 32)) == (255, 255, 255)  # ... and not in 0
    pixels = bytes(range(256)) * 300  # 16 x 1600 RGB: over 65535 bytes, so several stored blocks
    with Image.open(io.BytesIO(png_bytes(pixels, 16, 1600))) as im:
        assert im.size == (16, 1600) and im.tobytes() == pixels


def test_bytes_are_identical_across_generations():
    first = sample_files()
    sample._files.cache_clear()
    second = sample_files()
    assert first == second and first is not second
    assert digest(second) == GOLDEN
    assert hashlib.sha256(second["corpus/red-circle.png"]).hexdigest() == RED_CIRCLE_SHA
    assert sorted(second) == sorted(set(second)) and len([r for r in second if r.startswith("corpus/")]) == 30


def test_folder_on_disk_is_the_generated_files(tmp_path):
    folder = image_sample_dir(tmp_path)
    assert folder == tmp_path / "samples" / FOLDER_NAME
    on_disk = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == sample_files() and digest(on_disk) == GOLDEN
    assert [p.name for p in folder.parent.iterdir()] == [FOLDER_NAME]  # no temporary folder left behind
    assert oct(folder.stat().st_mode & 0o777) == "0o755"
    ds = load_image_folder(folder, name="image-sample")  # the sample is a plain image folder
    assert len(ds.documents) == 30 and ds.query_kinds() == {"text": 10, "image": 5}


def test_leftover_temp_folders_do_not_break_the_next_load(tmp_path):
    parent = tmp_path / "samples"
    parent.mkdir()
    fresh = parent / f".{FOLDER_NAME}.tmp-killed1"  # a process killed mid-write (maybe still running)
    old = parent / f".{FOLDER_NAME}.tmp-killed0"    # killed long ago
    for p in (fresh, old):
        (p / "corpus").mkdir(parents=True)
        (p / "corpus" / "red-circle.png").write_bytes(b"half written")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    folder = image_sample_dir(tmp_path)
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == set(sample_files())
    assert fresh.is_dir() and not old.exists()  # a young one may belong to a live writer: left alone
    assert load_image_folder(folder).doc("red-circle").image_sha == RED_CIRCLE_SHA


def test_damaged_folder_is_rewritten(tmp_path):
    folder = image_sample_dir(tmp_path)
    (folder / "corpus" / "red-circle.png").write_bytes(b"damaged")
    (folder / "corpus" / "blue-star.png").unlink()
    (folder / "corpus" / "extra.png").write_bytes(png_bytes(draw("circle", "blue", 5)))
    assert image_sample_dir(tmp_path) == folder
    on_disk = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == sample_files()
    assert [p.name for p in folder.parent.iterdir()] == [FOLDER_NAME]


def test_a_failed_write_leaves_no_folder(tmp_path, monkeypatch):
    real = Path.write_bytes
    written: list[str] = []

    def fail_after_five(self, data):
        if len(written) == 5:
            raise OSError(28, "No space left on device")
        written.append(self.name)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", fail_after_five)
    with pytest.raises(DatasetError) as err:
        image_sample_dir(tmp_path)
    assert err.value.message == "cannot write the image sample: No space left on device"
    assert err.value.file == str(tmp_path / "samples" / FOLDER_NAME)
    assert list((tmp_path / "samples").iterdir()) == []  # neither the folder nor half of it
    monkeypatch.setattr(Path, "write_bytes", real)
    assert image_sample_dir(tmp_path).is_dir()


def test_load_dataset_image_sample(data_dir):
    ds = load_dataset("image-sample")
    assert ds.name == "image-sample" and ds.modality == "image" and len(ds.documents) == 30
    assert Path(ds.documents[0].image).is_relative_to(data_dir / "samples" / FOLDER_NAME)
    assert load_dataset(" Image-Sample ").content_hash() == ds.content_hash()
