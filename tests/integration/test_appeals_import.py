"""CSV/XLSX import of appeals: good rows published, bad rows reported by number and dead-lettered,
a file that cannot be read publishes nothing; and the CLI through a real Kafka broker."""

import asyncio
import csv
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from ingest.appeals.importer import ImportFileError, import_file
from kernel.bus.memory import RecordingPublisher
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import Channel, RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from services.cli import app as cli_app
from tests.conftest import SettingsFactory
from tests.factories import APPEAL_IMPORT_HEADER as HEADER
from tests.factories import appeal_source
from tests.kafka_topics import read_topic
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
IMPORT = appeal_source(Channel.IMPORT)


async def run_import(path: Path, publisher: RecordingPublisher) -> list[tuple[int, str]]:
    report = await import_file(path, IMPORT, publisher, Metrics(), lambda: NOW, MOSCOW)
    assert report.imported == len(publisher.messages())
    assert [letter.reason.split(": ", 1)[0] for letter in publisher.letters()] == [
        f"{path.name}, строка {row}" for row, _ in report.bad_rows
    ]
    return report.bad_rows


async def test_csv_good_rows_are_published_and_bad_rows_reported_by_number(tmp_path: Path) -> None:
    path = tmp_path / "appeals.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        csv.writer(file, delimiter=";").writerows(
            [
                HEADER,
                ["101", "01.09.2026 10:00", "Яма на дороге", "Иван", "ivan@example.org"],
                ["102", "01.09.2026", "", "Пётр", ""],
                ["103", "2026-09-02T08:00:00+03:00", "Нет света\nв подъезде", "", ""],
                ["104", "32.09.2026", "Не вывозят мусор", "", ""],
                ["101", "03.09.2026", "Повтор номера", "", ""],
            ]
        )
    publisher = RecordingPublisher()
    bad = await run_import(path, publisher)
    assert [row for row, _ in bad] == [3, 5, 6]
    assert "«Текст обращения»" in bad[0][1] and "«Дата»" in bad[1][1]
    assert "строку 2" in bad[2][1]
    messages = {m.message_id: m for m in publisher.messages()}
    assert set(messages) == {"appeal:import:appeal:import:101", "appeal:import:appeal:import:103"}
    first = messages["appeal:import:appeal:import:101"]
    assert first.created_at == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    assert first.author is not None and first.author.contact == "ivan@example.org"
    again = RecordingPublisher()
    await run_import(path, again)  # importing the same file again: the same ids, upserted
    assert {m.message_id for m in again.messages()} == set(messages)


async def test_cp1251_csv_with_commas_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("w", encoding="cp1251", newline="") as file:
        csv.writer(file).writerows([HEADER, ["7", "01.09.2026", "Сломана скамейка", "", ""]])
    publisher = RecordingPublisher()
    assert await run_import(path, publisher) == []
    assert [m.text for m in publisher.messages()] == ["Сломана скамейка"]


async def test_xlsx_rows_keep_the_numbers_the_spreadsheet_shows(tmp_path: Path) -> None:
    path = tmp_path / "appeals.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([201, datetime(2026, 9, 1, 10, 0), "Текст обращения 201", "Иван", None])
    sheet.append([])
    sheet.append([202, "01.09.2026", None, "Пётр", None])
    sheet.append([203.0, "02.09.2026 12:30", "Текст обращения 203", None, None])
    workbook.save(path)
    publisher = RecordingPublisher()
    bad = await run_import(path, publisher)
    assert [row for row, _ in bad] == [4]
    ids = [m.message_id for m in publisher.messages()]
    assert ids == ["appeal:import:appeal:import:201", "appeal:import:appeal:import:203"]
    assert publisher.messages()[0].created_at == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("short.csv", "Номер;Текст\n1;t\n".encode(), "«Текст обращения», «Дата»"),
        ("broken.xlsx", b"not a zip", "XLSX"),
        ("old.xls", b"", ".xlsx"),
        ("empty.csv", b"", "пуст"),
    ],
)
async def test_a_file_that_cannot_be_imported_publishes_nothing(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    publisher = RecordingPublisher()
    with pytest.raises(ImportFileError, match=words):
        await import_file(path, IMPORT, publisher, Metrics(), lambda: NOW, MOSCOW)
    assert publisher.sent == []


def test_cli_import_says_why_a_file_is_refused_with_exit_code_2(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - {id: 'appeal:import', name: 'Выгрузка', kind: appeal, channel: import,"
        " municipality: testgrad}\n",
        encoding="utf-8",
    )
    path = tmp_path / "appeals.csv"
    path.write_text("id;text\n1;t\n", encoding="utf-8")
    env = {"OTKLIK_SOURCES_FILE": str(sources), "OTKLIK_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    result = runner.invoke(cli_app, ["import", str(path), "--source", "appeal:import"], env=env)
    assert result.exit_code == 2
    assert "ничего не опубликовано" in result.output and "«created_at»" in result.output
    result = runner.invoke(cli_app, ["import", str(path), "--source", "appeal:nope"], env=env)
    assert result.exit_code == 2
    assert "нет канала импорта" in result.output


def test_cli_import_publishes_good_rows_to_kafka_and_exits_1_naming_the_bad_ones(
    kafka_server: KafkaServer, settings_factory: SettingsFactory, tmp_path: Path
) -> None:
    """``otklik import`` as an operator runs it, on a real broker."""
    settings = settings_factory(kafka_bootstrap=kafka_server.bootstrap)
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - {id: 'appeal:import', name: 'Выгрузка', kind: appeal, channel: import,"
        " municipality: testgrad, columns: {external_id: 'Номер', text: 'Текст обращения',"
        " created_at: 'Дата'}}\n",
        encoding="utf-8",
    )
    path = tmp_path / "appeals.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, delimiter=";").writerows(
            [HEADER, ["1", "01.09.2026", "Яма", "", ""], ["2", "", "Без даты", "", ""]]
        )
    env = {
        "OTKLIK_SOURCES_FILE": str(sources),
        "OTKLIK_DATA_DIR": str(tmp_path),
        "OTKLIK_KAFKA_BOOTSTRAP": kafka_server.bootstrap,
        "OTKLIK_TOPIC_NAMESPACE": settings.topic_namespace,
    }
    result = CliRunner().invoke(cli_app, ["import", str(path), "--source", "Выгрузка"], env=env)
    assert result.exit_code == 1, result.output
    assert "импортировано обращений: 1" in result.output and "строка 3" in result.output
    raw = asyncio.run(read_topic(settings, Topic.RAW_MESSAGES))
    assert [RawMessage.model_validate_json(v).message_id for _, v in raw] == [
        "appeal:import:appeal:import:1"
    ]
    [(_, letter)] = asyncio.run(read_topic(settings, Topic.DEAD_LETTERS))
    assert DeadLetter.model_validate_json(letter).reason.startswith("appeals.csv, строка 3")
