"""Image folders (rag.data.images): a good folder loads whole; every bad input is one DatasetError
naming its file (and line and field); thumbnails. Real image files written with PIL in tmp_path."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from rag.data.dataset import DatasetError
from rag.data.images import IMAGE_EXTS, is_image_folder, load_image_folder, thumbnail_bytes, thumbnail_data_uri
from rag.data.loaders import load_dataset
from rag.settings import reset_settings

ACCEPTED = "accepted: .png, .jpg, .jpeg, .webp"


def image_bytes(fmt: str = "PNG", colour=(220, 30, 40), size=(16, 12), mode: str = "RGB", **save) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, fmt, **save)
    return buf.getvalue()


def noise_bytes(fmt: str, size=(64, 64)) -> bytes:
    """Random pixels (so compressed files are large enough to cut in half meaningfully)."""
    buf = io.BytesIO()
    Image.frombytes("RGB", size, random.Random(0).randbytes(size[0] * size[1] * 3)).save(buf, fmt)
    return buf.getvalue()


def forged_png(width: int, height: int) -> bytes:
    """A PNG header claiming ``width`` x ``height`` with one tiny IDAT: PIL reads the size, never the pixels."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


QUERIES = [{"_id": "t1", "text": "a red square"},
           {"_id": "i1", "image": "corpus/a.png"},
           {"_id": "i2", "image": "queries/q2.png"},
           {"_id": "t9", "text": "never judged"}]
QRELS = "query-id\tcorpus-id\tscore\nt1\ta\t1\ni1\ta\t2\ni1\tb\t1\ni2\tc\t1\n"


def write_folder(root: Path, *, queries: list[dict] | str | None = None, qrels: str | None = None,
                 captions: list[dict] | str | None = None) -> Path:
    """A good image folder: a.png (red), b.jpg (green), c.webp (blue), queries/q2.png, captions for a and b."""
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "a.png").write_bytes(image_bytes("PNG", (220, 30, 40)))
    (root / "corpus" / "b.jpg").write_bytes(image_bytes("JPEG", (30, 150, 60)))
    (root / "corpus" / "c.webp").write_bytes(image_bytes("WEBP", (30, 80, 220)))
    (root / "queries").mkdir()
    (root / "queries" / "q2.png").write_bytes(image_bytes("PNG", (40, 90, 210), size=(20, 20)))
    q = QUERIES if queries is None else queries
    (root / "queries.jsonl").write_text(q if isinstance(q, str) else jsonl(q))
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text(QRELS if qrels is None else qrels)
    c = [{"_id": "a", "caption": "a red square"}, {"_id": "b", "caption": "a green square"}] \
        if captions is None else captions
    (root / "captions.jsonl").write_text(c if isinstance(c, str) else jsonl(c))
    return root


def where(err: pytest.ExceptionInfo, file: str, line: int | None, field: str | None, message: str) -> str:
    """The error names exactly this file, line, field and message, in its attributes and its text."""
    e, text = err.value, str(err.value)
    assert (e.file, e.line, e.field, e.message) == (file, line, field, message), text
    assert text.startswith(", ".join([file] + ([f"line {line}"] if line else [])
                                     + ([f"field '{field}'"] if field else [])) + ": " + message), text
    return text


# --- a good folder ---------------------------------------------------------------------------------

def test_good_folder_loads_whole(tmp_path):
    root = write_folder(tmp_path / "shapes").resolve()
    ds = load_image_folder(root)
    assert ds.name == "shapes" and ds.source == str(root) and ds.modality == "image"
    assert [d.id for d in ds.documents] == ["a", "b", "c"]
    assert [d.title for d in ds.documents] == ["a.png", "b.jpg", "c.webp"]
    assert [d.text for d in ds.documents] == ["a red square", "a green square", ""]
    for d in ds.documents:
        assert d.image == str(root / "corpus" / d.title) and Path(d.image).is_absolute()
        assert d.image_sha == hashlib.sha256(Path(d.image).read_bytes()).hexdigest()
    # judged queries only, in file order; t9 has no judgments
    assert [(q.id, q.kind, q.text) for q in ds.queries] == [("t1", "text", "a red square"), ("i1", "image", ""),
                                                            ("i2", "image", "")]
    i1, i2 = ds.queries[1], ds.queries[2]
    assert i1.image == ds.doc("a").image and i1.image_sha == ds.doc("a").image_sha
    assert i2.image == str(root / "queries" / "q2.png")
    assert i2.image_sha == hashlib.sha256((root / "queries" / "q2.png").read_bytes()).hexdigest()
    assert ds.qrels == {"t1": {"a": 1}, "i1": {"a": 2, "b": 1}, "i2": {"c": 1}}
    assert ds.query_kinds() == {"text": 1, "image": 2}
    images = ds.select_queries("image")
    assert [q.id for q in images.queries] == ["i1", "i2"] and images.qrels == {"i1": {"a": 2, "b": 1},
                                                                                "i2": {"c": 1}}
    assert [q.id for q in ds.select_queries("text").queries] == ["t1"]


