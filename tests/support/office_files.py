"""Real Office files for tests, written with the libraries people's files come from: .xlsx with
XlsxWriter (formulas carry their saved value, as Excel saves them), .xls with xlwt, .docx with
python-docx, password-protected copies with msoffcrypto-tool (Office's own agile encryption).

Usage:
    data = xlsx({"Docs": [["id", "text"], [101, "Java"]]}, merges={"Docs": ["B1:C1"]})
    data = xls({"Corpus": [["id", "text"], [1, "Java"]]})
    data = word([("Heading 1", "Install"), ("", "Run it.")])
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any


class Formula(str):
    """A cell formula with the value Excel saved for it: ``Formula('="a"&"b"', "ab")``."""

    def __new__(cls, formula: str, value: Any):
        self = super().__new__(cls, formula)
        self.value = value
        return self


def xlsx(sheets: dict[str, list[list[Any]]], merges: dict[str, list[str]] | None = None) -> bytes:
    """A workbook: sheet name -> rows (None = blank cell); ``merges`` lists merged ranges per sheet."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, Formula):
                    sheet.write_formula(r, c, str(value), None, value.value)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
                elif value is not None:
                    sheet.write(r, c, value)
        for cells in (merges or {}).get(name, []):
            value = _value_at(rows, cells.split(":")[0])
            sheet.merge_range(cells, "" if value is None else value)
    book.close()
    return buffer.getvalue()


def _value_at(rows: list[list[Any]], cell: str) -> Any:
    col = ord(cell[0]) - ord("A")
    row = int(cell[1:]) - 1
    return rows[row][col] if row < len(rows) and col < len(rows[row]) else None


def xls(sheets: dict[str, list[list[Any]]]) -> bytes:
    """An Excel 97-2003 workbook (BIFF8), as old exports still arrive."""
    import xlwt

    book = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def word(blocks: list[tuple[str, Any]]) -> bytes:
    """A .docx: (style, text) paragraphs ("Heading 1", "List Bullet", "" for body), or ("table", rows)."""
    import docx

    document = docx.Document()
    for style, content in blocks:
        if style == "table":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for r, row in enumerate(content):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
        else:
            document.add_paragraph(content, style=style or None)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def encrypted(data: bytes, password: str = "secret") -> bytes:
    """The same .xlsx/.docx, password-protected as Office does it."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()
