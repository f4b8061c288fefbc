"""Import of a CSV or XLSX list of appeals (``otklik import FILE --source NAME``).

The file is read as a stream, twice. The first pass checks it whole without keeping its rows: a
missing required column, a damaged file or one over a limit (``ImportLimits``) stops the import
before anything is published. The second pass publishes every good row in pipelined batches and
dead-letters every bad row, reported with its row number as the spreadsheet shows it (the header
is row 1). Message ids come from the source and the list's own number column, so importing the
same file again (or a fixed version of it) updates the same messages instead of duplicating them.

Memory stays bounded whatever the file: an XLSX is a zip whose declared and real unpacked sizes
and compression ratio are checked before it is parsed (a 0.5 MB zip bomb took the import to
3.7 GiB), its sheet is iterated row by row; a CSV is read line by line; a dead letter keeps an
excerpt of the row. Only openpyxl's table of an XLSX's shared strings is held whole (at most
the unpacked limit).
"""

import asyncio
import codecs
import csv
import itertools
import json
import logging
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ingest.domain.appeals import InvalidAppealError, normalise_appeal
from ingest.domain.sources import Source
from kernel.bus.delivery import make_dead_letter
from kernel.bus.port import Outgoing, Publisher, publish_many
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import Channel, RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics

log = logging.getLogger(__name__)

STAGE = "ingest"
REQUIRED = ("external_id", "text", "created_at")
OPTIONAL = ("author", "contact", "department")
MiB = 1 << 20
BATCH = 2000  # messages handed to the producer before awaiting their acknowledgements
YIELD_EVERY = 100  # rows read between two turns of the event loop (the producer's sender)
EXCERPT_CHARS = 1000  # of each cell in a bad row's dead letter
REPORTED_BAD_ROWS = 1000  # bad rows listed in the report (all are dead-lettered and counted)
Cell = object
Numbered = Iterator[tuple[int, Sequence[Cell]]]


@dataclass(frozen=True)
class ImportLimits:
    """What an imported file may hold; over any of them the file is refused whole, by name.

    A list of 2,000,000 appeals of a few hundred characters each fits them; a cell longer than
    the domain's longest text (20,000 characters) is a bad row, not a refused file, up to
    ``cell_chars``."""

    csv_bytes: int = 2048 * MiB  # read as a stream: it bounds time, not memory
    # The sum of an XLSX's unpacked entries: openpyxl holds the shared strings whole.
    unpacked_bytes: int = 256 * MiB
    compression_ratio: int = 100  # of an XLSX entry unpacking to over 1 MiB
    zip_entries: int = 1000
    rows: int = 2_000_000  # data rows, not counting empty ones
    columns: int = 100
    cell_chars: int = MiB
    row_chars: int = 2 * MiB  # a CSV line; all the cells of a row


LIMITS = ImportLimits()


class ImportFileError(ValueError):
    """The file cannot be imported at all (unreadable, wrong format, a required column missing,
    over a limit)."""


@dataclass(frozen=True)
class Table:
    """A file's header and a way to read its data rows (anew on every call, as a stream)."""

    name: str  # the file's name, control characters escaped
    header: tuple[str, ...]
    header_row: int
    read: Callable[[], Numbered]
    limits: ImportLimits

    def rows(self) -> Iterator[tuple[int, tuple[Cell, ...]]]:
        """The data rows with their numbers; a limit crossed raises ImportFileError."""
        count = 0
        for number, raw in self.read():
            if number <= self.header_row:
                continue
            cells = _row_cells(raw)
            if not cells:
                continue
            count += 1
            if count > self.limits.rows:
                raise ImportFileError(
                    f"{self.name}: больше {self.limits.rows} строк с обращениями (too many rows)"
                )
            _check_row(self.name, number, cells, self.limits)
            yield number, cells


@dataclass(frozen=True)
class Checked:
    """What the first pass learned: rows to publish, and the hashes of message ids met more
    than once (only rows with those are compared exactly in the second pass)."""

    rows: int
    repeated: frozenset[int]


@dataclass
class ImportReport:
    imported: int = 0
    bad_count: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)  # the first REPORTED_BAD_ROWS


async def import_file(
    path: Path,
    source: Source,
    publisher: Publisher,
    metrics: Metrics,
    clock: Callable[[], datetime],
    zone: tzinfo,
    limits: ImportLimits = LIMITS,
) -> ImportReport:
    """Import ``path`` into ``source``; raises ImportFileError before publishing anything."""
    received_at = clock()
    table = await asyncio.to_thread(open_table, path, limits)
    checked = await asyncio.to_thread(check_table, table, source, received_at, zone)
    return await publish_table(table, source, checked, publisher, metrics, received_at, zone)


