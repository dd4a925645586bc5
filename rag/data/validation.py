"""Reading and checking user files: every problem becomes one ``DatasetError`` naming file, line, field.

Users bring their own corpora, questions and judgments, often exported from spreadsheets or other
tools. A failure deep in indexing ("KeyError: 'text'") is useless to them, so loaders read input
through these helpers, which say *where* the input is wrong in terms a user sees in an editor:
the file name, the 1-based line (header counted for CSV/TSV; the row number for Parquet) and the
field or column. Files arrive either as paths or, from a Streamlit upload, as ``(filename, bytes)``,
so nothing here needs a temporary file.

Usage:
    name, data = read_source(("corpus.jsonl", b'{"_id": "d1", "text": "hi"}\\n'))
    for line, record in iter_jsonl(name, decode_text(name, data)):
        doc_id = get_id(name, line, record, "_id")
    ds = build_dataset("demo", documents, queries, qrels, source="upload")
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rag.data.dataset import Dataset, DatasetError, Document, Query
from rag.i18n import _

# A file on disk, or an upload: (file name, content).
Source = str | os.PathLike | tuple[str, bytes]

_BOM = b"\xef\xbb\xbf"


def default_max_bytes() -> int:
    """The upload limit from settings (``WORKBENCH_MAX_UPLOAD_MB``), in bytes."""
    from rag.settings import get_settings

    return int(get_settings().max_upload_mb) * 1024 * 1024


def is_upload(source: object) -> bool:
    return (isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], str)
            and isinstance(source[1], (bytes, bytearray, memoryview)))


def check_size(name: str, size: int, max_bytes: int | None) -> None:
    limit = default_max_bytes() if max_bytes is None else max_bytes
    if size > limit:
        raise DatasetError(_("file is {size}, over the {limit} limit").format(size=_size(size), limit=_size(limit)),
                           file=name, hint=_("raise WORKBENCH_MAX_UPLOAD_MB or pass max_bytes"))


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else _("{n} bytes").format(n=f"{n:,}")


def read_source(source: Source, *, max_bytes: int | None = None,
                name: str | None = None) -> tuple[str, bytes]:
    """Bytes of a path or an upload, refusing missing, oversized and empty files."""
    if is_upload(source):
        name = name or source[0]  # type: ignore[index]
        data = bytes(source[1])  # type: ignore[index]
        check_size(name, len(data), max_bytes)
    else:
        path = Path(source)  # type: ignore[arg-type]
        name = name or path.name
        if not path.is_file():
            raise DatasetError(_("file not found") if not path.exists() else _("not a file"),
                               file=name, hint=str(path))
        check_size(name, path.stat().st_size, max_bytes)  # before reading it into memory
        data = path.read_bytes()
    if not data.strip():
        raise DatasetError(_("empty file"), file=name)
    return name, data


def decode_text(name: str, data: bytes) -> str:
    """UTF-8 text, a leading BOM removed; other encodings are refused with the failing line."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DatasetError(_("file is UTF-16, expected UTF-8"), file=name, line=1,
                           hint=_("save it again as UTF-8"))
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DatasetError(_("not valid UTF-8 (byte 0x{byte})").format(byte=f"{data[e.start]:02x}"), file=name,
                           line=line, hint=_("save the file as UTF-8")) from None
    if not text.strip():
        raise DatasetError(_("empty file"), file=name)
    return text


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) with CR/LF stripped. Splits on ``\\n`` only: ``str.splitlines`` would
    also split on characters such as U+2028 that are legal inside JSON strings."""
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.rstrip("\r")


def iter_jsonl(name: str, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """JSON objects, one a line; blank lines skipped."""
    for number, line in iter_lines(text):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(_("invalid JSON: {why} at column {n}").format(why=e.msg, n=e.colno), file=name,
                               line=number) from None
        if not isinstance(record, dict):
            raise DatasetError(_("expected a JSON object, got {type}").format(type=type(record).__name__), file=name,
                               line=number)
        yield number, record


def guess_delimiter(name: str, text: str) -> str:
    """Tab for .tsv; for .csv the most frequent of , ; tab in the header (spreadsheets in many
    locales export ``;``)."""
    if name.lower().endswith(".tsv"):
        return "\t"
    header = text.split("\n", 1)[0]
    return max([",", ";", "\t"], key=header.count)


def read_csv(name: str, text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]], int]:
    """Header, rows with the line each row starts on (quoted fields may span lines), header line."""
    # the file-size limit already bounds every field; csv's own 128 KiB field cap would refuse long documents
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=guess_delimiter(name, text))
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    last = header_line = 0
    try:
        for values in reader:
            start, last = last + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if header is None:
                header, header_line = [v.strip() for v in values], start
                check_columns(name, header, start)
                continue
            if len(values) != len(header):
                raise DatasetError(_("{n} values but the header has {columns} columns").format(
                    n=len(values), columns=len(header)), file=name, line=start)
            rows.append((start, dict(zip(header, values, strict=True))))
    except csv.Error as e:
        raise DatasetError(_("malformed CSV: {why}").format(why=e), file=name, line=reader.line_num) from None
    if header is None:
        raise DatasetError(_("empty file"), file=name)
    return header, rows, header_line


def check_columns(name: str, header: list[str], line: int | None) -> None:
    seen: set[str] = set()
    for column in header:
        if not column:
            raise DatasetError(_("empty column name in header"), file=name, line=line)
        if column in seen:
            raise DatasetError(_("duplicate column in header"), file=name, line=line, field=column)
        seen.add(column)


def read_parquet(name: str, data: bytes) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Columns and rows; a row's "line" is its 1-based row number."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as e:  # pyarrow raises several types for a corrupt or non-Parquet file
        raise DatasetError(_("not a readable Parquet file: {why}").format(why=e), file=name) from None
    columns = [str(c) for c in table.column_names]
    check_columns(name, columns, None)
    return columns, list(enumerate(table.to_pylist(), start=1))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def get_id(name: str, line: int, record: dict[str, Any], key: str) -> str:
    """An id as a string: strings and whole numbers accepted (spreadsheets turn ids into numbers)."""
    if key not in record or _is_missing(record[key]):
        raise DatasetError(_("missing id"), file=name, line=line, field=key)
    value = record[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DatasetError(_("id must be a string, got {type}").format(type=type(value).__name__), file=name,
                           line=line, field=key)
    text = str(value).strip()
    if not text:
        raise DatasetError(_("empty id"), file=name, line=line, field=key)
    return text


def get_text(name: str, line: int, record: dict[str, Any], key: str | None, *,
             required: bool = True) -> str:
    """A text field, stripped; missing or blank is an error when ``required``, else ``""``."""
    value = record.get(key) if key else None
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        if required:
            raise DatasetError(_("empty text") if key in record else _("missing field"), file=name,
                               line=line, field=key)
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise DatasetError(_("expected text, got {type}").format(type=type(value).__name__), file=name, line=line,
                           field=key)
    return value.strip()


def parse_grade(name: str | None, line: int | None, field: str, value: Any) -> int:
    """Relevance grade as an int (BEIR grades are 0, 1, 2...); "1.0" is accepted, "high" is not."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise DatasetError(_("relevance must be an integer, got {value}").format(value=repr(str(value))), file=name,
                           line=line, field=field)
    return int(number)


