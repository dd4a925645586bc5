"""Corpora and questions from CSV / TSV / JSONL / Parquet tables and Excel sheets (.xlsx / .xls), with a
column mapping.

People keep evaluation data in spreadsheets and dataframes whose column names are their own, so
a loader cannot hard-code ``text`` or ``question``. A *mapping* says which column plays which role;
``table_columns`` and ``default_mapping`` let a UI offer a pre-filled mapping to confirm.

Roles (mapping keys):
    corpus:    id (required), title, text (required)
    questions: id (when absent, ids are q1, q2, ... by row), text (required), reference (a
               reference answer), relevant (relevant document ids: "a;b", "a|b" or a JSON list
               '["a", "b"]'; every one gets grade 1)

A mapping passed in is used as is (a key left out or set to None means "not mapped"); ``None``
means "guess with ``default_mapping``". Each source is a path or an upload ``(filename, bytes)``.
For a workbook the mapping's ``"sheet"`` key names the sheet (default: the first visible one), and
errors name the sheet, the row and the column letter (``rag.data.office``).

Usage:
    cols = table_columns("faq.csv")                      # ['question', 'answer', 'doc_ids']
    mapping = default_mapping(cols, "questions")         # {'text': 'question', ...}
    ds = load_table_dataset("docs.parquet", "faq.csv", questions_mapping=mapping)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.data.dataset import Dataset, DatasetError, Document, Query
from rag.data.office import WORKBOOK_EXTENSIONS, read_sheet
from rag.data.validation import (
    IdRegistry,
    Source,
    build_dataset,
    decode_text,
    get_id,
    get_text,
    iter_jsonl,
    read_csv,
    read_parquet,
    read_source,
)
from rag.i18n import _

# role -> required?
ROLES: dict[str, dict[str, bool]] = {
    "corpus": {"id": True, "title": False, "text": True},
    "questions": {"id": False, "text": True, "reference": False, "relevant": False},
}
# role -> column names guessed, best first (compared case-insensitively)
CANDIDATES: dict[str, dict[str, list[str]]] = {
    "corpus": {
        "id": ["_id", "id", "doc_id", "docid", "document_id", "corpus_id", "corpus-id"],
        "title": ["title", "name", "heading"],
        "text": ["text", "content", "contents", "body", "document", "passage", "chunk"],
    },
    "questions": {
        "id": ["_id", "id", "query_id", "query-id", "qid", "question_id"],
        "text": ["question", "query", "text", "user_input", "prompt"],
        "reference": ["answer", "reference", "ground_truth", "reference_answer",
                      "expected_answer", "gold_answer"],
        "relevant": ["relevant", "relevant_ids", "relevant_docs", "relevant_doc_ids", "doc_ids",
                     "corpus_ids", "reference_ids"],
    },
}
TABLE_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", *WORKBOOK_EXTENSIONS)
SHEET = "sheet"  # the mapping key that picks a workbook's sheet


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]  # (line, or row number for Parquet; record)
    header_line: int | None = None  # CSV/TSV/sheets: where errors about columns point
    sheet: str | None = None  # workbooks: the sheet read (rows are its row numbers)
    letters: dict[str, str] = field(default_factory=dict)  # workbooks: column name -> letter


def read_table(source: Source, *, max_bytes: int | None = None, sheet: str | None = None) -> Table:
    """Any supported table, chosen by the file extension; ``sheet`` picks a workbook's sheet."""
    name, data = read_source(source, max_bytes=max_bytes)
    ext = Path(name).suffix.lower()
    header_line = None
    if ext in WORKBOOK_EXTENSIONS:
        found = read_sheet(name, data, sheet)
        return Table(name, found.columns, found.rows, found.header_row, found.name, found.letters)
    if ext in (".csv", ".tsv"):
        columns, rows, header_line = read_csv(name, decode_text(name, data))
    elif ext in (".jsonl", ".ndjson"):
        rows = list(iter_jsonl(name, decode_text(name, data)))
        columns = list(dict.fromkeys(key for _, record in rows for key in record))
    elif ext == ".parquet":
        columns, rows = read_parquet(name, data)
    else:
        raise DatasetError(_("unsupported table type {ext}").format(ext=repr(ext or "(none)")), file=name,
                           hint=_("use {extensions}").format(extensions=", ".join(TABLE_EXTENSIONS)))
    if not rows:
        raise DatasetError(_("no rows"), file=name, line=header_line)
    return Table(name, columns, rows, header_line)