def open_table(path: Path, limits: ImportLimits = LIMITS) -> Table:
    """The file's header, after checking what can be checked before parsing it."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_table(path, limits)
    if suffix == ".xlsx":
        return _xlsx_table(path, limits)
    raise ImportFileError(
        f"{printable(path.name)}: поддерживаются файлы .csv и .xlsx (only .csv and .xlsx)"
    )


def check_table(table: Table, source: Source, received_at: datetime, zone: tzinfo) -> Checked:
    """The first pass: the whole file read and every row normalised, nothing kept but a hash
    of each good row's message id."""
    hashes = array("q")
    rows = 0
    for row in _planned(table, source, received_at, zone):
        rows += 1
        if row.message is not None:
            hashes.append(hash(row.message.message_id))
    ordered = sorted(hashes)
    del hashes
    repeated = frozenset(a for a, b in itertools.pairwise(ordered) if a == b)
    return Checked(rows, repeated)


async def publish_table(
    table: Table,
    source: Source,
    checked: Checked,
    publisher: Publisher,
    metrics: Metrics,
    received_at: datetime,
    zone: tzinfo,
) -> ImportReport:
    """The second pass: good rows published in batches, bad rows dead-lettered with an excerpt.
    A batch's acknowledgements are awaited while the next batch is read (one in flight)."""
    report = ImportReport()
    first_row: dict[str, int] = {}  # only for ids whose hash was met twice
    messages: list[Outgoing] = []
    letters: list[DeadLetter] = []
    in_flight = _InFlight(publisher, metrics)
    try:
        for row in _planned(table, source, received_at, zone):
            message, reason = row.message, row.reason
            if message is not None and hash(message.message_id) in checked.repeated:
                seen = first_row.setdefault(message.message_id, row.number)
                if seen != row.number:
                    # Two rows with one number would overwrite each other downstream: keep the
                    # first.
                    message = None
                    reason = f"номер обращения повторяет строку {seen} (duplicate id of row {seen})"
            if message is not None:
                messages.append((message.thread_key, message))
            else:
                letters.append(_dead_letter(table, row.number, reason, row.cells))
                report.bad_count += 1
                if len(report.bad_rows) < REPORTED_BAD_ROWS:
                    report.bad_rows.append((row.number, reason))
            if len(messages) >= BATCH or len(letters) >= BATCH:
                await in_flight.send(messages, letters)
            elif row.number % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the producer sends and reads acknowledgements meanwhile
        await in_flight.send(messages, letters)
        await in_flight.wait()
    finally:
        in_flight.cancel()
    report.imported = in_flight.published
    if report.bad_count:
        log.warning("%s: %d bad rows dead-lettered", table.name, report.bad_count)
    return report


