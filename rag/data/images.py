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
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from rag.data.dataset import Dataset, DatasetError, Document, Query
from rag.data.validation import IdRegistry, decode_text, get_id, get_text, iter_jsonl, read_source
from rag.i18n import N_, _, carry_language

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
PIL_FORMATS = ("PNG", "JPEG", "WEBP")  # what the file's bytes must be, as PIL names the formats
MAX_IMAGE_PIXELS = 50_000_000          # 50 MP: larger images are refused before they are decoded
IMAGE_HINT = ("an image folder holds corpus/ (.png, .jpg, .jpeg or .webp files), queries.jsonl and "
              "qrels/<split>.tsv; captions.jsonl is optional")
ACCEPTED = N_("accepted: .png, .jpg, .jpeg, .webp")  # IMAGE_EXTS, said (a catalog key: one literal)
QUERIES, CAPTIONS = "queries.jsonl", "captions.jsonl"


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
    from rag.data.beir import parse_qrels  # the BEIR qrels rules (header, 3 or 4 columns, grades)

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DatasetError("folder not found" if not root.exists() else "not a folder", file=str(folder),
                           hint=IMAGE_HINT)
    root = root.resolve()
    limit = default_max_image_bytes() if max_image_bytes is None else max_image_bytes
    for rel, ok in (("corpus/", (root / "corpus").is_dir()), (QUERIES, (root / QUERIES).is_file())):
        if not ok:
            raise DatasetError(f"missing {rel}", file=rel, hint=f"in {root}: {IMAGE_HINT}")
    qrels_name = f"qrels/{split}.tsv"
    if not (root / qrels_name).is_file():
        found = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise DatasetError(f"no judgments for split {split!r}", file=qrels_name,
                           hint=f"splits found: {', '.join(found) or 'none'}; {IMAGE_HINT}")

    images = _scan_corpus(root)  # id -> file name in corpus/
    qrels, qrel_lines = parse_qrels(qrels_name, _read_text(root, qrels_name))
    queries, all_query_ids = _read_queries(root, set(qrels))  # judged: (query, image rel path or "", line)
    query_lines = {q.id: line for q, _, line in queries}
    for query_id, judged in qrels.items():
        if query_id not in all_query_ids:
            raise DatasetError(f"unknown query {query_id!r} (not in {QUERIES})", file=qrels_name,
                               line=qrel_lines[query_id, None], field="query-id")
        for doc_id in judged:
            if doc_id not in images:
                raise DatasetError(f"unknown image {doc_id!r} (no such file in corpus/)", file=qrels_name,
                                   line=qrel_lines[query_id, doc_id], field="corpus-id")
    captions = _read_captions(root, images) if (root / CAPTIONS).exists() else {}

    # The expensive part last: read, hash, verify and decode every image (decoders release the GIL).
    checks = [(f"corpus/{fname}", root / "corpus" / fname, None) for fname in images.values()]
    checks += [(rel, root / rel, f"{QUERIES} line {query_lines[q.id]}") for q, rel, _ in queries if rel]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        # carry_language: a bad image's message reads in the caller's language (a page's session), not the pool's
        shas = dict(zip((c[0] for c in checks), pool.map(carry_language(lambda c: _check_image(*c, limit)), checks)))

    documents = [Document(doc_id, fname, captions.get(doc_id, ""), str(root / "corpus" / fname),
                          shas[f"corpus/{fname}"]) for doc_id, fname in images.items()]
    out_queries = [Query(q.id, q.text, q.reference, str(root / rel), shas[rel]) if rel else q
                   for q, rel, _ in queries]
    return Dataset(name=name or root.name, documents=documents, queries=out_queries, qrels=qrels,
                   source=str(root))


def _read_text(root: Path, rel: str) -> str:
    return decode_text(*read_source(root / rel, name=rel))