def table_columns(source: Source, *, max_bytes: int | None = None, sheet: str | None = None) -> list[str]:
    """Column names, for a UI to offer a mapping (the file is fully read, so it is checked too)."""
    return read_table(source, max_bytes=max_bytes, sheet=sheet).columns


def sheet_of(mapping: dict[str, str | None] | None) -> str | None:
    """The sheet a mapping names (None: the first one, or not a workbook)."""
    return (mapping or {}).get(SHEET) or None


@contextmanager
def located(table: Table) -> Iterator[None]:
    """Errors about a sheet's rows name the sheet and the column letter, as Excel shows them."""
    try:
        yield
    except DatasetError as e:
        if table.sheet is None or e.sheet is not None or e.file != table.name:
            raise
        e.message = e.message.replace("(lines ", "(rows ")  # IdRegistry's duplicate: a sheet has rows
        raise e.in_sheet(table.sheet, table.letters.get(e.field or "")) from None


def default_mapping(columns: list[str], kind: str) -> dict[str, str | None]:
    """Best guess of the column for each role, from common names; None where nothing matches."""
    by_lower = {c.lower(): c for c in reversed(columns)}  # first column wins on a case clash
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for role, names in _candidates(kind).items():
        found = next((by_lower[n] for n in names if n in by_lower and by_lower[n] not in taken),
                     None)
        mapping[role] = found
        if found:
            taken.add(found)
    return mapping


def _candidates(kind: str) -> dict[str, list[str]]:
    if kind not in CANDIDATES:
        raise ValueError(f"kind must be one of {sorted(CANDIDATES)}, got {kind!r}")  # i18n: internal (a caller's bug)
    return CANDIDATES[kind]


def resolve_mapping(table: Table, kind: str,
                    mapping: dict[str, str | None] | None) -> dict[str, str | None]:
    """Check a mapping against the file: known roles, existing columns, required roles present."""
    _candidates(kind)  # rejects an unknown kind
    roles = ROLES[kind]
    if mapping is None or set(mapping) == {SHEET}:  # a sheet alone: its columns guessed
        mapping = default_mapping(table.columns, kind)
    mapping = {role: column for role, column in mapping.items() if role != SHEET}
    columns = ", ".join(table.columns)
    for role, column in mapping.items():
        if role not in roles:
            raise DatasetError(_("unknown mapping role {role}; expected {roles}").format(
                role=repr(role), roles=", ".join(roles)),
                               file=table.name, field=role)
        if column and column not in table.columns:
            raise DatasetError(_("column {column} (mapped to {role}) is not in the file; columns: {columns}").format(
                column=repr(column), role=repr(role), columns=columns), file=table.name, line=table.header_line,
                field=column)
    for role, required in roles.items():
        if required and not mapping.get(role):
            expected = ", ".join(_candidates(kind)[role])
            raise DatasetError(_("missing required column for {role}; the file has columns: {columns}; "
                                 "expected one of: {expected}").format(role=repr(role), columns=columns,
                                                                       expected=expected),
                               file=table.name, line=table.header_line, field=role,
                               hint=_("or map a column to it explicitly"))
    return {role: mapping.get(role) or None for role in roles}


def load_corpus_table(source: Source, mapping: dict[str, str | None] | None = None, *,
                      max_bytes: int | None = None) -> list[Document]:
    """Documents from a table: one row, one document (long texts are not chunked here)."""
    table = read_table(source, max_bytes=max_bytes, sheet=sheet_of(mapping))
    with located(table):
        m = resolve_mapping(table, "corpus", mapping)
        ids = IdRegistry(table.name, m["id"])  # type: ignore[arg-type]
        documents = []
        for line, row in table.rows:
            doc_id = get_id(table.name, line, row, m["id"])  # type: ignore[arg-type]
            ids.add(doc_id, line)
            title = get_text(table.name, line, row, m["title"], required=False) if m["title"] else ""
            documents.append(Document(doc_id, title, get_text(table.name, line, row, m["text"])))
    return documents


