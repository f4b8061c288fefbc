"""Fuzzing the appeal channels: records, e-mails, CSV and XLSX lists.

Property: a record or an e-mail is a message or ``InvalidAppealError``; a list is a plan (good
rows published, bad rows dead-lettered with their numbers) or ``ImportFileError`` before anything
is published. Nothing else is raised, every e-mail is read in bounded time, and every record
published (dead letters too) fits one Kafka record.
"""

import csv
import io
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from ingest.appeals.importer import (
    ImportFileError,
    check_table,
    import_file,
    open_table,
    publish_table,
)
from ingest.domain.appeals import InvalidAppealError, normalise_appeal
from ingest.domain.mail import email_record
from ingest.domain.sources import ImapConfig
from kernel.contracts.messages import Channel, RawMessage
from kernel.observability import Metrics
from tests.factories import APPEAL_IMPORT_HEADER, appeal_source
from tests.unit.fuzz.inputs import (
    KAFKA_MAX_BYTES,
    MEGABYTE,
    Deep,
    KafkaSizedPublisher,
    big_text,
    built,
    hostile_values,
    nasty_text,
)

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
WEB = appeal_source(Channel.WEB)
IMPORT = appeal_source(Channel.IMPORT)
EMAIL = appeal_source(
    Channel.EMAIL, id="appeal:mail", imap=ImapConfig(host="127.0.0.1", user="u", password="p")
)
FIELDS = ("external_id", "text", "created_at", "author", "contact", "department", "attachments")
# Reading one e-mail of up to a megabyte: seconds at most, on a loaded machine. Before the
# header cap a 1 MB Subject took two minutes.
MAIL_SECONDS = 15.0


def assert_publishable(message: RawMessage) -> None:
    encoded = message.model_dump_json()
    assert len(encoded.encode()) <= KAFKA_MAX_BYTES  # and no unpaired surrogate, or this raises
    assert "\\u0000" not in encoded  # PostgreSQL text refuses NUL


records = st.dictionaries(
    st.sampled_from((*FIELDS, "thread", "reply_to")) | nasty_text,
    hostile_values | st.just(big_text()),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(record=records, source=st.sampled_from([WEB, IMPORT, EMAIL]))
@example(record={"external_id": "1", "text": "a\ud800b"}, source=WEB)
@example(record={"external_id": 10**5000, "text": "t"}, source=WEB)
@example(record={"external_id": "1", "text": "t", "attachments": Deep()}, source=WEB)
def test_any_record_is_a_message_or_invalid_appeal_error(
    record: dict[Any, Any], source: Any
) -> None:
    record = {key: built(value) for key, value in record.items()}
    try:
        message = normalise_appeal(record, source, received_at=NOW, zone=MOSCOW)
    except InvalidAppealError as error:
        assert error.field and error.ru and error.en
        return
    assert_publishable(message)


def _header(name: str, value: str) -> bytes:
    # Whatever the value holds goes on the wire, unpaired surrogates as the bytes they'd be.
    return name.encode() + b": " + value.encode("utf-8", "surrogatepass") + b"\r\n"


HEADER_NAMES = ("From", "Subject", "Message-ID", "Date", "References", "In-Reply-To",
                "Content-Type", "Content-Transfer-Encoding", "Content-Disposition")  # fmt: skip
header_values = nasty_text | st.sampled_from(
    [
        "=?utf-8?b?0Y8=?= " * 50,
        "=?x-unknown?q?=FF?=",
        "multipart/mixed; boundary=b",
        "message/rfc822",
        "text/html; charset=koi8-r",
        "text/plain; charset=utf-99",
        "base64",
        "quoted-printable",
        "attachment; filename*=utf-8''%FF%FE",
        "<" * 300,
        "Tue, 01 Sep 9999 10:00:00 +9999",
    ]
)
bodies = st.binary(max_size=200) | st.sampled_from(
    [
        b"<p>" * 200 + b"<script>" + b"a" * 100,
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n",
        b"=?utf-8?q?=00?=\x00\xff",
        b"QUFB\r\n" * 50,
    ]
)


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_values), max_size=8))
    return b"".join(_header(name, value) for name, value in headers) + b"\r\n" + draw(bodies)


def nested_rfc822(depth: int) -> bytes:
    return b"Content-Type: message/rfc822\r\n\r\n" * depth + b"Subject: x\r\n\r\nbody"