def _scan_corpus(root: Path) -> dict[str, str]:
    """Image id -> file name, in file-name order; hidden files (``.DS_Store``) are skipped."""
    images: dict[str, str] = {}
    for entry in sorted((root / "corpus").iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        rel = f"corpus/{entry.name}"
        if entry.is_dir():
            raise DatasetError("a folder inside corpus/ (subfolders are not read)", file=rel + "/",
                               hint="put the image files directly in corpus/")
        ext = entry.suffix.lower()
        if ext not in IMAGE_EXTS:
            raise DatasetError(f"unsupported format {ext or '(no extension)'!r}", file=rel, hint=ACCEPTED)
        if entry.stem in images:
            raise DatasetError(f"duplicate id {entry.stem!r}: corpus/{images[entry.stem]} has the same name",
                               file=rel, hint="an image's id is its file name without the extension")
        images[entry.stem] = entry.name
    if not images:
        raise DatasetError("no images in corpus/", file="corpus/", hint=ACCEPTED)
    return images


def _read_queries(root: Path, judged: set[str]) -> tuple[list[tuple[Query, str, int]], set[str]]:
    """Every line checked; the judged queries (with their image's relative path, "" for text, and
    their line) and the ids of all queries."""
    ids = IdRegistry(QUERIES, "_id")
    out: list[tuple[Query, str, int]] = []
    for line, record in iter_jsonl(QUERIES, _read_text(root, QUERIES)):
        query_id = get_id(QUERIES, line, record, "_id")
        ids.add(query_id, line)
        text = get_text(QUERIES, line, record, "text", required=False)
        value = record.get("image")
        has_image = value is not None and not (isinstance(value, str) and not value.strip())
        if text and has_image:
            raise DatasetError("a query has text or an image, not both", file=QUERIES, line=line, field="image")
        if not text and not has_image:
            raise DatasetError("a query needs a text or an image", file=QUERIES, line=line, field="text")
        rel = _query_image(root, line, value) if has_image else ""
        if query_id in judged:
            out.append((Query(query_id, text), rel, line))
    return out, set(ids.lines)


def _query_image(root: Path, line: int, value: Any) -> str:
    """The image path of a query, relative to the folder (posix), checked to stay inside it and exist."""
    def fail(message: str, hint: str | None = None) -> DatasetError:
        return DatasetError(message, file=QUERIES, line=line, field="image", hint=hint)

    if not isinstance(value, str):
        raise fail(f"image path must be a string, got {type(value).__name__}")
    text = value.strip().replace("\\", "/")
    if text.startswith("/") or PureWindowsPath(text).drive or Path(text).is_absolute():
        raise fail(f"absolute image path '{value.strip()}'", "give a path relative to the dataset folder")
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise fail(f"image path '{value.strip()}' leaves the dataset folder ('..')",
                   "give a path inside the dataset folder")
    rel = PurePosixPath(*[p for p in parts if p != "."]).as_posix()
    path = root / rel
    if path.suffix.lower() not in IMAGE_EXTS:
        raise fail(f"unsupported format {path.suffix.lower() or '(no extension)'!r} ({rel})", ACCEPTED)
    if not path.is_file():
        raise fail(f"image not found: {rel}", f"paths are relative to {root}")
    if not path.resolve().is_relative_to(root):
        raise fail(f"image path '{rel}' leaves the dataset folder (through a link)")
    return rel


def _read_captions(root: Path, images: dict[str, str]) -> dict[str, str]:
    ids = IdRegistry(CAPTIONS, "_id")
    captions: dict[str, str] = {}
    for line, record in iter_jsonl(CAPTIONS, _read_text(root, CAPTIONS)):
        image_id = get_id(CAPTIONS, line, record, "_id")
        ids.add(image_id, line)
        if image_id not in images:
            raise DatasetError(f"unknown image {image_id!r} (no such file in corpus/)", file=CAPTIONS, line=line,
                               field="_id")
        captions[image_id] = get_text(CAPTIONS, line, record, "caption")
    return captions


# --- checking one image ---------------------------------------------------------------------------

class _Bad(Exception):
    """An image problem found by the cached check; turned into a DatasetError naming the file."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else _("{n} bytes").format(n=f"{n:,}")


def _check_image(rel: str, path: Path, named_by: str | None, max_bytes: int) -> str:
    """The sha256 of a good image's bytes; a DatasetError (file = ``rel``) for a bad one."""
    try:
        st = path.stat()
    except OSError as e:
        raise DatasetError(_("cannot read the image: {reason}").format(reason=e.strerror or e), file=rel,
                           hint=named_by) from None
    if st.st_size > max_bytes:
        raise DatasetError(_("image is {size}, over the {limit} limit").format(size=_size(st.st_size),
                                                                             limit=_size(max_bytes)), file=rel,
                           hint=_("raise WORKBENCH_MAX_IMAGE_MB or shrink the image")
                                + (_("; named by {where}").format(where=named_by) if named_by else ""))
    if st.st_size == 0:
        raise DatasetError(N_("empty file"), file=rel, hint=named_by)
    try:
        return _verified_sha(str(path), st.st_mtime_ns, st.st_size)
    except _Bad as e:
        hint = _("; ").join(h for h in (e.hint and _(e.hint), _("named by {where}").format(where=named_by)
                                        if named_by else None) if h) or None
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
            raise _Bad(f"image is over the {MAX_IMAGE_PIXELS // 1_000_000} MP limit", _pil_detail(e)) from None
        except UnidentifiedImageError:
            kind = _sniff(data[:16] if isinstance(data, bytes) else Path(data).read_bytes()[:16])
            raise _Bad(N_("corrupt or not an image"),
                       (_("the file holds {kind} data; ").format(kind=kind) if kind else "") + _(ACCEPTED)) from None
        except Exception as e:  # the plugins' own errors for damaged headers
            raise _Bad(N_("corrupt or not an image"), f"{_pil_detail(e)}; {_(ACCEPTED)}") from None
    width, height = img.size
    if width * height > MAX_IMAGE_PIXELS:
        img.close()
        raise _Bad(f"image is {width}x{height} = {width * height / 1e6:.1f} MP, over the "
                   f"{MAX_IMAGE_PIXELS // 1_000_000} MP limit", "shrink the image")
    return img


@lru_cache(maxsize=200_000)
def _verified_sha(path: str, mtime_ns: int, size: int) -> str:
    """sha256 of an image that opens, verifies and decodes (cached by path, mtime and size)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise _Bad(f"cannot read the image: {e.strerror or e}") from None
    with _open(data) as img:
        try:
            img.verify()
        except Exception as e:  # verify raises SyntaxError, OSError, struct.error... for damaged files
            raise _Bad("corrupt or not an image", _pil_detail(e)) from None
    with _open(data) as img:  # verify() leaves the image unusable: open again to decode every pixel
        try:
            img.load()
        except Exception as e:  # a truncated file: "image file is truncated (n bytes not processed)"
            raise _Bad("corrupt or truncated image", _pil_detail(e)) from None
    return hashlib.sha256(data).hexdigest()


# --- thumbnails -----------------------------------------------------------------------------------

def thumbnail_bytes(path: str | os.PathLike, size: int = 96) -> bytes:
    """A PNG no larger than ``size`` x ``size`` pixels, aspect kept (EXIF rotation applied); cached
    in-process by path, mtime and size. A missing or bad image is a ``DatasetError``."""
    if int(size) < 1:
        raise ValueError(f"thumbnail size must be at least 1, got {size}")
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise DatasetError("image not found", file=p.name, hint=str(p)) from None
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
            raise _Bad("corrupt or truncated image", _pil_detail(e)) from None
    buf = io.BytesIO()
    shown.save(buf, "PNG")
    return buf.getvalue()
