"""One loader for every BEIR-like media folder (images, audio, video): the rules once, the decoding per medium.

Why one loader: an image, audio or video folder has the same layout and the same rules (``corpus/`` of files
named by id, ``queries.jsonl`` with text or media queries, ``qrels/<split>.tsv``, optional ``captions.jsonl``
and other per-file text files), the same refusals (one ``DatasetError`` naming file, line and field; paths
that leave the folder refused; nothing half-loaded) and the same order (cheap checks first, then every file
decoded). Only what a file must be differs: a ``Medium`` names its extensions, its words in messages and a
``check(rel, path, named_by) -> sha`` that decodes one file (``rag.data.images``, ``rag.data.audio``,
``rag.data.video`` define theirs); a medium's query files may be another medium (a video folder takes image
queries).

Usage:
    from rag.data.media import load_media_folder
    ds = load_media_folder(folder, medium, split="test")   # medium: images.IMAGES, audio.AUDIO, video.VIDEO
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from rag.data.dataset import Dataset, DatasetError, Document, Query
from rag.data.validation import IdRegistry, decode_text, get_id, get_text, iter_jsonl, read_source
from rag.i18n import _, carry_language

QUERIES, CAPTIONS = "queries.jsonl", "captions.jsonl"
Check = Callable[[str, Path, "str | None"], str]  # (rel path, path, "named by ...") -> sha256 of the bytes


@dataclass(frozen=True)
class QueryMedium:
    """How a media query is written and checked: ``{"_id", FIELD: "path"}``, and its messages: whole
    sentences marked ``N_`` (each medium's own wording, for the translator), translated when raised."""

    field: str             # "image", "audio"
    exts: tuple[str, ...]
    either: str            # N_("a query has text or an image, not both")
    needs: str             # N_("a query needs a text or an image")
    not_found: str         # N_("image not found: {rel}")
    check: Callable[[], Check]  # the check with the limits in force at load time


@dataclass(frozen=True)
class Medium:
    """What a media folder's corpus files are: extensions, words in messages, the decoding check, and
    how a checked file becomes a ``Document`` (its path and sha in the medium's own fields). Messages are
    whole sentences marked ``N_`` (a translator words "image" and "sound" differently), translated when raised."""

    name: str                         # "image", "audio", "video": Dataset.modality
    exts: tuple[str, ...]
    unknown: str                      # N_("unknown image {id} (no such file in corpus/)")
    id_hint: str                      # N_("an image's id is its file name without the extension")
    files_hint: str                   # N_("put the image files directly in corpus/")
    none_found: str                   # N_("no images in corpus/")
    hint: str                         # N_(what the folder holds) (every folder-level error)
    check: Callable[[], Check]        # the corpus check with the limits in force at load time
    query: QueryMedium | None = None  # media queries this folder takes
    texts: tuple[tuple[str, str], ...] = ((CAPTIONS, "caption"),)  # optional (file, field) per corpus file

    @property
    def accepted(self) -> str:
        return accepted(self.exts)

    def document(self, doc_id: str, fname: str, caption: str, path: str, sha: str) -> Document:
        return Document(doc_id, fname, caption, **{self.name: path, f"{self.name}_sha": sha})

    def query_with(self, q: Query, path: str, sha: str) -> Query:
        field = self.query.field if self.query else self.name
        return Query(q.id, q.text, q.reference, **{field: path, f"{field}_sha": sha})


def accepted(exts: tuple[str, ...]) -> str:
    """The hint under a refused format, in the current language."""
    return _("accepted: {extensions}").format(extensions=", ".join(exts))


def is_media_folder(path: str | os.PathLike, exts: tuple[str, ...]) -> bool:
    """A folder with ``corpus/`` whose first (by name, hidden files skipped) file has one of ``exts``."""
    corpus = Path(path).expanduser() / "corpus"
    if not corpus.is_dir():
        return False
    try:
        files = sorted(p.name for p in corpus.iterdir() if not p.name.startswith(".") and p.is_file())
    except OSError:
        return False
    return bool(files) and Path(files[0]).suffix.lower() in exts


def load_media_folder(folder: str | os.PathLike, medium: Medium, split: str = "test",
                      name: str | None = None) -> Dataset:
    """A media dataset from a folder, or a ``DatasetError``: cheap checks (files present, names, queries,
    judgments, text files) first, then every file decoded in a few threads (decoders release the GIL);
    the first problem found is raised, naming its file (and line and field)."""
    from rag.data.beir import parse_qrels  # the BEIR qrels rules (header, 3 or 4 columns, grades)

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DatasetError(_("folder not found") if not root.exists() else _("not a folder"), file=str(folder),
                           hint=_(medium.hint))
    root = root.resolve()
    for rel, ok in (("corpus/", (root / "corpus").is_dir()), (QUERIES, (root / QUERIES).is_file())):
        if not ok:
            raise DatasetError(_("missing {file}").format(file=rel), file=rel,
                               hint=_("in {folder}: {hint}").format(folder=root, hint=_(medium.hint)))
    qrels_name = f"qrels/{split}.tsv"
    if not (root / qrels_name).is_file():
        found = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise DatasetError(_("no judgments for split {split}").format(split=repr(split)), file=qrels_name,
                           hint=_("splits found: {splits}; {hint}").format(splits=", ".join(found) or _("none"),
                                                                            hint=_(medium.hint)))

    files = _scan_corpus(root, medium)  # id -> file name in corpus/
    qrels, qrel_lines = parse_qrels(qrels_name, read_text(root, qrels_name))
    queries, all_query_ids = _read_queries(root, medium, set(qrels))  # judged: (query, media rel path or "", line)
    query_lines = {q.id: line for q, _, line in queries}
    for query_id, judged in qrels.items():
        if query_id not in all_query_ids:
            raise DatasetError(_("unknown query {query} (not in {file})").format(query=repr(query_id), file=QUERIES),
                               file=qrels_name,
                               line=qrel_lines[query_id, None], field="query-id")
        for doc_id in judged:
            if doc_id not in files:
                raise DatasetError(_(medium.unknown).format(id=repr(doc_id)), file=qrels_name,
                                   line=qrel_lines[query_id, doc_id], field="corpus-id")
    texts = {fname: read_texts(root, fname, field, files, medium.unknown) if (root / fname).exists() else {}
             for fname, field in medium.texts}
    captions = texts.get(CAPTIONS, {})

    # The expensive part last: read, hash and decode every file.
    check, query_check = medium.check(), medium.query.check() if medium.query else None
    jobs = [(check, f"corpus/{fname}", root / "corpus" / fname, None) for fname in files.values()]
    jobs += [(query_check, rel, root / rel, _("{file} line {n}").format(file=QUERIES, n=query_lines[q.id]))
             for q, rel, _line in queries if rel]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        # carry_language: a bad file's message reads in the caller's language (a page's session), not the pool's
        shas = dict(zip((j[1] for j in jobs), pool.map(carry_language(lambda j: j[0](*j[1:])), jobs)))

    documents = [medium.document(doc_id, fname, captions.get(doc_id, ""), str(root / "corpus" / fname),
                                 shas[f"corpus/{fname}"]) for doc_id, fname in files.items()]
    out_queries = [medium.query_with(q, str(root / rel), shas[rel]) if rel else q for q, rel, _ in queries]
    return Dataset(name=name or root.name, documents=documents, queries=out_queries, qrels=qrels,
                   source=str(root))


def read_text(root: Path, rel: str) -> str:
    return decode_text(*read_source(root / rel, name=rel))


def _scan_corpus(root: Path, medium: Medium) -> dict[str, str]:
    """File id -> file name, in file-name order; hidden files (``.DS_Store``) are skipped."""
    files: dict[str, str] = {}
    for entry in sorted((root / "corpus").iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        rel = f"corpus/{entry.name}"
        if entry.is_dir():
            raise DatasetError(_("a folder inside corpus/ (subfolders are not read)"), file=rel + "/",
                               hint=_(medium.files_hint))
        ext = entry.suffix.lower()
        if ext not in medium.exts:
            raise DatasetError(_("unsupported format {ext}").format(ext=repr(ext or "(no extension)")), file=rel,
                               hint=medium.accepted)
        if entry.stem in files:
            raise DatasetError(_("duplicate id {id}: corpus/{file} has the same name").format(
                id=repr(entry.stem), file=files[entry.stem]), file=rel, hint=_(medium.id_hint))
        files[entry.stem] = entry.name
    if not files:
        raise DatasetError(_(medium.none_found), file="corpus/", hint=medium.accepted)
    return files


def _read_queries(root: Path, medium: Medium, judged: set[str]) -> tuple[list[tuple[Query, str, int]], set[str]]:
    """Every line checked; the judged queries (with their media file's relative path, "" for text, and
    their line) and the ids of all queries."""
    ids = IdRegistry(QUERIES, "_id")
    out: list[tuple[Query, str, int]] = []
    qm = medium.query
    for line, record in iter_jsonl(QUERIES, read_text(root, QUERIES)):
        query_id = get_id(QUERIES, line, record, "_id")
        ids.add(query_id, line)
        text = get_text(QUERIES, line, record, "text", required=False)
        value = record.get(qm.field) if qm else None
        has_media = value is not None and not (isinstance(value, str) and not value.strip())
        if text and has_media:
            raise DatasetError(_(qm.either), file=QUERIES, line=line, field=qm.field)
        if not text and not has_media:
            if qm is None:
                raise DatasetError(_("a query needs a text"), file=QUERIES, line=line, field="text")
            raise DatasetError(_(qm.needs), file=QUERIES, line=line, field="text")
        rel = _query_path(root, qm, line, value) if has_media else ""
        if query_id in judged:
            out.append((Query(query_id, text), rel, line))
    return out, set(ids.lines)


def _query_path(root: Path, qm: QueryMedium, line: int, value: Any) -> str:
    """The media path of a query, relative to the folder (posix), checked to stay inside it and exist."""
    def fail(message: str, hint: str | None = None) -> DatasetError:
        return DatasetError(message, file=QUERIES, line=line, field=qm.field, hint=hint)

    noun = qm.field
    if not isinstance(value, str):
        raise fail(_("{field} path must be a string, got {type}").format(field=noun, type=type(value).__name__))
    text = value.strip().replace("\\", "/")
    if text.startswith("/") or PureWindowsPath(text).drive or Path(text).is_absolute():
        raise fail(_("absolute {field} path '{path}'").format(field=noun, path=value.strip()),
                   _("give a path relative to the dataset folder"))
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise fail(_("{field} path '{path}' leaves the dataset folder ('..')").format(field=noun, path=value.strip()),
                   _("give a path inside the dataset folder"))
    rel = PurePosixPath(*[p for p in parts if p != "."]).as_posix()
    path = root / rel
    if path.suffix.lower() not in qm.exts:
        raise fail(_("unsupported format {ext} ({path})").format(ext=repr(path.suffix.lower() or "(no extension)"),
                                                                path=rel), accepted(qm.exts))
    if not path.is_file():
        raise fail(_(qm.not_found).format(rel=rel), _("paths are relative to {folder}").format(folder=root))
    if not path.resolve().is_relative_to(root):
        raise fail(_("{field} path '{path}' leaves the dataset folder (through a link)").format(field=noun, path=rel))
    return rel


def read_texts(root: Path, name: str, field: str, files: dict[str, str], unknown: str) -> dict[str, str]:
    """``{"_id": file id, field: text}`` lines of captions.jsonl / transcripts.jsonl, every line checked;
    ``unknown``: the medium's N_ message for an id with no file (``Medium.unknown``)."""
    ids = IdRegistry(name, "_id")
    out: dict[str, str] = {}
    for line, record in iter_jsonl(name, read_text(root, name)):
        file_id = get_id(name, line, record, "_id")
        ids.add(file_id, line)
        if file_id not in files:
            raise DatasetError(_(unknown).format(id=repr(file_id)), file=name, line=line, field="_id")
        out[file_id] = get_text(name, line, record, field)
    return out


class Bad(Exception):
    """A file problem found by a medium's cached check; turned into a DatasetError naming the file."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def size_text(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else _("{n} bytes").format(n=f"{n:,}")
