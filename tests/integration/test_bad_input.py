"""Bad input at the edges that talk to the world, on the real transports and storage: the VK
Callback API and the appeal intake over HTTP (ASGI), a poison record on a real Kafka topic
consumed by the SLA stage with PostgreSQL, a history replay into PostgreSQL, poison mail in a
real IMAP mailbox.

Each bad input gets a 4xx answer or a dead letter with the reason, exactly once; the next good
input goes through as if nothing had happened.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select

from ingest.appeals.imap import ImapPoller
from ingest.appeals.intake import MAX_BODY_BYTES, AppealIntake, intake_router
from ingest.domain.sources import SourceCatalog
from ingest.handlers import VkEventIngestor
from ingest.storage.cursors import CursorStore
from ingest.vk.callback import MAX_BODY, callback_router
from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Subscription
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import Channel
from kernel.contracts.topics import Topic, topic_name
from kernel.db.engine import open_database
from kernel.db.migrate import upgrade
from kernel.db.schema import dead_letters, incidents, messages
from kernel.observability import Metrics
from sla.domain.history import HistoryError
from sla.replay import replay_history
from sla.stage import SlaContext, open_sla, sla_stage
from tests.conftest import SettingsFactory
from tests.factories import GROUP, appeal_source, classified, raw_message
from tests.fakes import wait_for
from tests.imap_server import PASSWORD, ImapServer, imap_server_fixture  # noqa: F401
from tests.kafka_topics import read_topic
from tests.unit.fuzz.inputs import (
    DEEP,
    MEGABYTE,
    KafkaSizedPublisher,
    deep_json,
    garbage_bytes,
    hostile_values,
    nasty_text,
)
from tests.unit.fuzz.test_vk_events import poisoned_events, valid_events
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
HTTP_EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# --- VK Callback API ------------------------------------------------------------------------------

SECRET = "cb-secret-1"
CALLBACK_CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {"id": f"vk:-{GROUP}", "name": "Город", "kind": "vk_group", "group_id": GROUP,
             "managed": True, "municipality": "testgrad",
             "callback": {"secret": "city_callback", "confirmation": "c0nf1rm"}},
        ]
    }
)  # fmt: skip
GOOD_EVENT = {"type": "wall_reply_new", "group_id": GROUP, "secret": SECRET,
              "object": {"id": 7, "from_id": 1001, "text": "яма", "post_id": 3,
                         "owner_id": -GROUP}}  # fmt: skip


def encoded(value: Any) -> bytes:
    try:
        return json.dumps(value).encode()
    except RecursionError:  # too deep for json.dumps: a body nested as deep
        return deep_json(DEEP)


def signed(event: Any) -> bytes:
    return encoded({**event, "secret": SECRET} if isinstance(event, dict) else event)


def filling(event: dict[str, Any], size: int) -> bytes:
    """The event signed, its text grown until the body is ``size`` bytes."""
    empty = signed({**event, "object": {**event["object"], "text": ""}})
    return signed({**event, "object": {**event["object"], "text": "a" * (size - len(empty))}})


callback_bodies = st.one_of(
    garbage_bytes.map(lambda body: ("garbage", body)),
    valid_events().map(lambda pair: ("valid", signed(pair[0]))),
    poisoned_events().map(lambda event: ("poison", signed(event))),
    st.dictionaries(nasty_text, hostile_values, max_size=4).map(
        lambda event: ("garbage", signed({**event, "group_id": GROUP}))
    ),
)


async def post_callback(
    settings_factory: SettingsFactory, requests: Callable[[httpx.AsyncClient], Awaitable[None]]
) -> KafkaSizedPublisher:
    publisher = KafkaSizedPublisher()
    settings = settings_factory(secrets={"city_callback": SECRET})
    app = FastAPI()
    app.include_router(
        callback_router(
            VkEventIngestor(CALLBACK_CATALOG, publisher, Metrics(), lambda: NOW), settings
        )
    )
    # ASGITransport re-raises what the app does not handle: a 500 fails the test loudly.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await requests(client)
    return publisher


@HTTP_EXAMPLES
@given(tagged=callback_bodies)
@example(tagged=("garbage", deep_json(DEEP, b'{"a":', b"}")))
@example(tagged=("garbage", b"[" * MEGABYTE))
@example(tagged=("poison", filling(GOOD_EVENT, MAX_BODY)))  # over a Kafka record as a message
async def test_callback_answers_each_body_with_ok_or_4xx_and_the_next_event_goes_through(
    settings_factory: SettingsFactory, tagged: tuple[str, bytes]
) -> None:
    tag, body = tagged
    answers: list[httpx.Response] = []

    async def requests(client: httpx.AsyncClient) -> None:
        answers.append(await client.post("/vk/callback", content=body))
        answers.append(await client.post("/vk/callback", json=GOOD_EVENT))

    publisher = await post_callback(settings_factory, requests)
    bad, good = answers
    assert bad.status_code in {200, 400, 403, 404, 413}
    assert good.status_code == 200 and good.text == "ok"
    published = [m.message_id for m in publisher.messages()]
    assert published[-1] == f"vk:vk_comment:-{GROUP}:3:7"
    letters = publisher.letters()
    assert len(letters) <= 1
    if tag == "valid" and len(body) <= MAX_BODY:
        assert bad.text == "ok" and len(published) == 2 and letters == []
    if tag == "poison" and bad.status_code == 200:
        [letter] = letters  # an authenticated event that cannot be read: kept, with the reason
        assert letter.reason and len(published) == 1
    if bad.status_code != 200:
        assert letters == [] and len(published) == 1  # nobody outside fills the dead letters


# --- appeal intake --------------------------------------------------------------------------------

KEY = {"X-Api-Key": "portal-secret-1"}
WEB = appeal_source(Channel.WEB)
URL = "/intake/appeal:portal"
intake_fields = st.sampled_from(
    ["external_id", "text", "created_at", "author", "contact", "department", "attachments"]
)
intake_bodies = st.one_of(
    garbage_bytes,
    st.dictionaries(intake_fields | nasty_text, hostile_values, max_size=6).map(encoded),
    st.builds(
        lambda field, value: encoded({"external_id": "B-1", "text": "Нет воды", field: value}),
        intake_fields,
        hostile_values,
    ),
)


@HTTP_EXAMPLES
@given(body=intake_bodies)
@example(body=deep_json(DEEP, b'{"text":', b"}"))
@example(body=b'{"external_id": "B-2", "text": "' + "я".encode() * MAX_BODY_BYTES + b'"}')
@example(body=b'{"external_id": "B-3", "text": "\\u0000"}')
@example(body=b'{"external_id": ' + b"9" * 5000 + b', "text": "t"}')
async def test_intake_answers_each_body_with_202_or_4xx_and_the_next_appeal_goes_through(
    settings_factory: SettingsFactory, body: bytes
) -> None:
    publisher = KafkaSizedPublisher()
    settings = settings_factory(secrets={"portal_key": KEY["X-Api-Key"]})
    catalog = SourceCatalog(sources=(WEB,))
    intake = AppealIntake(catalog, settings, publisher, Metrics(), lambda: NOW, MOSCOW)
    app = FastAPI()
    app.include_router(intake_router(intake))
    transport = httpx.ASGITransport(app=app)
    good = {"external_id": "G-1", "text": "Не горит фонарь"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        bad = await client.post(URL, content=body, headers=KEY)
        after = await client.post(URL, json=good, headers=KEY)
    assert after.status_code == 202
    assert after.json() == {"message_id": "appeal:web:appeal:portal:G-1"}
    published, letters = publisher.messages(), publisher.letters()
    assert bad.status_code in {202, 413, 422}
    assert len(published) == 1 + (bad.status_code == 202)
    assert len(letters) == (bad.status_code == 422)  # 413: refused unread, nothing kept
    if letters:
        assert letters[0].reason.startswith(f"appeal:portal: {bad.json()['detail'][:500]}")


# --- a poison record on a real Kafka topic --------------------------------------------------------


def counted(subscription: Subscription, calls: list[str]) -> Subscription:
    async def handle(payload: Any) -> None:
        calls.append(getattr(getattr(payload, "message", None), "message_id", "?"))
        await subscription.handle(payload)

    return Subscription(subscription.topic, subscription.group, subscription.model, handle)


async def start_sla_on_kafka(
    context: SlaContext, settings: Any, calls: list[str]
) -> KafkaTransport:
    transport = KafkaTransport(settings, context.metrics, client_id="test-bad-input")
    for subscription in sla_stage(context, settings, transport).subscriptions:
        transport.subscribe(counted(subscription, calls))
    await transport.start()
    return transport


async def count_rows(context: SlaContext, table: Any) -> int:
    async with context.db.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
async def sla_on_kafka(
    kafka_server: KafkaServer, settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[tuple[SlaContext, Any]]:
    settings = settings_factory(kafka_bootstrap=kafka_server.bootstrap, database_url=database_url)
    context = await open_sla(settings, Metrics(), clock=lambda: NOW)
    yield context, settings
    await context.db.close()


async def produce(settings: Any, bodies: list[bytes]) -> None:
    """Each body as a record of the classified topic, all on one partition: read in this order."""
    topic = topic_name(Topic.CLASSIFIED_MESSAGES, settings.topic_namespace)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for body in bodies:
            await producer.send_and_wait(topic, body, key=b"k", partition=0)
    finally:
        await producer.stop()


async def test_poison_records_are_dead_lettered_once_and_never_stop_the_consumer(
    sla_on_kafka: tuple[SlaContext, Any],
) -> None:
    context, settings = sla_on_kafka
    nul = classified(raw_message(1, text="нет\x00воды")).model_dump_json().encode()
    poison = [
        b"{oops",
        b"",
        deep_json(DEEP, b'{"message":', b"}"),  # FastStream's json.loads: RecursionError
        b'{"message": ' + b"9" * 5000 + b"}",  # FastStream's json.loads: over 4,300 digits
        b"\xff" * 900_000,  # invalid UTF-8: three bytes a character once decoded for the letter
        b'{"message": {"message_id": 5}, "decision": []}',
        nul,  # the contract holds, PostgreSQL refuses NUL: the handler fails three times
    ]
    good = [classified(raw_message(item)) for item in (2, 3)]
    calls: list[str] = []
    transport = await start_sla_on_kafka(context, settings, calls)
    try:
        await produce(settings, [*poison, good[0].model_dump_json().encode()])
        await wait_for(lambda: good[0].message.message_id in calls)
        await wait_for(lambda: calls.count("?") >= len(poison))  # the letters, stored
        await asyncio.sleep(1.5)  # a consumer stuck on a poison record redelivers it by now
    finally:
        await transport.stop()
    assert calls.count(good[0].message.message_id) == 1
    assert calls.count(raw_message(1).message_id) == 3  # the NUL record: three attempts, no more
    assert calls.count("?") == len(poison)
    records = await read_topic(settings, Topic.DEAD_LETTERS)
    letters = [DeadLetter.model_validate_json(value) for _, value in records]
    assert len(letters) == len(poison)
    assert sum("handler failed 3 times" in letter.reason for letter in letters) == 1
    assert all(letter.stage == "sla" and letter.reason for letter in letters)

    # A restart (a new consumer in the same group) starts after them: no poison comes back.
    calls.clear()
    transport = await start_sla_on_kafka(context, settings, calls)
    try:
        await produce(settings, [good[1].model_dump_json().encode()])
        await wait_for(lambda: good[1].message.message_id in calls)
        await asyncio.sleep(1)
    finally:
        await transport.stop()
    assert calls == [good[1].message.message_id]
    assert await count_rows(context, messages) == 2
    assert await count_rows(context, dead_letters) == len(poison)
    assert len(await read_topic(settings, Topic.DEAD_LETTERS)) == len(poison)


# --- history replay into PostgreSQL ---------------------------------------------------------------


def history_line(event: str, message_id: str, **fields: Any) -> bytes:
    at = "2026-09-01T10:00:00+03:00"
    return json.dumps({"at": at, "event": event, "message_id": message_id, **fields}).encode()


@pytest.fixture
async def sla(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[SlaContext]:
    context = await open_sla(settings_factory(database_url=database_url), Metrics(), lambda: NOW)
    yield context
    await context.db.close()


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    field=st.sampled_from(["text", "municipality", "actor", "department", "category"]),
    poison=st.sampled_from(["нет\x00воды", "a\ud800b", "\udfff"]),
    position=st.integers(min_value=0, max_value=3),
)
async def test_a_history_line_postgresql_cannot_store_is_named_and_nothing_is_applied(
    sla: SlaContext, field: str, poison: str, position: int
) -> None:
    run = uuid.uuid4().hex[:8]
    lines = [
        history_line("message", f"{run}-1", municipality="severogorsk", text="Яма"),
        history_line("assigned", f"{run}-1", category="roads"),
        history_line("message", f"{run}-2", municipality="severogorsk", text="Мусор"),
    ]
    fields = {"municipality": "severogorsk", "text": "Свет", field: poison}
    lines.insert(position, history_line("message", f"{run}-3", **fields))
    before = [await count_rows(sla, table) for table in (messages, incidents)]
    with pytest.raises(HistoryError, match=f"строка {position + 1}: "):
        await replay_history(sla.db, sla.service, lines)
    assert [await count_rows(sla, table) for table in (messages, incidents)] == before
    lines.pop(position)
    report = await replay_history(sla.db, sla.service, lines)
    assert report.applied == 3


# --- poison mail in a real IMAP mailbox -----------------------------------------------------------


def appeal_mail(message_id: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Анна <anna@example.org>"
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message.set_content("Не вывозят мусор")
    return message.as_bytes()


async def test_poison_mail_is_dead_lettered_once_and_the_mailbox_moves_on(
    imap_server: ImapServer, settings_factory: SettingsFactory, database_url: str
) -> None:
    user = imap_server.new_user()
    mails = [
        b"Content-Type: message/rfc822\r\n\r\n" * 3_000 + b"Subject: x\r\n\r\nbody",
        b"Message-ID: <long@x>\r\nSubject: " + b"=?utf-8?b?0Y8=?= " * 60_000 + b"\r\n\r\nbody",
        appeal_mail(f"good-{user}@x", "Мусор"),
    ]
    uids = imap_server.deliver(user, mails)
    source = appeal_source(
        Channel.EMAIL, id="appeal:mail", name="Почта", imap=imap_server.config(user)
    )
    await asyncio.to_thread(upgrade, database_url)
    db = open_database(settings_factory(database_url=database_url))
    publisher = KafkaSizedPublisher()
    poller = ImapPoller(source, password=SecretStr(PASSWORD), cursors=CursorStore(db),
                        publisher=publisher, metrics=Metrics(), clock=lambda: NOW,
                        zone=MOSCOW)  # fmt: skip
    try:
        assert await poller.poll_once() == 2  # the long subject is cut, not refused
        assert await poller.poll_once() == 0  # the cursor moved past the poison mail
        cursor = await CursorStore(db).get(source.id, poller.cursor_key)
    finally:
        await db.close()
    assert isinstance(cursor, dict) and cursor["uid"] == uids[-1]
    [letter] = publisher.letters()
    assert f"UID {uids[0]}" in letter.reason and "RecursionError" in letter.reason
    ids = [m.message_id for m in publisher.messages()]
    assert ids == ["appeal:email:appeal:mail:long@x", f"appeal:email:appeal:mail:good-{user}@x"]