class _InFlight:
    """The batch whose acknowledgements are awaited while the next one is read."""

    def __init__(self, publisher: Publisher, metrics: Metrics) -> None:
        self._publisher, self._metrics = publisher, metrics
        self._task: asyncio.Task[int] | None = None
        self.published = 0

    async def send(self, messages: list[Outgoing], letters: list[DeadLetter]) -> None:
        """Hand both lists over (they are emptied) once the previous batch is acknowledged: a
        batch's records are all with the producer before the next one's, so order holds."""
        await self.wait()
        batch = _flush(self._publisher, self._metrics, list(messages), list(letters))
        self._task = asyncio.create_task(batch)
        messages.clear()
        letters.clear()
        await asyncio.sleep(0)  # its records go to the producer now, not after the next batch

    async def wait(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            self.published += await task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


@dataclass(frozen=True)
class _Row:
    number: int
    cells: tuple[Cell, ...]
    message: RawMessage | None
    reason: str = ""


def _planned(table: Table, source: Source, received_at: datetime, zone: tzinfo) -> Iterator[_Row]:
    """Every data row as a message or, if it cannot be one, the reason why."""
    if source.kind != "appeal" or source.channel is not Channel.IMPORT:
        raise ImportFileError(f"{source.id}: не канал импорта (not an import channel)")
    columns = _column_positions(table, source)
    shown = {name: printable(table.header[index]) for name, index in columns.items()}
    for number, cells in table.rows():
        record = {name: cells[index] for name, index in columns.items() if index < len(cells)}
        try:
            message = normalise_appeal(record, source, received_at=received_at, zone=zone)
        except InvalidAppealError as error:
            header = shown.get(error.field, error.field)
            yield _Row(number, cells, None, f"«{header}»: {error.ru} ({error.en})")
            continue
        yield _Row(number, cells, message)


async def _flush(
    publisher: Publisher, metrics: Metrics, messages: list[Outgoing], letters: list[DeadLetter]
) -> int:
    """Publish both lists; the number of messages published."""
    published = len(messages)
    if messages:
        await publish_many(publisher, Topic.RAW_MESSAGES, messages)
        for _, message in messages:
            assert isinstance(message, RawMessage)
            metrics.ingested.labels(source_kind=message.source_kind.value).inc()
    if letters:
        await publish_many(
            publisher, Topic.DEAD_LETTERS, [(letter.dead_letter_id, letter) for letter in letters]
        )
        metrics.dead_letters.labels(stage=STAGE).inc(len(letters))
    return published


def _dead_letter(table: Table, number: int, reason: str, cells: tuple[Cell, ...]) -> DeadLetter:
    """The row as the file holds it, each cell cut to an excerpt: a dead letter stays small
    whatever the row (a 2 MB zip bomb's row once ended in a MemoryError in json.dumps)."""
    values = {
        _excerpt(table.header[i]) if i < len(table.header) else f"#{i + 1}": _excerpt(_shown(c))
        for i, c in enumerate(cells)
    }
    body = json.dumps({"file": table.name, "row": number, "values": values}, ensure_ascii=False)
    return make_dead_letter(STAGE, None, body.encode(), f"{table.name}, строка {number}: {reason}")


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    return f"{text[:EXCERPT_CHARS]}… [{len(text)} символов]"


def printable(text: str) -> str:
    """Control characters as Python's repr writes them: a header or a file name is shown on the
    operator's terminal, where a raw escape sequence would act instead of being seen."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


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
        present = ", ".join(printable(header) for header in table.header) or "пусто"
        raise ImportFileError(
            f"{table.name}: нет обязательных колонок {', '.join(missing)}; "
            f"в файле: {present} (required columns missing)"
        )
    return found


def _shown(cell: Cell) -> str:
    return "" if cell is None else cell.isoformat() if isinstance(cell, datetime) else str(cell)


def _row_cells(raw: Sequence[Cell]) -> tuple[Cell, ...]:
    """The row's cells as the domain reads them, without the blank ones at its end (an empty
    row is empty)."""
    cells = [_cell(value) for value in raw]
    while cells and cells[-1] is None:
        cells.pop()
    return tuple(cells)


def _check_row(name: str, number: int, cells: tuple[Cell, ...], limits: ImportLimits) -> None:
    if len(cells) > limits.columns:
        raise ImportFileError(
            f"{name}, строка {number}: больше {limits.columns} колонок (too many columns)"
        )
    total = 0
    for cell in cells:
        length = len(cell) if isinstance(cell, str) else 0
        if length > limits.cell_chars:
            raise ImportFileError(
                f"{name}, строка {number}: ячейка длиннее {limits.cell_chars} символов "
                "(cell too long)"
            )
        total += length
    if total > limits.row_chars:
        raise ImportFileError(
            f"{name}, строка {number}: строка длиннее {limits.row_chars} символов (row too long)"
        )


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


def _header(
    name: str, numbered: Iterable[tuple[int, Sequence[Cell]]]
) -> tuple[int, tuple[str, ...]]:
    """The first non-empty row: (its number, its cells as text)."""
    for number, raw in numbered:
        cells = _row_cells(raw)
        if cells:
            return number, tuple("" if cell is None else str(cell).strip() for cell in cells)
    raise ImportFileError(f"{name}: файл пуст (empty file)")


# --- CSV ---


def _csv_table(path: Path, limits: ImportLimits) -> Table:
    name = printable(path.name)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImportFileError(f"{name}: {error.strerror or error}") from error
    if size > limits.csv_bytes:
        raise _too_large(name, limits)
    encoding = _csv_encoding(path, name, limits)
    with path.open(encoding=encoding, errors="replace", newline="") as file:
        first_line = file.readline(limits.row_chars)
    delimiter = max((";", ",", "\t"), key=first_line.count)

    def read() -> Numbered:
        return _csv_rows(path, name, encoding, delimiter, limits)

    header_row, header = _header(name, _limited_header(name, read(), limits))
    return Table(name, header, header_row, read, limits)


def _limited_header(name: str, numbered: Numbered, limits: ImportLimits) -> Numbered:
    for number, raw in numbered:
        _check_row(name, number, _row_cells(raw), limits)
        yield number, raw


def _csv_encoding(path: Path, name: str, limits: ImportLimits) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as it, else cp1251 (Excel's "CSV"
    in Russian Windows); read in chunks, counting bytes (the file may grow while it is read)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    read = 0
    with path.open("rb") as file:
        while chunk := file.read(MiB):
            read += len(chunk)
            if read > limits.csv_bytes:
                raise _too_large(name, limits)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return "cp1251"
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8-sig"


def _csv_rows(
    path: Path, name: str, encoding: str, delimiter: str, limits: ImportLimits
) -> Numbered:
    # The csv module's limit is the process's; every read sets it to this file's limit. A field
    # over it is an error of the reader, raised as the cell limit.
    csv.field_size_limit(limits.cell_chars)
    with path.open(encoding=encoding, errors="replace", newline="") as file:
        reader = csv.reader(_lines(file, name, limits), delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except csv.Error as error:
            if "field limit" in str(error):
                raise ImportFileError(
                    f"{name}, строка {number + 1}: ячейка длиннее {limits.cell_chars} символов "
                    "(cell too long)"
                ) from error
            raise ImportFileError(f"{name}, строка {number + 1}: не CSV ({error})") from error


def _lines(file: TextIO, name: str, limits: ImportLimits) -> Iterator[str]:
    """The file's lines, none longer than a row may be, and no more characters in all than the
    file may hold."""
    total = 0
    while line := file.readline(limits.row_chars + 1):
        if len(line) > limits.row_chars:
            raise ImportFileError(
                f"{name}: строка файла длиннее {limits.row_chars} символов (line too long)"
            )
        total += len(line)
        if total > limits.csv_bytes:
            raise _too_large(name, limits)
        yield line


def _too_large(name: str, limits: ImportLimits) -> ImportFileError:
    return ImportFileError(f"{name}: CSV больше {limits.csv_bytes} байт (file too large)")


# --- XLSX ---


def _xlsx_table(path: Path, limits: ImportLimits) -> Table:
    name = printable(path.name)
    _check_zip(path, name, limits)

    def read() -> Numbered:
        return _xlsx_rows(path, name)

    header_row, header = _header(name, _limited_header(name, read(), limits))
    return Table(name, header, header_row, read, limits)


def _check_zip(path: Path, name: str, limits: ImportLimits) -> None:
    """Before openpyxl parses anything: the zip's declared unpacked sizes and compression
    ratios, then what its entries really unpack to, counted in chunks (a header can lie)."""
    try:
        size = path.stat().st_size
        if size > limits.unpacked_bytes:
            raise _too_much_unpacked(name, limits)
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            _check_declared(name, entries, limits)
            unpacked = 0
            for entry in entries:
                with archive.open(entry) as stream:
                    while chunk := stream.read(MiB):
                        unpacked += len(chunk)
                        if unpacked > limits.unpacked_bytes:
                            raise _too_much_unpacked(name, limits)
    except ImportFileError:
        raise
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise ImportFileError(f"{name}: не удалось открыть как XLSX ({error})") from error
    except Exception as error:  # zlib.error, NotImplementedError of an odd compression, ...
        raise ImportFileError(f"{name}: файл XLSX повреждён ({error!r})") from error


def _check_declared(name: str, entries: list[zipfile.ZipInfo], limits: ImportLimits) -> None:
    if len(entries) > limits.zip_entries:
        raise ImportFileError(
            f"{name}: в архиве XLSX больше {limits.zip_entries} файлов (too many zip entries)"
        )
    if sum(entry.file_size for entry in entries) > limits.unpacked_bytes:
        raise _too_much_unpacked(name, limits)
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > MiB and ratio > limits.compression_ratio:
            raise ImportFileError(
                f"{name}: {printable(entry.filename)} сжат в {ratio:.0f} раз, больше "
                f"{limits.compression_ratio} (похоже на zip-бомбу; compression ratio too high)"
            )


def _too_much_unpacked(name: str, limits: ImportLimits) -> ImportFileError:
    return ImportFileError(
        f"{name}: XLSX распаковывается больше чем в {limits.unpacked_bytes} байт "
        "(unpacked size too large)"
    )


def _xlsx_rows(path: Path, name: str) -> Numbered:
    """The first sheet's rows, iterated (openpyxl read_only). A damaged XLSX fails in whatever
    layer meets the damage first (zlib, the XML parser, openpyxl's own classes: ParseError,
    zlib.error, TypeError, IndexError, ...); any of them means the file cannot be read."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ImportFileError(f"{name}: не удалось открыть как XLSX ({error})") from error
    except Exception as error:
        raise ImportFileError(f"{name}: файл XLSX повреждён ({error!r})") from error
    try:
        sheet: Any = workbook.worksheets[0]
        sheet.reset_dimensions()  # exporters often write a wrong size; read what is there
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    except ImportFileError:
        raise
    except Exception as error:
        raise ImportFileError(f"{name}: файл XLSX повреждён ({error!r})") from error
    finally:
        workbook.close()
