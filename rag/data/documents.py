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

DOCUMENT_EXTENSIONS = (".txt", ".md", ".markdown", ".pdf", *DOCUMENT_READERS)


def load_documents(paths: Source | Iterable[Source], chunk_size: int = 800,
                   chunk_overlap: int = 100, *, max_bytes: int | None = None) -> list[Document]:
    """Chunks of .txt / .md / .pdf / .docx / .html files, ids ``<filename>#<n>`` (n from 1 in each file).

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
            raise DatasetError("no text found", file=name,
                               hint="a scanned PDF needs OCR first" if ext == ".pdf" else None)
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