def test_optional_parts_and_naming(tmp_path):
    root = write_folder(tmp_path / "f", qrels="t1\ta\t1\n")  # no header line, like some BEIR files
    (root / "captions.jsonl").unlink()
    (root / "corpus" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # hidden files are skipped
    (root / "corpus" / "d.JPEG").write_bytes(image_bytes("JPEG"))         # extensions in any case
    (root / "qrels" / "dev.tsv").write_text("i2\tc\t1\n")
    ds = load_image_folder(str(root), name="mine")
    assert ds.name == "mine" and [d.id for d in ds.documents] == ["a", "b", "c", "d"]
    assert all(d.text == "" for d in ds.documents) and ds.qrels == {"t1": {"a": 1}}
    dev = load_image_folder(root, split="dev")
    assert [q.id for q in dev.queries] == ["i2"] and dev.query_kinds() == {"image": 1}
    assert IMAGE_EXTS == (".png", ".jpg", ".jpeg", ".webp")


def test_is_image_folder_and_load_dataset(tmp_path):
    root = write_folder(tmp_path / "imgs")
    assert is_image_folder(root) and is_image_folder(str(root))
    assert not is_image_folder(tmp_path / "nope") and not is_image_folder(root / "queries.jsonl")
    (tmp_path / "beir").mkdir()
    (tmp_path / "beir" / "corpus.jsonl").write_text('{"_id": "d", "text": "x"}\n')
    assert not is_image_folder(tmp_path / "beir")
    ds = load_dataset(str(root))
    assert ds.name == "imgs" and ds.modality == "image" and ds.query_kinds() == {"text": 1, "image": 2}
    with pytest.raises(DatasetError) as err:
        load_dataset(str(tmp_path / "missing"))
    assert "image-sample" in str(err.value) and "corpus/" in str(err.value)


def test_checked_images_are_remembered_until_they_change(tmp_path):
    root = write_folder(tmp_path / "f")
    first = load_image_folder(root)
    assert load_image_folder(root).documents == first.documents
    bad = root / "corpus" / "b.jpg"
    bad.write_bytes(b"now garbage, not a JPEG at all")
    os.utime(bad, ns=(1, 1))  # a new mtime and size: checked again
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "corpus/b.jpg", None, None, "corrupt or not an image")
    bad.write_bytes(image_bytes("JPEG", (1, 2, 3)))
    assert load_image_folder(root).doc("b").image_sha == hashlib.sha256(bad.read_bytes()).hexdigest()


# --- bad corpus images ----------------------------------------------------------------------------

def test_unsupported_formats_name_the_accepted_ones(tmp_path):
    root = write_folder(tmp_path / "gif")
    (root / "corpus" / "x.gif").write_bytes(image_bytes("GIF"))
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    assert where(err, "corpus/x.gif", None, None, "unsupported format '.gif'").endswith(f"({ACCEPTED})")

    root = write_folder(tmp_path / "txt")
    (root / "corpus" / "notes.txt").write_text("a note")
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "corpus/notes.txt", None, None, "unsupported format '.txt'")

    root = write_folder(tmp_path / "noext")
    (root / "corpus" / "README").write_text("about")
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "corpus/README", None, None, "unsupported format '(no extension)'")


