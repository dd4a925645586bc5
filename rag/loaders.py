"""Every way a dataset enters the workbench; each returns a complete ``Dataset`` or raises.

- ``load_sample()``: the built-in programming-languages set (31 documents, 16 judged questions
  with reference answers), small enough to index in seconds and judge by eye.
- ``load_beir(folder)``: a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``),
  or a .zip of one (path or upload).
- CSV / TSV / JSONL / Parquet tables with a column mapping: see ``rag.table_loaders`` (re-exported).
- ``load_documents(files)``: .txt / .md / .pdf split into chunks, a corpus for Ragas-style runs.
- ``load_dataset(spec)``: what the CLI calls: "sample", "image-sample", a BEIR folder / zip, or an
  image folder (``corpus/`` of image files; see ``rag.image_data``).

Errors are ``DatasetError`` naming file, line and field (``rag.validation``). Uploads are passed
as ``(filename, bytes)`` wherever a path is accepted, so Streamlit needs no temporary files.

Usage:
    ds = load_dataset("sample")                          # or load_dataset("../data/scifact")
    ds = load_beir(("scifact.zip", uploaded.getvalue()))
    chunks = load_documents(["guide.md", ("manual.pdf", pdf_bytes)], chunk_size=800)
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rag.dataset import Dataset, DatasetError, Document, Query
from rag.sample_data import SAMPLE_DIR, load_sample
from rag.table_loaders import (
    default_mapping,
    load_corpus_table,
    load_questions_table,
    load_table,
    load_table_dataset,
    table_columns,
)
from rag.validation import (
    IdRegistry,
    Source,
    build_dataset,
    check_size,
    decode_text,
    get_id,
    get_text,
    is_upload,
    iter_jsonl,
    iter_lines,
    parse_grade,
    read_source,
)

__all__ = ["SAMPLE_DIR", "build_dataset", "default_mapping", "load_beir", "load_corpus_table",
           "load_dataset", "load_documents", "load_questions_table", "load_sample", "load_table",
           "load_table_dataset", "table_columns", "load_documents_dataset"]

BEIR_HINT = "a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv"
ANSWER_KEYS = ("answer", "reference", "ground_truth", "reference_answer")


def load_dataset(spec: str, split: str = "test") -> Dataset:
    """The CLI's dataset argument: "sample", "image-sample", a BEIR folder or .zip, or an image folder
    (one with a ``corpus/`` directory: ``rag.image_data``)."""
    from rag.image_data import is_image_folder, load_image_folder  # images: kept within this function
    from rag.sample_data.images import load_image_sample

    if spec.strip().lower() == "sample":
        return load_sample()
    if spec.strip().lower() == "image-sample":
        return load_image_sample()
    path = Path(spec).expanduser()
    if is_image_folder(path):
        return load_image_folder(path, split)
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip"):
        return load_beir(path, split)
    if path.is_file():
        raise DatasetError("a single file is not a dataset", file=path.name,
                           hint="tables need a column mapping: use load_table_dataset(corpus, "
                                "questions), or pass 'sample', 'image-sample' or a folder")
    raise DatasetError(f"no dataset {spec!r}: not 'sample' or 'image-sample' and no such folder",
                       hint=f"pass 'sample', 'image-sample' or a path; {BEIR_HINT}; an image folder holds "
                            f"corpus/ (image files), queries.jsonl and qrels/<split>.tsv")


# --- BEIR --------------------------------------------------------------------------------------

class _BeirFiles:
    """The files of a BEIR set, whether in a folder or a zip (whose top folder is found)."""

    def __init__(self, source: Source, max_bytes: int | None):
        self.max_bytes, self.zip, self.prefix = max_bytes, None, ""
        if is_upload(source) or Path(source).suffix.lower() == ".zip":  # type: ignore[arg-type]
            name, data = read_source(source, max_bytes=max_bytes)
            try:
                self.zip = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile:
                raise DatasetError("not a readable zip file", file=name) from None
            corpora = sorted((n for n in self.zip.namelist() if n.endswith("corpus.jsonl")
                              and not n.startswith("__MACOSX")), key=len)
            if not corpora:
                raise DatasetError("no corpus.jsonl in the zip", file=name, hint=BEIR_HINT)
            self.prefix = corpora[0][: -len("corpus.jsonl")]
            self.name = Path(name).stem
        else:
            self.folder = Path(source)  # type: ignore[arg-type]
            if not self.folder.is_dir():
                raise DatasetError("folder not found", file=str(source), hint=BEIR_HINT)
            self.name = self.folder.name

    def read(self, rel: str) -> str:
        if self.zip is None:
            return decode_text(*read_source(self.folder / rel, max_bytes=self.max_bytes, name=rel))
        try:
            info = self.zip.getinfo(self.prefix + rel)
        except KeyError:
            raise DatasetError("file not found in the zip", file=rel, hint=BEIR_HINT) from None
        check_size(rel, info.file_size, self.max_bytes)  # before inflating it
        name, data = read_source((rel, self.zip.read(info)), max_bytes=self.max_bytes)
        return decode_text(name, data)

    def splits(self) -> list[str]:
        if self.zip is None:
            return sorted(p.stem for p in (self.folder / "qrels").glob("*.tsv"))
        start = self.prefix + "qrels/"
        return sorted(Path(n).stem for n in self.zip.namelist()
                      if n.startswith(start) and n.endswith(".tsv"))


def load_beir(folder: Source, split: str = "test", *, name: str | None = None,
              max_bytes: int | None = None) -> Dataset:
    """A BEIR dataset, keeping only the queries judged in ``qrels/<split>.tsv``.

    Why only judged queries: BEIR ``queries.jsonl`` files hold every split's queries (SciFact:
    1,109 queries, 300 judged in test), and unjudged ones cannot be scored, so retrieving for them
    is wasted work. A reference answer is read from ``answer`` (or ``reference`` /
    ``ground_truth``), at the top level or inside ``metadata``, when present.
    """
    files = _BeirFiles(folder, max_bytes)
    qrels_name = f"qrels/{split}.tsv"
    if split not in files.splits():
        raise DatasetError(f"no judgments for split {split!r}", file=qrels_name,
                           hint=f"splits found: {', '.join(files.splits()) or 'none'}; {BEIR_HINT}")
    qrels, qrel_lines = _parse_qrels(qrels_name, files.read(qrels_name))

    queries: list[Query] = []
    query_ids = IdRegistry("queries.jsonl", "_id")
    for line, record in iter_jsonl("queries.jsonl", files.read("queries.jsonl")):
        query_id = get_id("queries.jsonl", line, record, "_id")
        query_ids.add(query_id, line)
        if query_id in qrels:
            text = get_text("queries.jsonl", line, record, "text")
            queries.append(Query(query_id, text, _reference(record)))

    documents: list[Document] = []
    doc_ids = IdRegistry("corpus.jsonl", "_id")
    for line, record in iter_jsonl("corpus.jsonl", files.read("corpus.jsonl")):
        doc_id = get_id("corpus.jsonl", line, record, "_id")
        doc_ids.add(doc_id, line)
        title = get_text("corpus.jsonl", line, record, "title", required=False)
        text = get_text("corpus.jsonl", line, record, "text", required=not title)
        documents.append(Document(doc_id, title, text))

    for query_id, judged in qrels.items():
        if query_id not in query_ids:
            raise DatasetError(f"unknown query {query_id!r} (not in queries.jsonl)",
                               file=qrels_name, line=qrel_lines[query_id, None], field="query-id")
        for doc_id in judged:
            if doc_id not in doc_ids:
                raise DatasetError(f"unknown document {doc_id!r} (not in corpus.jsonl)",
                                   file=qrels_name, line=qrel_lines[query_id, doc_id],
                                   field="corpus-id")
    return build_dataset(name or files.name, documents, queries, qrels,
                         source=str(folder[0] if is_upload(folder) else folder))  # type: ignore[index]


def _parse_qrels(name: str, text: str
                 ) -> tuple[dict[str, dict[str, int]], dict[tuple[str, str | None], int]]:
    """Judgments and the line of each (query, doc) and of each query's first judgment.

    Tab-separated ``query-id corpus-id score`` with an optional header; whitespace-separated and
    4-column TREC lines (``qid 0 docid score``) are accepted too. Repeating a pair with the same
    grade is harmless; with a different grade it is an error naming both lines.
    """
    qrels: dict[str, dict[str, int]] = {}
    lines: dict[tuple[str, str | None], int] = {}
    first = True
    for number, line in iter_lines(text):
        if not line.strip():
            continue
        parts = [p.strip() for p in (line.split("\t") if "\t" in line else line.split())]
        if first and parts[-1].lower() in ("score", "relevance", "rel", "label"):
            first = False
            continue  # the header
        first = False
        if len(parts) not in (3, 4):
            raise DatasetError(f"expected 3 tab-separated columns (query-id, corpus-id, score), "
                               f"got {len(parts)}", file=name, line=number)
        query_id, doc_id, score = (parts[0], parts[1], parts[2]) if len(parts) == 3 else \
            (parts[0], parts[2], parts[3])
        for value, field in ((query_id, "query-id"), (doc_id, "corpus-id")):
            if not value:
                raise DatasetError("empty id", file=name, line=number, field=field)
        grade = parse_grade(name, number, "score", score)
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged and judged[doc_id] != grade:
            raise DatasetError(f"conflicting judgment for ({query_id}, {doc_id}) "
                               f"(lines {lines[query_id, doc_id]} and {number})", file=name,
                               line=number, field="score")
        judged[doc_id] = grade
        lines.setdefault((query_id, doc_id), number)
        lines.setdefault((query_id, None), number)
    if not qrels:
        raise DatasetError("no judgments", file=name)
    return qrels, lines


def _reference(record: dict[str, Any]) -> str | None:
    """A reference answer if the query record carries one (top level first, then metadata)."""
    metadata = record.get("metadata")
    for holder in (record, metadata if isinstance(metadata, dict) else {}):
        for key in ANSWER_KEYS:
            value = holder.get(key)
            if isinstance(value, list):  # some sets list several acceptable answers
                value = next((v for v in value if isinstance(v, str) and v.strip()), None)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


# --- plain documents -----------------------------------------------------------------------------

DOCUMENT_EXTENSIONS = (".txt", ".md", ".markdown", ".pdf")


def load_documents(paths: Source | Iterable[Source], chunk_size: int = 800,
                   chunk_overlap: int = 100, *, max_bytes: int | None = None) -> list[Document]:
    """Chunks of .txt / .md / .pdf files, ids ``<filename>#<n>`` (n from 1 in each file).

    Split with LangChain's ``RecursiveCharacterTextSplitter`` (Markdown-aware for .md, so headings
    start chunks); PDFs are split page by page so each chunk's title names its page.
    """
    if not 0 < chunk_size or not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"need 0 <= chunk_overlap < chunk_size, got {chunk_overlap}, {chunk_size}")
    if is_upload(paths) or isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # type: ignore[list-item]
    documents: list[Document] = []
    seen: set[str] = set()
    for source in paths:  # type: ignore[union-attr]
        name, data = read_source(source, max_bytes=max_bytes)
        if name in seen:
            raise DatasetError("two files have this name, so their chunk ids would clash",
                               file=name, hint="rename one of them")
        seen.add(name)
        ext = Path(name).suffix.lower()
        if ext not in DOCUMENT_EXTENSIONS:
            raise DatasetError(f"unsupported document type {ext or '(none)'!r}", file=name,
                               hint="use " + ", ".join(DOCUMENT_EXTENSIONS))
        pages = _pdf_pages(name, data) if ext == ".pdf" else [(None, decode_text(name, data))]
        splitter = _splitter(ext, chunk_size, chunk_overlap)
        count = 0
        for page, text in pages:
            for chunk in splitter.split_text(text):
                if chunk.strip():
                    count += 1
                    title = name if page is None else f"{name} (page {page})"
                    documents.append(Document(f"{name}#{count}", title, chunk.strip()))
        if not count:
            raise DatasetError("no text found", file=name,
                               hint="a scanned PDF needs OCR first" if ext == ".pdf" else None)
    return documents


def _splitter(ext: str, chunk_size: int, chunk_overlap: int):
    from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

    if ext in (".md", ".markdown"):
        return RecursiveCharacterTextSplitter.from_language(
            Language.MARKDOWN, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    return RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def _pdf_pages(name: str, data: bytes) -> list[tuple[int, str]]:
    """(page number, text) of each page; unreadable or password-protected PDFs are refused."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DatasetError("the PDF is password-protected", file=name)
        return [(number, page.extract_text() or "")
                for number, page in enumerate(reader.pages, start=1)]
    except DatasetError:
        raise
    except Exception as e:  # pypdf raises many types for damaged files
        raise DatasetError(f"not a readable PDF: {e}", file=name) from None


def load_documents_dataset(files: Iterable[Source], questions: Source | None = None, *,
                           questions_mapping: dict[str, str | None] | None = None, name: str = "documents",
                           chunk_size: int = 800, chunk_overlap: int = 100,
                           max_bytes: int | None = None) -> Dataset:
    """Chunked documents as a corpus, with an optional questions table whose ``relevant`` column
    names chunk ids (``file.md#3``). Without questions the set can be indexed but not scored."""
    try:
        docs = load_documents(list(files), chunk_size, chunk_overlap, max_bytes=max_bytes)
    except ValueError as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(str(e), field="chunk size / overlap") from e
    if questions is None:
        return build_dataset(name, docs, [], {}, source="documents")
    return load_table_dataset(docs, questions, questions_mapping=questions_mapping, name=name, max_bytes=max_bytes)
