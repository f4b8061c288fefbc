"""Appeal channels end to end at their edges: the HTTP intake (ASGI), CSV/XLSX import, and the
IMAP poller against a real dovecot with PostgreSQL cursors, killed mid-way and restarted."""

import asyncio
import csv
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook
from pydantic import BaseModel, SecretStr
from typer.testing import CliRunner

from ingest.appeals.imap import ImapPoller
from ingest.appeals.importer import ImportFileError, import_file
from ingest.appeals.intake import MAX_BODY_BYTES, AppealIntake, intake_router
from ingest.cursors import CursorStore
from ingest.sources import ImapConfig, ImportColumns, Source, SourceCatalog
from services.bus.port import encode
from services.cli import app as cli_app
from services.contracts.deadletters import DeadLetter
from services.contracts.messages import Attachment, Channel, RawMessage
from services.contracts.topics import Topic
from services.db.engine import Database, open_database
from services.db.migrate import upgrade
from services.observability import Metrics
from services.runtime.appeals import imap_pollers
from tests.conftest import SettingsFactory
from tests.imap_server import PASSWORD, ImapServer, imap_server_fixture  # noqa: F401

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
WEB = Source(
    id="appeal:portal",
    name="Интернет-приёмная",
    kind="appeal",
    channel=Channel.WEB,
    api_key="portal_key",
    municipality="testgrad",
)
IMPORT = Source(
    id="appeal:import",
    name="Выгрузка",
    kind="appeal",
    channel=Channel.IMPORT,
    municipality="testgrad",
    columns=ImportColumns(
        external_id="Номер",
        text="Текст обращения",
        created_at="Дата",
        author="Заявитель",
        contact="Контакт",
    ),
)
HEADER = ["Номер", "Дата", "Текст обращения", "Заявитель", "Контакт"]
URL = "/intake/appeal:portal"
KEY = {"X-Api-Key": "portal-secret-1"}


class RecordingPublisher:
    """A Publisher that keeps what it was given, serialised as on the wire."""

    def __init__(self) -> None:
        self.sent: list[tuple[Topic, str, bytes]] = []

    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        self.sent.append((topic, key, encode(payload)))

    def messages(self) -> list[RawMessage]:
        return [
            RawMessage.model_validate_json(body)
            for topic, _, body in self.sent
            if topic is Topic.RAW_MESSAGES
        ]

    def letters(self) -> list[DeadLetter]:
        return [
            DeadLetter.model_validate_json(body)
            for topic, _, body in self.sent
            if topic is Topic.DEAD_LETTERS
        ]


async def wait_for(predicate: Callable[[], object]) -> None:
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.02)


# --- HTTP intake ------------------------------------------------------------------------------


def intake_client(
    settings_factory: SettingsFactory, publisher: RecordingPublisher
) -> httpx.AsyncClient:
    settings = settings_factory(secrets={"portal_key": KEY["X-Api-Key"]})
    catalog = SourceCatalog(sources=(WEB, IMPORT))
    intake = AppealIntake(catalog, settings, publisher, Metrics(), lambda: NOW, MOSCOW)
    app = FastAPI()
    app.include_router(intake_router(intake))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_intake_publishes_and_a_client_retry_gets_the_same_message_id(
    settings_factory: SettingsFactory,
) -> None:
    publisher = RecordingPublisher()
    body = {
        "external_id": "P-1",
        "text": "Нет воды в доме 5",
        "created_at": "01.09.2026 10:00",
        "author": "Иван Петров",
        "contact": "+7 900 000-00-00",
        "attachments": [{"name": "фото.jpg", "url": "https://portal.example/f/1"}],
    }
    async with intake_client(settings_factory, publisher) as client:
        first = await client.post(URL, json=body, headers=KEY)
        retry = await client.post(URL, json=body, headers=KEY)
    assert first.status_code == retry.status_code == 202
    assert first.json() == retry.json() == {"message_id": "appeal:web:appeal:portal:P-1"}
    messages = publisher.messages()
    assert {m.message_id for m in messages} == {"appeal:web:appeal:portal:P-1"}
    assert messages[0].author is not None and messages[0].author.name == "Иван Петров"
    assert messages[0].text == "Нет воды в доме 5"
    assert messages[0].created_at == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    assert publisher.letters() == []


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (URL, {}, 401),
        (URL, {"X-Api-Key": "portal-secret-2"}, 401),
        ("/intake/appeal:unknown", KEY, 404),
        ("/intake/appeal:import", KEY, 404),  # an import channel has no HTTP intake
    ],
)
async def test_intake_without_the_right_key_or_channel_publishes_nothing(
    settings_factory: SettingsFactory, path: str, headers: dict[str, str], status: int
) -> None:
    publisher = RecordingPublisher()
    async with intake_client(settings_factory, publisher) as client:
        response = await client.post(path, json={"external_id": "1", "text": "t"}, headers=headers)
    assert response.status_code == status
    assert publisher.sent == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{oops", "Invalid JSON"),
        (b'{"external_id": "1", "text": "   "}', "text: "),
        (b'{"external_id": "1", "text": "t", "created_at": "31.02.2026"}', "created_at: "),
        (b'{"external_id": "1", "text": "t", "colour": "red"}', "colour"),
    ],
)
async def test_invalid_body_is_answered_422_and_kept_as_a_dead_letter(
    settings_factory: SettingsFactory, content: bytes, words: str
) -> None:
    publisher = RecordingPublisher()
    async with intake_client(settings_factory, publisher) as client:
        response = await client.post(
            URL, content=content, headers={**KEY, "Content-Type": "application/json"}
        )
    assert response.status_code == 422
    assert words in response.json()["detail"]
    assert publisher.messages() == []
    [letter] = publisher.letters()
    assert letter.payload == content.decode()
    assert letter.reason.startswith("appeal:portal: ")


