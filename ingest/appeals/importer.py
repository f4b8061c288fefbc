"""Import of a CSV or XLSX list of appeals (``otklik import FILE --source NAME``).

The whole file is read and checked first: a missing required column stops the import before
anything is published. Then every good row is published and every bad row is dead-lettered and
reported with its row number as the spreadsheet shows it (the header is row 1). Message ids come
from the source and the list's own number column, so importing the same file again (or a fixed
version of it) updates the same messages instead of duplicating them.
"""

import asyncio
import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ingest.domain.appeals import InvalidAppealError, normalise_appeal
from ingest.domain.sources import Source
from kernel.bus.delivery import make_dead_letter, send_dead_letter
from kernel.bus.port import Publisher
from kernel.contracts.messages import Channel, RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics

STAGE = "ingest"
REQUIRED = ("external_id", "text", "created_at")
OPTIONAL = ("author", "contact", "department")
Cell = object


class ImportFileError(ValueError):
    """The file cannot be imported at all (unreadable, wrong format, a required column missing)."""


@dataclass(frozen=True)
class Table:
    """The rows of a file: the header and each data row with its number in the spreadsheet."""

    name: str
    header: tuple[str, ...]
    rows: list[tuple[int, tuple[Cell, ...]]]


@dataclass(frozen=True)
class BadRow:
    row: int
    reason: str
    values: dict[str, str]


@dataclass
class ImportPlan:
    messages: list[RawMessage] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


@dataclass
class ImportReport:
    imported: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)


async def import_file(
    path: Path,
    source: Source,
    publisher: Publisher,
    metrics: Metrics,
    clock: Callable[[], datetime],
    zone: tzinfo,
) -> ImportReport:
    """Import ``path`` into ``source``; raises ImportFileError before publishing anything."""
    table = await asyncio.to_thread(read_table, path)
    plan = plan_import(table, source, received_at=clock(), zone=zone)
    return await publish_plan(plan, table.name, publisher, metrics)


def read_table(path: Path) -> Table:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise ImportFileError(f"{path.name}: поддерживаются файлы .csv и .xlsx (only .csv and .xlsx)")


def plan_import(table: Table, source: Source, *, received_at: datetime, zone: tzinfo) -> ImportPlan:
    """Which rows become messages and which are bad, and why; nothing is published here."""
    if source.kind != "appeal" or source.channel is not Channel.IMPORT:
        raise ImportFileError(f"{source.id}: не канал импорта (not an import channel)")
    columns = _column_positions(table, source)
    plan = ImportPlan()
    first_row: dict[str, int] = {}
    for number, cells in table.rows:
        record = {name: cells[index] for name, index in columns.items() if index < len(cells)}
        values = {table.header[i]: _shown(c) for i, c in enumerate(cells) if i < len(table.header)}
        try:
            message = normalise_appeal(record, source, received_at=received_at, zone=zone)
        except InvalidAppealError as error:
            header = table.header[columns[error.field]] if error.field in columns else error.field
            plan.bad.append(BadRow(number, f"«{header}»: {error.ru} ({error.en})", values))
            continue
        seen = first_row.setdefault(message.message_id, number)
        if seen != number:
            # Two rows with one number would overwrite each other downstream: keep the first.
            reason = f"номер обращения повторяет строку {seen} (duplicate id of row {seen})"
            plan.bad.append(BadRow(number, reason, values))
            continue
        plan.messages.append(message)
    return plan


async def publish_plan(
    plan: ImportPlan, file_name: str, publisher: Publisher, metrics: Metrics
) -> ImportReport:
    report = ImportReport()
    for message in plan.messages:
        await publisher.publish(Topic.RAW_MESSAGES, message.thread_key, message)
        metrics.ingested.labels(source_kind=message.source_kind.value).inc()
        report.imported += 1
    for bad in plan.bad:
        body = json.dumps(
            {"file": file_name, "row": bad.row, "values": bad.values}, ensure_ascii=False
        )
        reason = f"{file_name}, строка {bad.row}: {bad.reason}"
        await send_dead_letter(
            publisher, metrics, make_dead_letter(STAGE, None, body.encode(), reason)
        )
        report.bad_rows.append((bad.row, bad.reason))
    return report


def _column_positions(table: Table, source: Source) -> dict[str, int]:
    """Record field -> column index, from the source's column mapping (headers match loosely)."""
    positions = {
        header.strip().casefold(): i for i, header in reversed(list(enumerate(table.header)))
    }
    mapping = source.columns.model_dump()
    found: dict[str, int] = {}
    missing = []
    for name in REQUIRED + OPTIONAL:
        header = mapping.get(name)
        if header is None:
            continue
        index = positions.get(str(header).strip().casefold())
        if index is not None:
            found[name] = index
        elif name in REQUIRED:
            missing.append(f"«{header}»")
    if missing:
        raise ImportFileError(
            f"{table.name}: нет обязательных колонок {', '.join(missing)}; "
            f"в файле: {', '.join(table.header) or 'пусто'} (required columns missing)"
        )
    return found


def _shown(cell: Cell) -> str:
    return "" if cell is None else cell.isoformat() if isinstance(cell, datetime) else str(cell)


def _read_csv(path: Path) -> Table:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFileError(f"{path.name}: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251", errors="replace")  # Excel's "CSV" in Russian Windows
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    # The csv module refuses a field over 128 KiB and with it the whole file; the file is in
    # memory anyway, so an over-long cell becomes one bad row ("longer than ...") instead.
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ImportFileError(f"{path.name}: не CSV ({error})") from error
    return _table(path.name, enumerate(rows, start=1))


def _read_xlsx(path: Path) -> Table:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ImportFileError(f"{path.name}: не удалось открыть как XLSX ({error})") from error
    except Exception as error:  # damaged inside: see _read_sheet
        raise ImportFileError(f"{path.name}: файл XLSX повреждён ({error!r})") from error
    try:
        return _read_sheet(path.name, workbook)
    finally:
        workbook.close()


def _read_sheet(name: str, workbook: Any) -> Table:
    """A damaged XLSX fails in whatever layer meets the damage first (zlib, the XML parser,
    openpyxl's own classes: ParseError, zlib.error, TypeError, IndexError, ...); any of them
    means the file cannot be read, and the whole file is refused before anything is published."""
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # exporters often write a wrong size; read what is there
        return _table(name, enumerate(sheet.iter_rows(values_only=True), start=1))
    except ImportFileError:
        raise
    except Exception as error:
        raise ImportFileError(f"{name}: файл XLSX повреждён ({error!r})") from error


def _table(name: str, numbered: Iterator[tuple[int, Sequence[Cell]]]) -> Table:
    """The first non-empty row is the header; empty rows are skipped, numbers kept as shown."""
    header: tuple[str, ...] | None = None
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    for number, raw in numbered:
        cells = tuple(_cell(value) for value in raw)
        if all(cell is None for cell in cells):
            continue
        if header is None:
            header = tuple("" if cell is None else str(cell).strip() for cell in cells)
        else:
            rows.append((number, cells))
    if header is None:
        raise ImportFileError(f"{name}: файл пуст (empty file)")
    return Table(name, header, rows)


def _cell(value: object) -> Cell:
    """Spreadsheet values as the domain reads them: blanks are None, numbers are text (an XLSX
    number column gives 17.0 for appeal number 17, which must read "17")."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value
