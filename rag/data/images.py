"""Image datasets: a BEIR-like folder of image files, text and image queries, and judgments.

The folder::

    my-images/
      corpus/          red-circle.png, cat.jpg, ...   png, jpg/jpeg or webp; an image's id is its file stem
      queries.jsonl    {"_id": "t1", "text": "a red circle"}             a text query
                       {"_id": "i1", "image": "queries/i1.png"}          an image query (query by example):
                                                                         a path inside the folder, may be corpus/...
      qrels/test.tsv   query-id <TAB> corpus-id <TAB> score               header line optional, as in BEIR
      captions.jsonl   optional: {"_id": "red-circle", "caption": "a red circle"}

Each image becomes a ``Document`` with ``title`` = its file name, ``text`` = its caption ("" without one),
``image`` = its absolute path and ``image_sha`` = the sha256 of its bytes. As in ``load_beir`` only the
queries judged in ``qrels/<split>.tsv`` are kept. Every image is opened, verified and decoded at load
time, so a corrupt, truncated, oversized or unsupported file is a ``DatasetError`` naming it, before
any model sees it; nothing is half-loaded. Checked images are remembered in-process by (path, mtime,
size), so loading the same folder again is fast.

Usage:
    from rag.data.images import is_image_folder, load_image_folder, thumbnail_data_uri
    if is_image_folder("data/my-images"):
        ds = load_image_folder("data/my-images")     # ds.modality == "image"
    ds.select_queries("image")                       # only the query-by-example queries
    html_src = thumbnail_data_uri(ds.documents[0].image, size=96)   # "data:image/png;base64,..."
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import warnings
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from rag.data.dataset import Dataset, DatasetError
from rag.data.media import Bad as _Bad
from rag.data.media import Check, Medium, QueryMedium, accepted, load_media_folder, size_text
from rag.i18n import N_, _

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
PIL_FORMATS = ("PNG", "JPEG", "WEBP")  # what the file's bytes must be, as PIL names the formats
MAX_IMAGE_PIXELS = 50_000_000          # 50 MP: larger images are refused before they are decoded
IMAGE_HINT = N_("an image folder holds corpus/ (.png, .jpg, .jpeg or .webp files), queries.jsonl and "
              "qrels/<split>.tsv; captions.jsonl is optional")


def is_image_folder(path: str | os.PathLike) -> bool:
    """A folder with a ``corpus/`` directory (a text BEIR folder has a ``corpus.jsonl`` file instead)."""
    p = Path(path).expanduser()
    return p.is_dir() and (p / "corpus").is_dir()


def default_max_image_bytes() -> int:
    """The per-image limit from settings (``WORKBENCH_MAX_IMAGE_MB``, default 20), in bytes."""
    from rag.settings import get_settings

    return int(get_settings().max_image_mb) * 1024 * 1024


def load_image_folder(folder: str | os.PathLike, split: str = "test", name: str | None = None, *,
                      max_image_bytes: int | None = None) -> Dataset:
    """An image dataset from a folder (see the module docstring), or a ``DatasetError``.

    Cheap checks (files present, names, queries, judgments) run first, then every image is decoded;
    the first problem found is raised, naming its file (and line and field for queries / judgments).
    """
    medium = IMAGES
    if max_image_bytes is not None:
        def check() -> Check:
            return image_check(max_image_bytes)
        medium = replace(IMAGES, check=check, query=replace(IMAGE_QUERY, check=check))
    return load_media_folder(folder, medium, split, name)


def image_check(max_bytes: int | None = None) -> Check:
    """The per-file check of an image folder (corpus and query images), at the size limit in force."""
    limit = default_max_image_bytes() if max_bytes is None else max_bytes
    return lambda rel, path, named_by: _check_image(rel, path, named_by, limit)


IMAGE_QUERY = QueryMedium("image", IMAGE_EXTS, either=N_("a query has text or an image, not both"),
                          needs=N_("a query needs a text or an image"), not_found=N_("image not found: {rel}"),
                          check=image_check)
IMAGES = Medium("image", IMAGE_EXTS, unknown=N_("unknown image {id} (no such file in corpus/)"),
                id_hint=N_("an image's id is its file name without the extension"),
                files_hint=N_("put the image files directly in corpus/"), none_found=N_("no images in corpus/"),
                hint=IMAGE_HINT, check=image_check, query=IMAGE_QUERY)


# --- checking one image ---------------------------------------------------------------------------

def _check_image(rel: str, path: Path, named_by: str | None, max_bytes: int) -> str:
    """The sha256 of a good image's bytes; a DatasetError (file = ``rel``) for a bad one."""
    try:
        st = path.stat()
    except OSError as e:
        raise DatasetError(_("cannot read the image: {reason}").format(reason=e.strerror or e), file=rel,
                           hint=named_by) from None
    if st.st_size > max_bytes:
        raise DatasetError(_("image is {size}, over the {limit} limit").format(size=size_text(st.st_size),
                                                                              limit=size_text(max_bytes)), file=rel,
                           hint=_("raise WORKBENCH_MAX_IMAGE_MB or shrink the image")
                                + (_("; named by {where}").format(where=named_by) if named_by else ""))
    if st.st_size == 0:
        raise DatasetError(N_("empty file"), file=rel, hint=named_by)
    try:
        return _verified_sha(str(path), st.st_mtime_ns, st.st_size)
    except _Bad as e:
        hint = _("; ").join(h for h in (e.hint, _("named by {where}").format(where=named_by) if named_by else None)
                            if h) or None
        raise DatasetError(e.message, file=rel, hint=hint) from None