class IdRegistry:
    """Remembers the line of each id so a duplicate error can name both lines."""

    def __init__(self, name: str, field: str):
        self.name, self.field, self.lines = name, field, {}  # type: dict[str, int]

    def add(self, item_id: str, line: int) -> None:
        if item_id in self.lines:
            raise DatasetError(_("duplicate id {id} (lines {first} and {line})").format(
                id=repr(item_id), first=self.lines[item_id], line=line),
                               file=self.name, line=line, field=self.field)
        self.lines[item_id] = line

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.lines


# whole sentences per kind of item, so a translator can word each (formed when raised, in the reader's language)
_DUPLICATE = {"document": lambda: _("duplicate document id {id} (items {first} and {position})"),
              "query": lambda: _("duplicate query id {id} (items {first} and {position})")}
_EMPTY = {"document": lambda: _("document {id} has empty text"),
          "query": lambda: _("query {id} has empty text")}


def build_dataset(name: str, documents: Iterable[Document], queries: Iterable[Query],
                  qrels: dict[str, dict[str, int]] | None = None, source: str = "") -> Dataset:
    """A Dataset whose ids are unique and whose judgments name only known documents and queries.

    The last gate for every loader and for code that assembles a dataset by hand (e.g. chunks
    from ``load_documents`` plus questions from a table): a run must never start on dangling ids.
    """
    documents, queries, qrels = list(documents), list(queries), dict(qrels or {})
    if not documents:
        raise DatasetError(_("the corpus has no documents"), file=source or None)
    for kind, items in (("document", documents), ("query", queries)):
        seen: dict[str, int] = {}
        for position, item in enumerate(items, start=1):
            if item.id in seen:
                raise DatasetError(_DUPLICATE[kind]().format(id=repr(item.id), first=seen[item.id],
                                                             position=position), file=source or None)
            seen[item.id] = position
            if not (item.text.strip() or (kind == "document" and item.title.strip())):
                raise DatasetError(_EMPTY[kind]().format(id=repr(item.id)), file=source or None)
    doc_ids, query_ids = {d.id for d in documents}, {q.id for q in queries}
    for query_id, judged in qrels.items():
        if query_id not in query_ids:
            raise DatasetError(_("judgments name unknown query {query}").format(query=repr(query_id)),
                               file=source or None,
                               field="qrels")
        for doc_id, grade in judged.items():
            if doc_id not in doc_ids:
                raise DatasetError(_("judgments for query {query} name unknown document {document}").format(
                    query=repr(query_id), document=repr(doc_id)), file=source or None, field="qrels")
            parse_grade(source or None, None, "qrels", grade)
    return Dataset(name=name, documents=documents, queries=queries, qrels=qrels, source=source)