@pytest.mark.parametrize("name, data, message, hint", [
    ("fake.png", b"hello, this is not an image", "corrupt or not an image", ACCEPTED),
    ("gif.png", image_bytes("GIF"), "corrupt or not an image", f"the file holds GIF data; {ACCEPTED}"),
    ("bmp.jpg", image_bytes("BMP"), "corrupt or not an image", f"the file holds BMP data; {ACCEPTED}"),
    ("half.png", noise_bytes("PNG")[:6000], "corrupt or not an image", "PIL: OSError: Truncated File Read"),
    ("half.jpg", noise_bytes("JPEG")[:1500], "corrupt or truncated image", "PIL: OSError: image file is truncated"),
    ("half.webp", noise_bytes("WEBP")[:1500], "corrupt or not an image", "PIL: OSError"),
    ("empty.png", b"", "empty file", None),
])
def test_corrupt_images(tmp_path, name, data, message, hint):
    root = write_folder(tmp_path / "f")
    (root / "corpus" / name).write_bytes(data)
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, f"corpus/{name}", None, None, message)
    assert (err.value.hint or "").startswith(hint or ""), err.value.hint
    assert (hint is None) == (err.value.hint is None)


def test_image_byte_limit_from_settings_and_argument(tmp_path, monkeypatch):
    root = write_folder(tmp_path / "f")
    big = root / "corpus" / "big.png"
    big.write_bytes(b"\x89PNG" + b"\x00" * (1024 * 1024 + 100))  # refused on its size, before it is read
    monkeypatch.setenv("WORKBENCH_MAX_IMAGE_MB", "1")
    reset_settings()
    try:
        with pytest.raises(DatasetError) as err:
            load_image_folder(root)
        text = where(err, "corpus/big.png", None, None, "image is 1.0 MB, over the 1.0 MB limit")
        assert "WORKBENCH_MAX_IMAGE_MB" in text
    finally:
        monkeypatch.delenv("WORKBENCH_MAX_IMAGE_MB")
        reset_settings()
    big.unlink()
    size = (root / "corpus" / "a.png").stat().st_size
    with pytest.raises(DatasetError) as err:
        load_image_folder(root, max_image_bytes=size - 1)
    where(err, "corpus/a.png", None, None, f"image is {size:,} bytes, over the {size - 1:,} bytes limit")
    largest = max(p.stat().st_size for p in root.rglob("*.*") if p.parent.name in ("corpus", "queries"))
    assert len(load_image_folder(root, max_image_bytes=largest).documents) == 3


def test_max_image_mb_setting_default(monkeypatch):
    from rag.settings import Settings

    monkeypatch.delenv("WORKBENCH_MAX_IMAGE_MB", raising=False)
    assert Settings().max_image_mb == 20
    monkeypatch.setenv("WORKBENCH_MAX_IMAGE_MB", "3")
    assert Settings().max_image_mb == 3


def test_pixel_limit_and_decompression_bombs(tmp_path):
    root = write_folder(tmp_path / "big")
    (root / "corpus" / "wide.png").write_bytes(forged_png(8000, 7000))  # 56 MP: over our 50 MP
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "corpus/wide.png", None, None, "image is 8000x7000 = 56.0 MP, over the 50 MP limit")

    root = write_folder(tmp_path / "bomb")
    (root / "corpus" / "bomb.png").write_bytes(forged_png(20000, 20000))  # PIL itself refuses 400 MP
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "corpus/bomb.png", None, None, "image is over the 50 MP limit")
    assert "DecompressionBombError" in err.value.hint


def test_duplicate_ids_subfolders_and_empty_corpus(tmp_path):
    root = write_folder(tmp_path / "dup")
    (root / "corpus" / "a.jpg").write_bytes(image_bytes("JPEG"))
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "corpus/a.png", None, None, "duplicate id 'a': corpus/a.jpg has the same name")

    root = write_folder(tmp_path / "sub")
    (root / "corpus" / "more").mkdir()
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "corpus/more/", None, None, "a folder inside corpus/ (subfolders are not read)")

    root = write_folder(tmp_path / "empty")
    for p in (root / "corpus").iterdir():
        p.unlink()
    (root / "corpus" / ".DS_Store").write_bytes(b"x")
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    assert where(err, "corpus/", None, None, "no images in corpus/").endswith(f"({ACCEPTED})")


