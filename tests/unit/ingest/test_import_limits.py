"""The import's limits (ingest/appeals/importer.py): a zip bomb, too many rows, columns or
characters are refused whole, by name and before anything is published; dead letters keep an
excerpt; good rows go out in batches; memory does not grow with the number of rows."""

import csv
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from ingest.appeals.importer import (
    BATCH,
    REPORTED_BAD_ROWS,
    ImportFileError,
    ImportLimits,
    ImportReport,
    import_file,
)
from kernel.bus.memory import RecordingPublisher
from kernel.bus.port import Outgoing
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import Channel
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from tests.factories import APPEAL_IMPORT_HEADER as HEADER
from tests.factories import appeal_source

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
IMPORT = appeal_source(Channel.IMPORT)
MiB = 1 << 20


class BatchRecorder(RecordingPublisher):
    """A publisher that pipelines, as KafkaTransport does: it counts the batches it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    async def publish_many(self, topic: Topic, messages: Sequence[Outgoing]) -> None:
        self.batches.append(len(messages))
        for key, payload in messages:
            await self.publish(topic, key, payload)


def write_csv(path: Path, rows: list[list[str]], header: Sequence[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, delimiter=";").writerows([list(header), *rows])
    return path


def good_rows(count: int, text: str = "Яма на дороге") -> list[list[str]]:
    return [[str(n), "01.09.2026", f"{text} {n}", "", ""] for n in range(1, count + 1)]


async def run(path: Path, limits: ImportLimits | None = None) -> tuple[ImportReport, BatchRecorder]:
    publisher = BatchRecorder()
    extra = {} if limits is None else {"limits": limits}
    report = await import_file(path, IMPORT, publisher, Metrics(), lambda: NOW, MOSCOW, **extra)
    return report, publisher


async def refused(path: Path, limits: ImportLimits | None = None) -> str:
    publisher = BatchRecorder()
    extra = {} if limits is None else {"limits": limits}
    with pytest.raises(ImportFileError) as caught:
        await import_file(path, IMPORT, publisher, Metrics(), lambda: NOW, MOSCOW, **extra)
    assert publisher.sent == []
    return str(caught.value)


def xlsx_with_sheet(path: Path, sheet_xml: bytes) -> Path:
    """A valid workbook whose first sheet is replaced by ``sheet_xml``."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(buffer)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for name in source.namelist():
            data = sheet_xml if name == "xl/worksheets/sheet1.xml" else source.read(name)
            bomb.writestr(name, data)
    return path


def sheet_of(rows: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
        '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f"{rows}</sheetData></worksheet>"
    ).encode()


async def test_a_zip_bomb_xlsx_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    cell = '<c t="inlineStr"><is><t>aaaaaaaaaaaaaaaa</t></is></c>'
    path = xlsx_with_sheet(tmp_path / "bomb.xlsx", sheet_of("<row>" + cell * 100_000 + "</row>"))
    assert path.stat().st_size < 100_000  # a few MB of cells in a few KB
    message = await refused(path)
    assert "bomb.xlsx: xl/worksheets/sheet1.xml сжат в" in message
    assert "больше 100 (похоже на zip-бомбу" in message


async def test_an_xlsx_unpacking_over_the_limit_is_refused(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for n in range(300):
        sheet.append([n, "01.09.2026", f"Текст {n} " * 20, None, None])
    path = tmp_path / "big.xlsx"
    workbook.save(path)
    assert (await run(path))[0].imported == 300
    message = await refused(path, ImportLimits(unpacked_bytes=64 * 1024))
    assert message == (
        "big.xlsx: XLSX распаковывается больше чем в 65536 байт (unpacked size too large)"
    )


async def test_an_xlsx_cell_far_to_the_right_is_refused_by_the_column_limit(
    tmp_path: Path,
) -> None:
    header = "".join(
        f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for col, name in zip("ABC", HEADER, strict=False)
    )
    far = '<row r="2"><c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>'
    path = xlsx_with_sheet(tmp_path / "wide.xlsx", sheet_of(f'<row r="1">{header}</row>{far}'))
    assert await refused(path) == "wide.xlsx, строка 2: больше 100 колонок (too many columns)"


async def test_rows_over_the_limit_refuse_the_file_and_publish_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "long.csv", good_rows(11))
    assert await refused(path, ImportLimits(rows=10)) == (
        "long.csv: больше 10 строк с обращениями (too many rows)"
    )
    assert (await run(path, ImportLimits(rows=11)))[0].imported == 11


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_a_cell_over_the_limit_is_named_with_its_row(tmp_path: Path, suffix: str) -> None:
    rows = [*good_rows(2), ["3", "01.09.2026", "я" * 5000, "", ""]]
    if suffix == ".csv":
        path = write_csv(tmp_path / f"cells{suffix}", rows)
    else:
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        for row in [HEADER, *rows]:
            sheet.append(row)
        path = tmp_path / f"cells{suffix}"
        workbook.save(path)
    message = await refused(path, ImportLimits(cell_chars=4096))
    assert message == f"cells{suffix}, строка 4: ячейка длиннее 4096 символов (cell too long)"