def _pil_detail(e: BaseException) -> str:
    return f"PIL: {type(e).__name__}: {e}" if str(e) else f"PIL: {type(e).__name__}"


def _sniff(head: bytes) -> str | None:
    """The format of an image PIL was not allowed to open, from its first bytes, for the message."""
    for magic, kind in ((b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
                        (b"\x00\x00\x01\x00", "ICO"), (b"%PDF", "PDF")):
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp":
        return {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}.get(head[8:12])
    return None


def _open(data: bytes | str) -> Image.Image:
    """PIL.Image.open limited to the accepted formats, the pixel limit checked before decoding."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data, formats=PIL_FORMATS)
        except Image.DecompressionBombError as e:
            raise _Bad(_("image is over the {limit} MP limit").format(limit=MAX_IMAGE_PIXELS // 1_000_000),
                       _pil_detail(e)) from None
        except UnidentifiedImageError:
            kind = _sniff(data[:16] if isinstance(data, bytes) else Path(data).read_bytes()[:16])
            raise _Bad(_("corrupt or not an image"),
                       _("the file holds {kind} data; {accepted}").format(kind=kind, accepted=accepted(IMAGE_EXTS))
                       if kind else accepted(IMAGE_EXTS)) from None
        except Exception as e:  # the plugins' own errors for damaged headers
            raise _Bad(_("corrupt or not an image"), _("; ").join((_pil_detail(e), accepted(IMAGE_EXTS)))) from None
    width, height = img.size
    if width * height > MAX_IMAGE_PIXELS:
        img.close()
        raise _Bad(_("image is {width}x{height} = {mp} MP, over the {limit} MP limit").format(
            width=width, height=height, mp=f"{width * height / 1e6:.1f}", limit=MAX_IMAGE_PIXELS // 1_000_000),
            _("shrink the image"))
    return img


@lru_cache(maxsize=200_000)
def _verified_sha(path: str, mtime_ns: int, size: int) -> str:
    """sha256 of an image that opens, verifies and decodes (cached by path, mtime and size)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise _Bad(_("cannot read the image: {reason}").format(reason=e.strerror or e)) from None
    with _open(data) as img:
        try:
            img.verify()
        except Exception as e:  # verify raises SyntaxError, OSError, struct.error... for damaged files
            raise _Bad(_("corrupt or not an image"), _pil_detail(e)) from None
    with _open(data) as img:  # verify() leaves the image unusable: open again to decode every pixel
        try:
            img.load()
        except Exception as e:  # a truncated file: "image file is truncated (n bytes not processed)"
            raise _Bad(_("corrupt or truncated image"), _pil_detail(e)) from None
    return hashlib.sha256(data).hexdigest()


# --- thumbnails -----------------------------------------------------------------------------------

def thumbnail_bytes(path: str | os.PathLike, size: int = 96) -> bytes:
    """A PNG no larger than ``size`` x ``size`` pixels, aspect kept (EXIF rotation applied); cached
    in-process by path, mtime and size. A missing or bad image is a ``DatasetError``."""
    if int(size) < 1:
        raise ValueError(f"thumbnail size must be at least 1, got {size}")  # i18n: internal (a caller's bug)
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise DatasetError(_("image not found"), file=p.name, hint=str(p)) from None
    try:
        return _thumbnail(str(p), st.st_mtime_ns, st.st_size, int(size))
    except _Bad as e:
        raise DatasetError(e.message, file=p.name, hint=e.hint) from None


def thumbnail_data_uri(path: str | os.PathLike, size: int = 96) -> str:
    """``thumbnail_bytes`` as a ``data:image/png;base64,...`` URI for HTML / Streamlit."""
    return "data:image/png;base64," + base64.b64encode(thumbnail_bytes(path, size)).decode("ascii")


@lru_cache(maxsize=4096)
def _thumbnail(path: str, mtime_ns: int, nbytes: int, size: int) -> bytes:
    with _open(path) as img:
        try:
            img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster for photos
            shown = ImageOps.exif_transpose(img)
            alpha = shown.mode in ("RGBA", "LA", "PA") or (shown.mode == "P" and "transparency" in shown.info)
            shown = shown.convert("RGBA" if alpha else "RGB")
            shown.thumbnail((size, size))
        except Exception as e:
            raise _Bad(_("corrupt or truncated image"), _pil_detail(e)) from None
    buf = io.BytesIO()
    shown.save(buf, "PNG")
    return buf.getvalue()