def test_missing_files_say_what_the_folder_holds(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_image_folder(tmp_path / "nowhere")
    assert "folder not found" in str(err.value) and "corpus/" in err.value.hint

    for rel, file, message in (("corpus", "corpus/", "missing corpus/"),
                               ("queries.jsonl", "queries.jsonl", "missing queries.jsonl")):
        root = write_folder(tmp_path / rel.replace(".", "_"))
        target = root / rel
        if target.is_dir():
            for p in target.iterdir():
                p.unlink()
            target.rmdir()
        else:
            target.unlink()
        with pytest.raises(DatasetError) as err:
            load_image_folder(root)
        where(err, file, None, None, message)
        assert "an image folder holds corpus/ (.png, .jpg, .jpeg or .webp files), queries.jsonl and " \
               "qrels/<split>.tsv" in err.value.hint

    root = write_folder(tmp_path / "split")
    (root / "qrels" / "test.tsv").rename(root / "qrels" / "train.tsv")
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "qrels/test.tsv", None, None, "no judgments for split 'test'")
    assert err.value.hint.startswith("splits found: train; an image folder holds")


# --- queries, judgments, captions -----------------------------------------------------------------

def outside_png(tmp_path: Path) -> Path:
    p = tmp_path / "outside.png"
    p.write_bytes(image_bytes())
    return p


@pytest.mark.parametrize("record, field, message", [
    ({"text": "no id"}, "_id", "missing id"),
    ({"_id": "x", "text": "red", "image": "corpus/a.png"}, "image", "a query has text or an image, not both"),
    ({"_id": "x"}, "text", "a query needs a text or an image"),
    ({"_id": "x", "text": "  ", "image": ""}, "text", "a query needs a text or an image"),
    ({"_id": "x", "image": 3}, "image", "image path must be a string, got int"),
    ({"_id": "x", "image": "queries/nope.png"}, "image", "image not found: queries/nope.png"),
    ({"_id": "x", "image": "../outside.png"}, "image", "image path '../outside.png' leaves the dataset folder ('..')"),
    ({"_id": "x", "image": "queries/../../outside.png"}, "image",
     "image path 'queries/../../outside.png' leaves the dataset folder ('..')"),
    ({"_id": "x", "image": "/etc/passwd.png"}, "image", "absolute image path '/etc/passwd.png'"),
    ({"_id": "x", "image": "C:\\pics\\a.png"}, "image", "absolute image path 'C:\\pics\\a.png'"),
    ({"_id": "x", "image": "queries/q2.gif"}, "image", "unsupported format '.gif' (queries/q2.gif)"),
    ({"_id": "t1", "text": "again"}, "_id", "duplicate id 't1' (lines 1 and 2)"),
])
def test_query_errors_name_line_and_field(tmp_path, record, field, message):
    outside_png(tmp_path)
    root = write_folder(tmp_path / "f", queries=[QUERIES[0], record] + QUERIES[1:])
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "queries.jsonl", 2, field, message)


def test_query_image_through_a_link_out_of_the_folder(tmp_path):
    outside = outside_png(tmp_path)
    root = write_folder(tmp_path / "f", queries=[*QUERIES, {"_id": "x", "image": "queries/link.png"}])
    (root / "queries" / "link.png").symlink_to(outside)
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "queries.jsonl", 5, "image", "image path 'queries/link.png' leaves the dataset folder (through a link)")


def test_bad_query_image_names_its_file_and_the_line(tmp_path):
    root = write_folder(tmp_path / "f")
    (root / "queries" / "q2.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "queries/q2.png", None, None, "corrupt or not an image")
    assert err.value.hint == f"{ACCEPTED}; named by queries.jsonl line 3"


def test_queries_file_errors(tmp_path):
    root = write_folder(tmp_path / "f", queries=jsonl(QUERIES[:1]) + "{not json\n")
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    assert (err.value.file, err.value.line) == ("queries.jsonl", 2) and "invalid JSON" in err.value.message


@pytest.mark.parametrize("qrels, line, field, message", [
    ("query-id\tcorpus-id\tscore\nt1\ta\t1\nt1\tzz\t1\n", 3, "corpus-id",
     "unknown image 'zz' (no such file in corpus/)"),
    ("t1\ta\t1\nq404\ta\t1\n", 2, "query-id", "unknown query 'q404' (not in queries.jsonl)"),
    ("t1\ta\thigh\n", 1, "score", "relevance must be an integer, got 'high'"),
    ("t1\ta\n", 1, None, "expected 3 tab-separated columns (query-id, corpus-id, score), got 2"),
])
def test_qrels_errors(tmp_path, qrels, line, field, message):
    root = write_folder(tmp_path / "f", qrels=qrels)
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "qrels/test.tsv", line, field, message)


