"""BEIR folders (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``), or a .zip of one, and the
qrels rules every folder format shares (image folders read their judgments with ``parse_qrels`` too).

Usage:
    ds = load_beir("../data/scifact")
    ds = load_beir(("scifact.zip", uploaded.getvalue()))
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from rag.data.dataset import Dataset, DatasetError, Document, Query
from rag.data.validation import (
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
from rag.i18n import N_, _

BEIR_HINT = N_("a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv")  # _() where shown


ANSWER_KEYS = ("answer", "reference", "ground_truth", "reference_answer")


class _BeirFiles:
    """The files of a BEIR set, whether in a folder or a zip (whose top folder is found)."""

    def __init__(self, source: Source, max_bytes: int | None):
        self.max_bytes, self.zip, self.prefix = max_bytes, None, ""
        if is_upload(source) or Path(source).suffix.lower() == ".zip":  # type: ignore[arg-type]
            name, data = read_source(source, max_bytes=max_bytes)
            try:
                self.zip = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile:
                raise DatasetError(_("not a readable zip file"), file=name) from None
            corpora = sorted((n for n in self.zip.namelist() if n.endswith("corpus.jsonl")
                              and not n.startswith("__MACOSX")), key=len)
            if not corpora:
                raise DatasetError(_("no corpus.jsonl in the zip"), file=name, hint=_(BEIR_HINT))
            self.prefix = corpora[0][: -len("corpus.jsonl")]
            self.name = Path(name).stem
        else:
            self.folder = Path(source)  # type: ignore[arg-type]
            if not self.folder.is_dir():
                raise DatasetError(_("folder not found"), file=str(source), hint=_(BEIR_HINT))
            self.name = self.folder.name

    def read(self, rel: str) -> str:
        if self.zip is None:
            return decode_text(*read_source(self.folder / rel, max_bytes=self.max_bytes, name=rel))
        try:
            info = self.zip.getinfo(self.prefix + rel)
        except KeyError:
            raise DatasetError(_("file not found in the zip"), file=rel, hint=_(BEIR_HINT)) from None
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
        raise DatasetError(_("no judgments for split {split}").format(split=repr(split)), file=qrels_name,
                           hint=_("splits found: {splits}; {hint}").format(
                               splits=", ".join(files.splits()) or _("none"), hint=_(BEIR_HINT)))
    qrels, qrel_lines = parse_qrels(qrels_name, files.read(qrels_name))

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
            raise DatasetError(_("unknown query {query} (not in queries.jsonl)").format(query=repr(query_id)),
                               file=qrels_name, line=qrel_lines[query_id, None], field="query-id")
        for doc_id in judged:
            if doc_id not in doc_ids:
                raise DatasetError(_("unknown document {document} (not in corpus.jsonl)").format(document=repr(doc_id)),
                                   file=qrels_name, line=qrel_lines[query_id, doc_id],
                                   field="corpus-id")
    return build_dataset(name or files.name, documents, queries, qrels,
                         source=str(folder[0] if is_upload(folder) else folder))  # type: ignore[index]


def parse_qrels(name: str, text: str
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
            raise DatasetError(_("expected 3 tab-separated columns (query-id, corpus-id, score), got {n}").format(
                n=len(parts)), file=name, line=number)
        query_id, doc_id, score = (parts[0], parts[1], parts[2]) if len(parts) == 3 else \
            (parts[0], parts[2], parts[3])
        for value, field in ((query_id, "query-id"), (doc_id, "corpus-id")):
            if not value:
                raise DatasetError(_("empty id"), file=name, line=number, field=field)
        grade = parse_grade(name, number, "score", score)
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged and judged[doc_id] != grade:
            raise DatasetError(_("conflicting judgment for ({query}, {document}) (lines {first} and {line})").format(
                query=query_id, document=doc_id, first=lines[query_id, doc_id], line=number), file=name,
                line=number, field="score")
        judged[doc_id] = grade
        lines.setdefault((query_id, doc_id), number)
        lines.setdefault((query_id, None), number)
    if not qrels:
        raise DatasetError(_("no judgments"), file=name)
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
