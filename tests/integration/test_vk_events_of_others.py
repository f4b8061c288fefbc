"""VK events captured or written by other projects (tests/data/vk_events/, SOURCES.md), each
through both of otklik's real VK entry points — the Callback API app (`ingest.stage.http_app`,
delivered twice as VK retries) and the Bots Long Poll listener against the fake VK server — onto
a real Kafka, then into the SLA tracker on a real PostgreSQL; what each must become is what
docs/vk-events.md says, written next to each event in the data (``expect``)."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from ingest.domain.sources import SourceCatalog
from ingest.handlers import VkEventIngestor
from ingest.stage import http_app
from ingest.storage.cursors import CursorStore
from ingest.vk.client import VkClient
from ingest.vk.longpoll import TS_KEY, LongPollListener
from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Subscription
from kernel.clock import Clock
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import (
    Author,
    MessageAction,
    RawMessage,
    SourceKind,
    vk_message_id,
    vk_thread_key,
)
from kernel.contracts.topics import Topic
from kernel.db.schema import incident_events, incidents, message_revisions, messages
from kernel.observability import Metrics
from kernel.settings import Settings
from sla.service import IncidentService
from sla.stage import SlaContext, open_sla
from tests.factories import classified, raw_message
from tests.fakes import wait_for
from tools.fake_vk import FakeVkServer
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data" / "vk_events"
SECRET = "callback-s3cret"
TOKEN = "community-token"


@dataclass(frozen=True)
class Case:
    name: str
    event: dict[str, Any]
    expect: dict[str, Any]


def load_cases() -> list[Case]:
    """Every event of every source file: the payload as found, with what the envelope lacked."""
    cases = []
    for path in sorted(DATA.glob("*.json")):
        for item in json.loads(path.read_text("utf-8"))["events"]:
            event = {**item["envelope_added"], **item["payload"]}
            cases.append(Case(item["name"], event, item["expect"]))
    return cases


CASES = load_cases()
# Every community the events name is a managed one with a Callback API, as a city's would be.
CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {
                "id": f"vk:-{group}",
                "name": f"Сообщество {group}",
                "kind": "vk_group",
                "group_id": group,
                "managed": True,
                "municipality": "testgrad",
                "token": "vk_token",
                "callback": {"secret": "vk_callback", "confirmation": "c0nf1rm"},
            }
            for group in sorted({case.event["group_id"] for case in CASES})
        ]
    }
)


@dataclass
class World:
    """One Kafka namespace, one database, one fake VK for the module; what Kafka delivered."""

    values: dict[str, Any]
    bus: KafkaTransport
    sla: SlaContext
    vk: FakeVkServer
    raw: list[RawMessage] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)

    def settings(self, clock: Clock) -> Settings:
        return Settings.model_validate({**self.values, "clock_offset": clock.offset})

    async def reset(self) -> None:
        """Each event meets an empty database: the sources reuse ids (and event ids) freely."""
        self.raw.clear()
        self.letters.clear()
        async with self.sla.db.engine.begin() as connection:
            names = (
                await connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'alembic_version'"
                    )
                )
            ).scalars()
            tables = ", ".join(f'"{name}"' for name in names)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def module_database_url(postgres_base_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_base_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(postgres_base_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def fake_vk() -> Iterator[FakeVkServer]:
    with FakeVkServer() as server:
        server.state.add_token(TOKEN, "community")
        yield server


@pytest.fixture(scope="module")
async def world(
    kafka_server: KafkaServer,
    module_database_url: str,
    fake_vk: FakeVkServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    namespace = f"t{uuid.uuid4().hex[:8]}."
    values: dict[str, Any] = {
        "kafka_bootstrap": kafka_server.bootstrap,
        "database_url": module_database_url,
        "data_dir": tmp_path_factory.mktemp("vk-others") / "data",
        "topic_namespace": namespace,
        "consumer_group_prefix": namespace.rstrip("."),
        "secrets": {"vk_callback": SECRET, "vk_token": TOKEN},
    }
    settings = Settings.model_validate(values)
    bus = KafkaTransport(settings, Metrics(), client_id="vk-others")
    sla = await open_sla(settings, Metrics())
    found = World(values, bus, sla, fake_vk)

    async def on_raw(message: RawMessage) -> None:
        found.raw.append(message)

    async def on_letter(letter: DeadLetter) -> None:
        found.letters.append(letter)

    bus.subscribe(Subscription(Topic.RAW_MESSAGES, "seen-raw", RawMessage, on_raw))
    bus.subscribe(Subscription(Topic.DEAD_LETTERS, "seen-letters", DeadLetter, on_letter))
    await bus.start()
    yield found
    await bus.stop()
    await sla.db.close()


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def ingested(metrics: Metrics) -> float:
    kinds = [kind.value for kind in SourceKind]
    return sum(sample(metrics, "otklik_messages_ingested_total", source_kind=k) for k in kinds)


async def through_callback(
    world: World, case: Case, clock: Clock, catalog: SourceCatalog = CATALOG
) -> Metrics:
    """VK posts the event, then again as if it had not seen the "ok": both answered "ok"."""
    metrics = Metrics()
    app = http_app(world.settings(clock), catalog, world.bus, metrics)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://otklik") as http:
        for _ in range(2):
            answer = await http.post("/vk/callback", json={**case.event, "secret": SECRET})
            assert (answer.status_code, answer.text) == (200, "ok")
    return metrics


async def through_long_poll(
    world: World, case: Case, clock: Clock, catalog: SourceCatalog = CATALOG
) -> tuple[Metrics, int]:
    """The event as the next update of the community's Bots Long Poll, read by the listener."""
    metrics = Metrics()
    source = catalog.by_group(case.event["group_id"])
    assert source is not None
    state = world.vk.state
    group = state.group(case.event["group_id"])
    cursors = CursorStore(world.sla.db)
    # The listener resumes from its stored ts: the update it must read is the next one.
    await cursors.put(source.id, TS_KEY, str(len(group.events) + 1))
    with state.lock:
        group.events.append(case.event)  # exactly as found, not re-stamped by the fake
        state.lock.notify_all()
    client = VkClient(
        SecretStr(TOKEN), token_name=TOKEN, metrics=metrics, api_url=world.vk.url, rps=200.0
    )
    ingestor = VkEventIngestor(catalog, world.bus, metrics, clock)
    published = await LongPollListener(source, client, ingestor, cursors, wait=1).check_once()
    return metrics, published