def load_questions_table(source: Source, mapping: dict[str, str | None] | None = None, *,
                         max_bytes: int | None = None
                         ) -> tuple[list[Query], dict[str, dict[str, int]]]:
    """Questions, and qrels from the ``relevant`` column (empty when it is not mapped)."""
    table = read_table(source, max_bytes=max_bytes, sheet=sheet_of(mapping))
    queries, qrels, _, _ = _read_questions(table, mapping)
    return queries, qrels


def load_table(source: Source, kind: str, mapping: dict[str, str | None] | None = None, *,
               max_bytes: int | None = None):
    """``load_corpus_table`` for kind "corpus", ``load_questions_table`` for "questions"."""
    loaders = {"corpus": load_corpus_table, "questions": load_questions_table}
    if kind not in loaders:
        raise ValueError(f"kind must be one of {sorted(loaders)}, got {kind!r}")  # i18n: internal (a caller's bug)
    return loaders[kind](source, mapping, max_bytes=max_bytes)


def load_table_dataset(corpus: Source | list[Document], questions: Source, *,
                       corpus_mapping: dict[str, str | None] | None = None,
                       questions_mapping: dict[str, str | None] | None = None,
                       name: str | None = None, max_bytes: int | None = None) -> Dataset:
    """A Dataset from a corpus table (or documents already loaded, e.g. chunks) and a questions
    table; a relevant id missing from the corpus is reported at its question's line."""
    if isinstance(corpus, list):
        documents, corpus_name = corpus, "documents"
    else:
        documents = load_corpus_table(corpus, corpus_mapping, max_bytes=max_bytes)
        corpus_name = Path(corpus[0] if isinstance(corpus, tuple) else corpus).name
    table = read_table(questions, max_bytes=max_bytes, sheet=sheet_of(questions_mapping))
    queries, qrels, lines, column = _read_questions(table, questions_mapping)
    doc_ids = {d.id for d in documents}
    with located(table):
        for query_id, judged in qrels.items():
            for doc_id in judged:
                if doc_id not in doc_ids:
                    raise DatasetError(_("unknown document {document} (not an id in {corpus})").format(
                        document=repr(doc_id), corpus=corpus_name), file=table.name, line=lines[query_id],
                        field=column, hint=_("separate several ids with ';' or '|'"))
    return build_dataset(name or Path(table.name).stem, documents, queries, qrels,
                         source=f"{corpus_name} + {table.name}")


def _read_questions(table: Table, mapping: dict[str, str | None] | None
                    ) -> tuple[list[Query], dict[str, dict[str, int]], dict[str, int], str | None]:
    with located(table):
        return _questions(table, resolve_mapping(table, "questions", mapping))


def _questions(table: Table, m: dict[str, str | None]
               ) -> tuple[list[Query], dict[str, dict[str, int]], dict[str, int], str | None]:
    ids = IdRegistry(table.name, m["id"] or "id")
    queries: list[Query] = []
    qrels: dict[str, dict[str, int]] = {}
    for index, (line, row) in enumerate(table.rows, start=1):
        query_id = get_id(table.name, line, row, m["id"]) if m["id"] else f"q{index}"
        ids.add(query_id, line)
        text = get_text(table.name, line, row, m["text"])
        reference = (get_text(table.name, line, row, m["reference"], required=False)
                     if m["reference"] else "")
        queries.append(Query(query_id, text, reference or None))
        if m["relevant"]:
            relevant = parse_relevant(table.name, line, m["relevant"], row.get(m["relevant"]))
            if relevant:
                qrels[query_id] = dict.fromkeys(relevant, 1)
    return queries, qrels, ids.lines, m["relevant"]


def parse_relevant(name: str, line: int, field: str, value: Any) -> list[str]:
    """Relevant ids from a cell: a list (JSONL/Parquet), a JSON list string, or "a;b" / "a|b"."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise DatasetError(_("invalid JSON list: {why}").format(why=e.msg), file=name, line=line,
                                   field=field) from None
        else:
            value = re.split(r"[;|]", value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise DatasetError(_("expected ids separated by ';' or '|', or a list, got {type}").format(
            type=type(value).__name__), file=name, line=line, field=field)
    ids = []
    for item in value:
        if isinstance(item, str) and not item.strip():
            continue
        ids.append(get_id(name, line, {field: item}, field))
    return list(dict.fromkeys(ids))