@settings(max_examples=80, deadline=None)
@given(raw=mails() | st.binary(max_size=300))
@example(raw=b"Subject: " + b"a " * (MEGABYTE // 2) + b"\r\n\r\nbody")  # 2 minutes before
@example(raw=b"Subject: " + b"=?utf-8?b?0Y8=?= " * 60_000 + b"\r\n\r\nbody")  # out of memory
@example(raw=nested_rfc822(3_000))  # RecursionError
@example(raw=b"Content-Type: text/html\r\n\r\n" + b"<p>a</p>" * 20_000)
@example(raw=b"Subject: x\r\n\r\n" + "я\x00\r\n".encode() * (MEGABYTE // 5))
def test_any_mail_is_read_in_bounded_time_as_a_message_or_invalid_appeal_error(
    raw: bytes,
) -> None:
    started = time.monotonic()
    try:
        record = email_record(raw, received_at=NOW)
        message = normalise_appeal(record, EMAIL, received_at=NOW, zone=MOSCOW)
    except InvalidAppealError as error:
        assert error.field
    else:
        assert_publishable(message)
    assert time.monotonic() - started < MAIL_SECONDS


# --- CSV and XLSX lists ---------------------------------------------------------------------------

GOOD_TEXT = st.text(
    alphabet=st.sampled_from("абвгдеёжзя ABCxyz0123456789 ;,\t\"'\n.!?-"), min_size=1, max_size=40
).map(lambda text: "Обращение " + text)
# Each way a row goes bad: (column, value); "duplicate" repeats the first good row's number.
# A spreadsheet cell holds neither control characters nor more than 32,767 characters.
BAD_XLSX_CELLS = [
    ("Текст обращения", ""),
    ("Текст обращения", big_text("я", 40_000)),
    ("Дата", "31.02.2026"),
    ("Дата", "вчера"),
    ("Дата", "01.01.1900"),
    ("Дата", "01.01.2099"),
    ("Дата", ""),
    ("Номер", ""),
    ("Номер", "duplicate"),
    ("Заявитель", "x" * 600),
]
BAD_CSV_CELLS = [
    *BAD_XLSX_CELLS,
    ("Текст обращения", "нет\x00воды"),
    ("Текст обращения", big_text("я", MEGABYTE)),
    ("Номер", "A\x01"),
]
Listed = tuple[list[list[Any]], list[str], list[int]]


@st.composite
def appeal_lists(draw: st.DrawFn, bad_cells: list[tuple[str, str]]) -> Listed:
    """Rows under the header, the ids of the good ones in order, the numbers of the bad ones."""
    rows: list[list[Any]] = []
    good: list[str] = []
    bad: list[int] = []
    for index in range(draw(st.integers(min_value=0, max_value=8))):
        number = f"{index + 1}{draw(st.sampled_from(['', '-A', '/2026']))}"
        row = {"Номер": number, "Дата": "01.09.2026 10:00", "Текст обращения": draw(GOOD_TEXT),
               "Заявитель": draw(st.sampled_from(["", "Иван Петров"])), "Контакт": ""}  # fmt: skip
        spoilt = draw(st.booleans())
        if good and spoilt:
            column, value = draw(st.sampled_from(bad_cells))
            row[column] = good[0] if value == "duplicate" else value
            bad.append(index + 2)  # the header is row 1
        else:
            good.append(number)
        rows.append([row[name] for name in APPEAL_IMPORT_HEADER])
    return rows, good, bad


async def check_import(path: Path, good: list[str], bad: list[int]) -> None:
    publisher = KafkaSizedPublisher()
    report = await import_file(path, IMPORT, publisher, Metrics(), lambda: NOW, MOSCOW)
    assert [m.message_id for m in publisher.messages()] == [
        f"appeal:import:appeal:import:{number}" for number in good
    ]
    assert [row for row, _ in report.bad_rows] == bad
    assert [letter.reason.split(":", 1)[0] for letter in publisher.letters()] == [
        f"{path.name}, строка {row}" for row in bad
    ]
    for message in publisher.messages():
        assert_publishable(message)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(listed=appeal_lists(BAD_CSV_CELLS), delimiter=st.sampled_from([";", ",", "\t"]))
async def test_a_csv_imports_every_good_row_next_to_bad_ones(
    tmp_path: Path, listed: Listed, delimiter: str
) -> None:
    rows, good, bad = listed
    path = tmp_path / "appeals.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        csv.writer(file, delimiter=delimiter).writerows([APPEAL_IMPORT_HEADER, *rows])
    await check_import(path, good, bad)


def _xlsx_cell(value: str, as_number: bool) -> object:
    """A cell as a spreadsheet holds it: blank, a number (a whole number reads 1.0), text."""
    if not value:
        return None
    return float(value) if as_number and value.isdigit() else value


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(listed=appeal_lists(BAD_XLSX_CELLS), as_number=st.booleans())
async def test_an_xlsx_imports_every_good_row_next_to_bad_ones(
    tmp_path: Path, listed: Listed, as_number: bool
) -> None:
    rows, good, bad = listed
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(APPEAL_IMPORT_HEADER)
    for row in rows:
        sheet.append([_xlsx_cell(cell, as_number) for cell in row])
    path = tmp_path / "appeals.xlsx"
    workbook.save(path)
    await check_import(path, good, bad)


def _valid_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(APPEAL_IMPORT_HEADER)
    sheet.append([1, datetime(2026, 9, 1, 10, 0), "Яма", "Иван", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


VALID_XLSX = _valid_xlsx()
ENTRIES = zipfile.ZipFile(io.BytesIO(VALID_XLSX)).namelist()


@st.composite
def damaged_xlsx(draw: st.DrawFn) -> bytes:
    """A valid workbook with one entry damaged (bytes changed, cut or inserted) or the zip
    itself damaged."""
    if draw(st.booleans()):
        flipped = bytearray(VALID_XLSX)
        for _ in range(draw(st.integers(min_value=1, max_value=8))):
            flipped[draw(st.integers(min_value=0, max_value=len(flipped) - 1))] = draw(
                st.integers(0, 255)
            )
        return bytes(flipped)
    target = draw(st.sampled_from(ENTRIES))
    source = zipfile.ZipFile(io.BytesIO(VALID_XLSX))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as damaged:
        for name in ENTRIES:
            data = source.read(name)
            if name == target:
                at = draw(st.integers(min_value=0, max_value=len(data)))
                cut = draw(st.integers(min_value=0, max_value=20))
                insert = draw(
                    st.binary(max_size=8)
                    | st.sampled_from([b"<", b"&#0;", b"<c r='A1' t='d'><v>x</v></c>", b"9" * 400])
                )
                data = data[:at] + insert + data[at + cut :]
            damaged.writestr(name, data)
    return output.getvalue()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=damaged_xlsx())
@example(content=VALID_XLSX[: len(VALID_XLSX) // 2])
async def test_a_damaged_xlsx_is_read_or_refused_whole(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(content)
    await read_and_plan(path)


async def read_and_plan(path: Path) -> None:
    try:
        table = open_table(path)
        checked = check_table(table, IMPORT, NOW, MOSCOW)
    except ImportFileError as error:
        assert path.name in str(error)
        return
    publisher = KafkaSizedPublisher()
    report = await publish_table(table, IMPORT, checked, publisher, Metrics(), NOW, MOSCOW)
    assert report.imported + report.bad_count == checked.rows


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=400), header=st.booleans())
@example(content=b"1;01.09.2026;" + "я".encode() * (MEGABYTE // 2), header=True)
@example(content=b'1;01.09.2026;"unbalanced\n2;01.09.2026;b', header=True)
@example(content=b"\x00;\xff\xfe;\xed\xa0\x80\n" * 50, header=True)
async def test_any_csv_bytes_are_imported_or_refused_whole(
    tmp_path: Path, content: bytes, header: bool
) -> None:
    path = tmp_path / "appeals.csv"
    first = ";".join(APPEAL_IMPORT_HEADER).encode() + b"\n" if header else b""
    path.write_bytes(first + content)
    await read_and_plan(path)


@pytest.mark.parametrize("size", [MEGABYTE])
async def test_a_megabyte_cell_is_one_bad_row_and_the_rest_of_the_csv_imports(
    tmp_path: Path, size: int
) -> None:
    path = tmp_path / "appeals.csv"
    rows = [
        ["1", "01.09.2026", "Яма"],
        ["2", "01.09.2026", "я" * size],
        ["3", "01.09.2026", "Мусор"],
    ]
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, delimiter=";").writerows([APPEAL_IMPORT_HEADER[:3], *rows])
    await check_import(path, ["1", "3"], [3])