async def stored(sla: SlaContext, message_id: str) -> dict[str, Any]:
    """What the database holds of one message and of every incident."""
    async with sla.db.engine.connect() as connection:
        row = (
            await connection.execute(select(messages).where(messages.c.message_id == message_id))
        ).one_or_none()
        revisions = (
            await connection.execute(
                select(message_revisions.c.action)
                .where(message_revisions.c.message_id == message_id)
                .order_by(message_revisions.c.at)
            )
        ).scalars()
        states = (
            await connection.execute(
                select(incidents.c.message_id, incidents.c.status, incidents.c.final_answer_at)
            )
        ).all()
        events = await connection.scalar(select(func.count()).select_from(incident_events))
    return {
        "messages": await count_messages(sla),
        "row": None if row is None else row._asdict(),
        "revisions": list(revisions),
        "incidents": sorted(tuple(state) for state in states),
        "incident_events": events,
    }


async def count_messages(sla: SlaContext) -> int:
    async with sla.db.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(messages)) or 0)


def resident_before(answer: RawMessage) -> RawMessage:
    """A resident's message an hour before the city's answer, in the answer's dialog (ours, not
    the source's: the sources give the answer alone)."""
    assert answer.thread_key.startswith("vk:im")
    owner, peer = (int(part) for part in answer.thread_key.removeprefix("vk:im").split("_"))
    return raw_message(
        1, text="Нет горячей воды", created_at=answer.created_at - timedelta(hours=1)
    ).model_copy(
        update={
            "message_id": vk_message_id(SourceKind.VK_MESSAGE, owner, peer, 1),
            "source_kind": SourceKind.VK_MESSAGE,
            "thread_key": vk_thread_key(SourceKind.VK_MESSAGE, owner, peer),
            "source_id": answer.source_id,
        }
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_an_event_of_others_becomes_what_the_docs_say(
    case: Case, world: World, clock: Clock
) -> None:
    await world.reset()
    callback = await through_callback(world, case, clock)
    poll, published = await through_long_poll(world, case, clock)
    deliveries = {"callback": (callback, 2), "long poll": (poll, 1)}
    outcome = case.expect["outcome"]
    if outcome == "counted":
        assert_counted(case.expect, deliveries)
        assert published == 0
    elif outcome == "dead_letter":
        await assert_dead_lettered(world, deliveries)
        assert published == 0
    else:
        assert published == 1
        await assert_stored_once(world, case.expect, deliveries, clock)


Deliveries = dict[str, tuple[Metrics, int]]


def assert_counted(expect: dict[str, Any], deliveries: Deliveries) -> None:
    for way, (metrics, copies) in deliveries.items():
        assert sample(metrics, "otklik_vk_events_ignored_total", type=expect["label"]) == copies
        assert ingested(metrics) == 0, way
        assert sample(metrics, "otklik_dead_letters_total", stage="ingest") == 0, way


async def assert_dead_lettered(world: World, deliveries: Deliveries) -> None:
    for way, (metrics, copies) in deliveries.items():
        assert sample(metrics, "otklik_dead_letters_total", stage="ingest") == copies, way
        assert ingested(metrics) == 0, way
    await wait_for(lambda: len(world.letters) >= 3)
    assert all("malformed" in letter.reason for letter in world.letters)
    assert world.raw == []


async def assert_stored_once(
    world: World, expect: dict[str, Any], deliveries: Deliveries, clock: Clock
) -> None:
    """Three copies reach Kafka, all read alike; the SLA tracker stores one message, one
    revision, and answers or opens what the docs say; the copies after the first change
    nothing."""
    for way, (metrics, copies) in deliveries.items():
        assert sample(metrics, "otklik_dead_letters_total", stage="ingest") == 0, way
        assert ingested(metrics) == copies, way
    await wait_for(lambda: len(world.raw) >= 3)
    assert len(world.raw) == 3 and world.letters == []
    for message in world.raw:
        read = (message.message_id, message.thread_key, message.action.value, message.reply_to)
        assert read == (expect["message_id"], expect["thread_key"], expect["action"],
                        expect["reply_to"])  # fmt: skip
        assert (message.author is not None and message.author.is_official) is expect["official"]

    service = IncidentService(world.sla.db, world.sla.policy, Metrics(), clock)
    # The city's message in a dialog answers what the resident wrote there before.
    answering = (
        expect["official"] and expect["action"] == "created" and "vk:im" in expect["thread_key"]
    )
    if answering:
        await service.on_classified(classified(resident_before(world.raw[0])))
    await service.on_classified(classified(world.raw[0]))
    once = await stored(world.sla, expect["message_id"])
    for again in world.raw[1:]:
        await service.on_classified(classified(again))
    assert await stored(world.sla, expect["message_id"]) == once

    row = once["row"]
    assert row is not None and once["messages"] == (2 if answering else 1)
    assert (row["thread_key"], row["reply_to"], row["is_official"]) == (
        expect["thread_key"], expect["reply_to"], expect["official"],
    )  # fmt: skip
    assert once["revisions"] == [expect["action"]]
    if answering:
        resident = resident_before(world.raw[0]).message_id
        assert once["incidents"] == [(resident, "answered", world.raw[0].created_at)]
    elif not expect["official"] and expect["action"] != "deleted":
        assert [state[:2] for state in once["incidents"]] == [(expect["message_id"], "assigned")]
    else:
        assert once["incidents"] == []


def moderated_by(group_id: int, moderator: int) -> SourceCatalog:
    """CATALOG where the community lists its moderator's account as speaking for the city."""
    sources = [
        source.model_copy(update={"official_ids": (moderator,)})
        if source.group_id == group_id
        else source
        for source in CATALOG.sources
    ]
    return CATALOG.model_copy(update={"sources": sources})


# VK's delete events name who deleted (deleter_id); the comment's author is not in them, or only
# as user_id (photos). otklik reads the deleter as the author when nothing else names one.
# A moderator's deletion once was read as the city's own message (the deleter as the author), and
# the resident's incident stayed in the queue: VK's delete events of others keep it fixed.
DELETIONS = [
    pytest.param(case, id=case.name)
    for case in CASES
    if case.expect["outcome"] == "handled" and "deleter_id" in case.event["object"]
]


@pytest.mark.parametrize("case", DELETIONS)
async def test_a_comment_the_citys_moderator_deletes_leaves_the_queue(
    case: Case, world: World, clock: Clock
) -> None:
    """The same delete event, where the deleter is the community's moderator (official_ids):
    the resident's comment it deletes had opened an incident, which must leave the queue."""
    await world.reset()
    catalog = moderated_by(case.event["group_id"], case.event["object"]["deleter_id"])
    await through_callback(world, case, clock, catalog)
    await through_long_poll(world, case, clock, catalog)
    await wait_for(lambda: len(world.raw) >= 3)
    deletion = world.raw[0]
    written = deletion.model_copy(
        update={
            "action": MessageAction.CREATED,
            "author": Author(ref="vk:id100000099", is_official=False),
            "text": "Третий день не вывозят мусор",
            "created_at": deletion.created_at - timedelta(hours=1),
        }
    )
    service = IncidentService(world.sla.db, world.sla.policy, Metrics(), clock)
    await service.on_classified(classified(written))
    for message in world.raw:
        await service.on_classified(classified(message))
    once = await stored(world.sla, deletion.message_id)
    assert once["incidents"][0][:2] == (deletion.message_id, "source_deleted")


EDITS = [
    case
    for case in CASES
    if case.expect["outcome"] == "handled"
    and case.expect["action"] == "edited"
    and case.expect["official"]
    and case.expect["thread_key"].startswith("vk:im")
]


@pytest.mark.parametrize("case", EDITS, ids=[case.name for case in EDITS])
async def test_the_city_editing_its_answer_in_a_dialog_is_recorded_once(
    case: Case, world: World, clock: Clock
) -> None:
    """The resident wrote, the city's message answered, then VK reports the city's edit of it:
    the incident stays answered and records answer_edited with the new text, once."""
    await world.reset()
    await through_callback(world, case, clock)
    await through_long_poll(world, case, clock)
    await wait_for(lambda: len(world.raw) >= 3)
    edit = world.raw[0]
    answer = edit.model_copy(update={"action": MessageAction.CREATED, "text": "Отвечаем"})
    service = IncidentService(world.sla.db, world.sla.policy, Metrics(), clock)
    await service.on_classified(classified(resident_before(answer)))
    await service.on_classified(classified(answer))
    for message in world.raw:
        await service.on_classified(classified(message))
    async with world.sla.db.engine.connect() as connection:
        edits = (
            await connection.execute(
                select(incident_events.c.data).where(incident_events.c.type == "answer_edited")
            )
        ).scalars()
        found = list(edits)
    once = await stored(world.sla, edit.message_id)
    assert [state[1] for state in once["incidents"]] == ["answered"]
    assert len(found) == 1 and edit.text in json.dumps(found[0], ensure_ascii=False)


def test_the_data_covers_what_the_brief_asks() -> None:
    types = {case.event["type"] for case in CASES}
    handled = {
        "wall_post_new", "wall_repost", "wall_reply_new", "wall_reply_edit", "wall_reply_delete",
        "wall_reply_restore", "board_post_new", "board_post_edit", "board_post_delete",
        "board_post_restore", "photo_comment_new", "photo_comment_delete", "video_comment_new",
        "market_comment_new", "message_new", "message_reply", "message_edit",
    }  # fmt: skip
    assert handled <= types
    assert {"like_add", "message_typing_state", "message_allow", "group_join"} <= types
    sources = {case.name.split("/")[0] for case in CASES}
    assert len(CASES) >= 30 and len(sources) >= 3
    new = [case.event["object"] for case in CASES if case.event["type"] == "message_new"]
    assert any("peer_id" in obj for obj in new)  # the pre-5.103 flat message
    assert any("client_info" in obj for obj in new)  # the 5.103+ form
    assert all(isinstance(c.event.get("group_id"), int) for c in CASES)
