"""Documents (.txt / .md / .pdf / .docx / .html) split into chunks: a corpus for Ragas-style runs.

Word and HTML files are read as Markdown-like text (``rag.data.office``), so they split like .md.

Usage:
    chunks = load_documents(["guide.md", ("manual.pdf", pdf_bytes)], chunk_size=800)
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from rag.data.dataset import Dataset, DatasetError, Document
from rag.data.office import DOCUMENT_READERS
from rag.data.tables import load_table_dataset
from rag.data.validation import Source, build_dataset, decode_text, is_upload, read_source
from rag.i18n import _

DOCUMENT_EXTENSIONS = (".txt", ".md", ".markdown", ".pdf", *DOCUMENT_READERS)


def load_documents(paths: Source | Iterable[Source], chunk_size: int = 800,
                   chunk_overlap: int = 100, *, max_bytes: int | None = None) -> list[Document]:
    """Chunks of .txt / .md / .pdf / .docx / .html files, ids ``<filename>#<n>`` (n from 1 in each file).

    Split with LangChain's ``RecursiveCharacterTextSplitter`` (Markdown-aware for .md, so headings
    start chunks); PDFs are split page by page so each chunk's title names its page.
    """
    if not 0 < chunk_size or not 0 <= chunk_overlap < chunk_size:
        raise ValueError(_("need 0 <= chunk_overlap < chunk_size, got {overlap}, {size}").format(
            overlap=chunk_overlap, size=chunk_size))
    if is_upload(paths) or isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # type: ignore[list-item]
    documents: list[Document] = []
    seen: set[str] = set()
    for source in paths:  # type: ignore[union-attr]
        name, data = read_source(source, max_bytes=max_bytes)
        if name in seen:
            raise DatasetError(_("two files have this name, so their chunk ids would clash"),
                               file=name, hint=_("rename one of them"))
        seen.add(name)
        ext = Path(name).suffix.lower()
        if ext not in DOCUMENT_EXTENSIONS:
            raise DatasetError(_("unsupported document type {ext}").format(ext=repr(ext or "(none)")), file=name,
                               hint=_("use {extensions}").format(extensions=", ".join(DOCUMENT_EXTENSIONS)))
        if ext in DOCUMENT_READERS:  # Word / HTML: Markdown-like text, split as Markdown
            pages, ext = [(None, DOCUMENT_READERS[ext](name, data))], ".md"
        else:
            pages = _pdf_pages(name, data) if ext == ".pdf" else [(None, decode_text(name, data))]
        count = 0
        for page, text in pages:
            for chunk in _splitter(ext, chunk_size, chunk_overlap, text).split_text(text):
                if chunk.strip():
                    count += 1
                    title = name if page is None else f"{name} (page {page})"
                    documents.append(Document(f"{name}#{count}", title, chunk.strip()))
        if not count:
            raise DatasetError(_("no text found"), file=name,
                               hint=_("a scanned PDF needs OCR first") if ext == ".pdf" else None)
    return documents


def _splitter(ext: str, chunk_size: int, chunk_overlap: int, text: str = ""):
    """Markdown-aware for .md; CJK text also splits at 。！？；，、 (``rag.data.chunking.text_splitter``)."""
    from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

    from rag.data.chunking import text_splitter

    base = RecursiveCharacterTextSplitter.get_separators_for_language(Language.MARKDOWN) \
        if ext in (".md", ".markdown") else None
    return text_splitter(chunk_size, chunk_overlap, text, base)


def _pdf_pages(name: str, data: bytes) -> list[tuple[int, str]]:
    """(page number, text) of each page; unreadable or password-protected PDFs are refused."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DatasetError(_("the PDF is password-protected"), file=name)
        return [(number, page.extract_text() or "")
                for number, page in enumerate(reader.pages, start=1)]
    except DatasetError:
        raise
    except Exception as e:  # pypdf raises many types for damaged files
        raise DatasetError(_("not a readable PDF: {why}").format(why=e), file=name) from None


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
        raise DatasetError(str(e), field=_("chunk size / overlap")) from e
    if questions is None:
        return build_dataset(name, docs, [], {}, source="documents")
    check_chunking(questions, chunk_size, chunk_overlap, questions_mapping, max_bytes=max_bytes)
    return load_table_dataset(docs, questions, questions_mapping=questions_mapping, name=name, max_bytes=max_bytes)


DEFAULT_CHUNKING = (800, 100)   # load_documents_dataset's defaults: what an undeclared questions table assumes
CHUNKING_COLUMN = "chunking"    # optional column of a questions table: "800/100" (chunk size / overlap)


def check_chunking(questions: Source, chunk_size: int, chunk_overlap: int,
                   mapping: dict[str, str | None] | None = None, *, max_bytes: int | None = None) -> None:
    """Refuse a questions table whose chunk ids were written for another chunking (issue 22).

    Why: ``file.md#3`` is the third chunk *of one chunking*; with another size or overlap the same id is
    other text, and every relevance judgment would silently point at the wrong passage. A table says what
    it was written for in a ``chunking`` column ("800/100"); one that does not is taken to be for the
    defaults (800/100), so loading it with other settings is refused too, with how to fix it."""
    from rag.data.tables import read_table, resolve_mapping

    table = read_table(questions, max_bytes=max_bytes)
    relevant = resolve_mapping(table, "questions", mapping)["relevant"]
    names_chunks = relevant and any("#" in str(row.get(relevant) or "") for _, row in table.rows)
    if not names_chunks:
        return
    column = next((c for c in (table.rows[0][1] if table.rows else {}) if c.lower() == CHUNKING_COLUMN), None)
    now = f"{chunk_size}/{chunk_overlap}"
    for line, row in table.rows:
        declared = str(row.get(column) or "").strip().replace(" ", "") if column else ""
        written = declared or "/".join(map(str, DEFAULT_CHUNKING))
        if written != now:
            size, _sep, overlap = written.partition("/")
            message = _("the relevant chunk ids were written for chunk size {size} / overlap {overlap} (as its "
                        "'chunking' column says), not {chunk_size} / {chunk_overlap}: the same id would name other "
                        "text") if declared else \
                _("the relevant chunk ids were written for chunk size {size} / overlap {overlap} (the defaults: "
                  "the table has no 'chunking' column), not {chunk_size} / {chunk_overlap}: the same id would name "
                  "other text")
            raise DatasetError(message.format(size=size, overlap=overlap, chunk_size=chunk_size,
                                              chunk_overlap=chunk_overlap),
                               file=table.name, line=line, field=column or relevant,
                               hint=_("split with chunk size {size} and overlap {overlap}, or rewrite the ids for "
                                      "{now} and add a 'chunking' column saying {now}").format(
                                   size=size, overlap=overlap, now=now))
