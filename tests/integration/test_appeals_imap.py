"""The IMAP poller against a real dovecot with PostgreSQL cursors: killed mid-way and restarted,
every mail published once; UIDVALIDITY changes; an unreachable server."""

import asyncio
import socket
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, SecretStr

from ingest.appeals.imap import ImapPoller
from ingest.domain.sources import ImapConfig, Source, SourceCatalog
from ingest.stage import imap_pollers
from ingest.storage.cursors import CursorStore
from kernel.bus.memory import RecordingPublisher
from kernel.contracts.messages import Attachment, Channel
from kernel.contracts.topics import Topic
from kernel.db.engine import Database, open_database
from kernel.db.migrate import upgrade
from kernel.observability import Metrics
from tests.conftest import SettingsFactory
from tests.factories import appeal_source
from tests.fakes import wait_for
from tests.imap_server import PASSWORD, ImapServer, imap_server_fixture  # noqa: F401

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
WEB = appeal_source(Channel.WEB)


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
    return appeal_source(Channel.EMAIL, id="appeal:mail", name="Почта", imap=config)


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