def test_qrels_may_judge_an_image_named_by_a_query_but_not_a_query_image_outside_corpus(tmp_path):
    root = write_folder(tmp_path / "f", qrels="i2\tq2\t1\n")  # q2 is a query image, not in corpus/
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "qrels/test.tsv", 1, "corpus-id", "unknown image 'q2' (no such file in corpus/)")


@pytest.mark.parametrize("captions, line, field, message", [
    ([{"_id": "zz", "caption": "ghost"}], 1, "_id", "unknown image 'zz' (no such file in corpus/)"),
    ([{"_id": "a", "caption": "one"}, {"_id": "a", "caption": "two"}], 2, "_id", "duplicate id 'a' (lines 1 and 2)"),
    ([{"_id": "a"}], 1, "caption", "missing field"),
    ([{"caption": "no id"}], 1, "_id", "missing id"),
])
def test_caption_errors(tmp_path, captions, line, field, message):
    root = write_folder(tmp_path / "f", captions=captions)
    with pytest.raises(DatasetError) as err:
        load_image_folder(root)
    where(err, "captions.jsonl", line, field, message)


# --- thumbnails -----------------------------------------------------------------------------------

def test_thumbnails_keep_aspect_and_are_cached(tmp_path):
    wide = tmp_path / "wide.png"
    wide.write_bytes(image_bytes("PNG", (10, 200, 30), size=(40, 20)))
    data = thumbnail_bytes(wide, 16)
    with Image.open(io.BytesIO(data)) as im:
        assert (im.format, im.size, im.mode) == ("PNG", (16, 8), "RGB")
        assert im.getpixel((8, 4)) == (10, 200, 30)
    assert thumbnail_bytes(wide, 16) is data  # cached
    uri = thumbnail_data_uri(wide, 16)
    assert uri.startswith("data:image/png;base64,")
    import base64
    assert base64.b64decode(uri.split(",", 1)[1]) == data
    with Image.open(io.BytesIO(thumbnail_bytes(wide))) as im:  # never enlarged past the original
        assert im.size == (40, 20)
    wide.write_bytes(image_bytes("PNG", (10, 200, 30), size=(20, 40)))
    os.utime(wide, ns=(5, 5))
    with Image.open(io.BytesIO(thumbnail_bytes(wide, 16))) as im:  # a changed file: a new thumbnail
        assert im.size == (8, 16)


def test_thumbnail_of_transparent_and_rotated_images(tmp_path):
    clear = tmp_path / "clear.png"
    clear.write_bytes(image_bytes("PNG", (0, 0, 0, 0), size=(30, 30), mode="RGBA"))
    with Image.open(io.BytesIO(thumbnail_bytes(clear, 10))) as im:
        assert im.mode == "RGBA" and im.getpixel((5, 5)) == (0, 0, 0, 0)
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    rotated.write_bytes(image_bytes("JPEG", (200, 200, 200), size=(40, 20), exif=exif.tobytes()))
    with Image.open(io.BytesIO(thumbnail_bytes(rotated, 16))) as im:
        assert im.size == (8, 16)


def test_thumbnail_errors(tmp_path):
    with pytest.raises(DatasetError) as err:
        thumbnail_bytes(tmp_path / "gone.png")
    where(err, "gone.png", None, None, "image not found")
    junk = tmp_path / "junk.webp"
    junk.write_bytes(b"RIFF....WEBPjunk")
    with pytest.raises(DatasetError) as err:
        thumbnail_data_uri(junk)
    where(err, "junk.webp", None, None, "corrupt or not an image")
    with pytest.raises(ValueError, match="at least 1"):
        thumbnail_bytes(junk, 0)