async def test_oversized_body_is_refused_before_it_is_read(
    settings_factory: SettingsFactory,
) -> None:
    publisher = RecordingPublisher()
    async with intake_client(settings_factory, publisher) as client:
        response = await client.post(URL, content=b"x" * (MAX_BODY_BYTES + 1), headers=KEY)
    assert response.status_code == 413
    assert publisher.sent == []


# --- CSV / XLSX import ------------------------------------------------------------------------


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


# --- IMAP -------------------------------------------------------------------------------------


class StuckPublisher(RecordingPublisher):
    """Accepts ``limit`` messages, then hangs right after accepting one more: the process is
    killed after the broker acknowledged a message but before the cursor moved past it."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        await super().publish(topic, key, payload)
        if len(self.messages()) > self.limit:
            await asyncio.Event().wait()


def mail(message_id: str, subject: str, body: str, subtype: str = "plain") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Анна Смирнова <anna@example.org>"
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = "Tue, 01 Sep 2026 10:00:00 +0300"
    message.set_content(body, subtype=subtype)
    return message


def mailbox(user: str) -> list[bytes]:
    attached = mail(f"att-{user}@x", "Фото ямы", "Фото во вложении")
    attached.add_attachment(b"\x89PNG" + bytes(2000), "image", "png", filename="яма.png")
    empty = b"From: someone@example.org\r\nMessage-ID: <empty-" + user.encode() + b"@x>\r\n\r\n"
    return [
        mail(f"plain-{user}@x", "Нет воды", "Нет воды третий день").as_bytes(),
        mail(f"html-{user}@x", "Мусор", "<p>Не вывозят&nbsp;мусор</p>", "html").as_bytes(),
        attached.as_bytes(),
        empty,
        mail(f"last-{user}@x", "Свет", "Не горят фонари").as_bytes(),
    ]


def email_source(config: ImapConfig) -> Source:
    return Source(
        id="appeal:mail",
        name="Почта",
        kind="appeal",
        channel=Channel.EMAIL,
        imap=config,
        municipality="testgrad",
    )


def poller(source: Source, db: Database, publisher: RecordingPublisher) -> ImapPoller:
    return ImapPoller(
        source,
        password=SecretStr(PASSWORD),
        cursors=CursorStore(db),
        publisher=publisher,
        metrics=Metrics(),
        clock=lambda: NOW,
        zone=MOSCOW,
    )


async def migrated_database(settings_factory: SettingsFactory, database_url: str) -> Database:
    await asyncio.to_thread(upgrade, database_url)
    return open_database(settings_factory(database_url=database_url))


async def test_imap_poller_resumes_after_a_kill_and_publishes_every_mail_once(
    imap_server: ImapServer, database_url: str, settings_factory: SettingsFactory
) -> None:
    user = imap_server.new_user()
    uids = imap_server.deliver(user, mailbox(user))
    source = email_source(imap_server.config(user))
    killed = await migrated_database(settings_factory, database_url)
    stuck = StuckPublisher(limit=1)
    task = asyncio.create_task(poller(source, killed, stuck).poll_once())
    await wait_for(lambda: len(stuck.messages()) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await killed.close()

    db = open_database(settings_factory(database_url=database_url))  # the restarted process
    cursors, validity = CursorStore(db), imap_server.uidvalidity(user)
    try:
        after_kill = await cursors.get(source.id, "imap:INBOX")
        restarted = RecordingPublisher()
        assert await poller(source, db, restarted).poll_once() == 3
        assert await poller(source, db, restarted).poll_once() == 0
        final = await cursors.get(source.id, "imap:INBOX")
    finally:
        await db.close()
    assert after_kill == {"uidvalidity": validity, "uid": uids[0]}
    assert final == {"uidvalidity": validity, "uid": uids[-1]}
    published = stuck.messages() + restarted.messages()
    kinds = ("plain", "html", "att", "last")
    assert {m.message_id for m in published} == {
        f"appeal:email:appeal:mail:{kind}-{user}@x" for kind in kinds
    }
    assert len(published) == 5  # the mail in flight at the kill came again, with the same id
    [letter] = stuck.letters() + restarted.letters()
    assert f"UID {uids[3]}" in letter.reason and "text: " in letter.reason

    by_kind = {m.message_id.split(":")[-1].split("-")[0]: m for m in published}
    assert by_kind["plain"].text == "Нет воды\n\nНет воды третий день"
    assert by_kind["plain"].author is not None
    assert by_kind["plain"].author.contact == "anna@example.org"
    assert by_kind["plain"].created_at == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    assert by_kind["html"].text == "Мусор\n\nНе вывозят мусор"
    assert by_kind["att"].attachments == (Attachment(kind="file", name="яма.png"),)
    assert "PNG" not in by_kind["att"].text


async def test_a_changed_uidvalidity_reads_the_mailbox_again_with_the_same_ids(
    imap_server: ImapServer, database_url: str, settings_factory: SettingsFactory
) -> None:
    user = imap_server.new_user()
    uids = imap_server.deliver(user, mailbox(user)[:2])
    source = email_source(imap_server.config(user))
    validity = imap_server.uidvalidity(user)
    db = await migrated_database(settings_factory, database_url)
    cursors = CursorStore(db)
    try:
        first, again = RecordingPublisher(), RecordingPublisher()
        assert await poller(source, db, first).poll_once() == 2
        await cursors.put(source.id, "imap:INBOX", {"uidvalidity": validity + 1, "uid": uids[-1]})
        assert await poller(source, db, again).poll_once() == 2
        assert await cursors.get(source.id, "imap:INBOX") == {
            "uidvalidity": validity,
            "uid": uids[-1],
        }
    finally:
        await db.close()
    assert [m.message_id for m in again.messages()] == [m.message_id for m in first.messages()]


async def test_run_keeps_retrying_while_the_mail_server_is_unreachable(
    database_url: str, settings_factory: SettingsFactory
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = ImapConfig(host="127.0.0.1", port=port, ssl=False, user="u", password="p")
    db = await migrated_database(settings_factory, database_url)
    publisher = RecordingPublisher()
    task = asyncio.create_task(poller(email_source(config), db, publisher).run(0.01))
    try:
        await asyncio.sleep(0.3)
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await db.close()
    assert publisher.sent == []


async def test_runtime_builds_one_poller_per_email_channel_with_its_named_password(
    imap_server: ImapServer, database_url: str, settings_factory: SettingsFactory
) -> None:
    user = imap_server.new_user()
    imap_server.deliver(user, mailbox(user)[:1])
    catalog = SourceCatalog(sources=(WEB, email_source(imap_server.config(user))))
    settings = settings_factory(database_url=database_url, secrets={"imap_password": PASSWORD})
    db = await migrated_database(settings_factory, database_url)
    publisher = RecordingPublisher()
    try:
        [built] = imap_pollers(settings, catalog, db, publisher, Metrics())
        assert await built.poll_once() == 1
    finally:
        await db.close()