async def test_a_csv_line_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "line.csv"
    path.write_text(";".join(HEADER) + "\n" + ";" * 5000 + "\n", encoding="utf-8")
    message = await refused(path, ImportLimits(row_chars=4096))
    assert message == "line.csv: строка файла длиннее 4096 символов (line too long)"


async def test_a_csv_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "size.csv", good_rows(100))
    message = await refused(path, ImportLimits(csv_bytes=1024))
    assert message == "size.csv: CSV больше 1024 байт (file too large)"


async def test_a_bad_row_s_dead_letter_keeps_an_excerpt(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "huge.csv", [["1", "01.09.2026", "я" * 900_000, "x" * 900_000]])
    report, publisher = await run(path)
    assert report.bad_rows and report.bad_rows[0][0] == 2
    [letter] = [DeadLetter.model_validate_json(body) for body in publisher.on(Topic.DEAD_LETTERS)]
    values = json.loads(letter.payload)["values"]
    assert values["Текст обращения"] == "я" * 1000 + "… [900000 символов]"
    assert len(letter.payload) < 5000


async def test_good_rows_are_published_in_batches(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "many.csv", [*good_rows(5000), ["x", "", "", "", ""]])
    report, publisher = await run(path)
    assert report.imported == 5000 and report.bad_count == 1
    assert publisher.batches == [BATCH, BATCH, 5000 - 2 * BATCH, 1]  # the last: dead letters


async def test_the_report_lists_the_first_bad_rows_and_counts_them_all(tmp_path: Path) -> None:
    rows = [[str(n), "", "", "", ""] for n in range(REPORTED_BAD_ROWS + 500)]
    report, publisher = await run(write_csv(tmp_path / "bad.csv", rows))
    assert report.bad_count == REPORTED_BAD_ROWS + 500
    assert len(report.bad_rows) == REPORTED_BAD_ROWS
    assert len(publisher.on(Topic.DEAD_LETTERS)) == REPORTED_BAD_ROWS + 500


async def test_control_characters_of_a_header_are_shown_escaped(tmp_path: Path) -> None:
    header = ["Номер\x1b[2J", "Дата", "Текст\r\x07"]
    path = write_csv(tmp_path / "esc\x1b.csv", good_rows(1), header=header)
    message = await refused(path)
    assert "\x1b" not in message and "\x07" not in message and "\r" not in message
    assert "esc\\x1b.csv: нет обязательных колонок «Номер»" in message
    assert "в файле: Номер\\x1b[2J, Дата, Текст\\r\\x07" in message


MEASURE = """
import asyncio, sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo
from ingest.appeals.importer import import_file
from kernel.contracts.messages import Channel
from kernel.observability import Metrics
from tests.factories import appeal_source

class Discarding:
    async def publish(self, topic, key, payload):
        payload.model_dump_json()

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

async def main():
    source = appeal_source(Channel.IMPORT)
    now = datetime(2026, 9, 10, tzinfo=UTC)
    before = peak()
    report = await import_file(
        Path(sys.argv[1]), source, Discarding(), Metrics(), lambda: now, ZoneInfo("Europe/Moscow")
    )
    print(report.imported, len(report.bad_rows), peak() - before)

asyncio.run(main())
"""


def test_memory_does_not_grow_with_the_rows_imported(tmp_path: Path) -> None:
    """20,000 rows of 1,000 characters (about 40 MB of text held twice before, as rows and as
    messages): the import's peak resident memory grows by a few MB, whatever the row count."""
    path = write_csv(tmp_path / "rows.csv", good_rows(20_000, text="Не горит фонарь " * 60))
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[3],
    )
    imported, bad, growth = map(int, done.stdout.split())
    assert (imported, bad) == (20_000, 0)
    assert growth < 40 * MiB, f"peak resident memory grew by {growth / MiB:.0f} MiB"
