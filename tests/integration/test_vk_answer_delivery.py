"""What became of an answer posted to VK reaches the incident: the whole path on real Kafka and
PostgreSQL against the fake VK server (VK's published schema checked on every call). The SLA
tracker records the answer and publishes it through its outbox; the poster posts it and reports
on otklik.answers.deliveries.v1; the SLA tracker records answer_posted (with the reply's link) or
answer_failed (with the reason in Russian) without touching the incident's status or deadlines; a
retry of a refused answer posts it once, with a new idempotency key."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ingest.domain.sources import SourceCatalog
from ingest.stage import VkClients, answer_subscriptions
from kernel.bus.kafka import KafkaTransport
from kernel.db.outbox import OutboxRelay
from kernel.db.schema import incident_events, incidents
from kernel.observability import Metrics
from sla.domain.answer_delivery import DeliveryState
from sla.domain.lifecycle import Answer, IllegalTransitionError
from sla.stage import SlaContext, open_sla, sla_stage
from sla.storage.answer_deliveries import answer_deliveries
from sla.storage.repository import incident_id_for
from tests.conftest import SettingsFactory
from tests.factories import GROUP, classified, raw_message
from tools.fake_vk import FakeVkServer
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {"id": f"vk:-{GROUP}", "name": "Тестовый город", "kind": "vk_group",
             "group_id": GROUP, "managed": True, "municipality": "testgrad", "token": "city"},
        ]
    }
)  # fmt: skip
# What the SLA depends on: a delivery event must leave all of it as the answer left it.
SLA_COLUMNS = (
    "status", "assigned_at", "first_response_due", "final_answer_due", "first_response_at",
    "final_answer_at", "on_time", "on_time_reason", "claimed_by", "claim_expires_at",
)  # fmt: skip


@dataclass
class World:
    sla: SlaContext
    vk: FakeVkServer
    relay: OutboxRelay
    post: int

    async def incident_for(self, text: str) -> str:
        """A resident's comment in VK and its incident, answered by a moderator."""
        now = int(T0.timestamp())
        comment = self.vk.state.add_comment(GROUP, self.post, text, now, 777)
        resident = raw_message(comment, text=text)
        await self.sla.service.on_classified(classified(resident))
        incident_id = incident_id_for(resident.message_id)
        await self.sla.service.claim(incident_id, "moderator1", timedelta(minutes=30))
        await self.sla.service.act(incident_id, Answer("moderator1", f"Ответ: {text}"))
        return incident_id

    async def events(self, incident_id: str, *types: str) -> list[dict[str, Any]]:
        async with self.sla.db.engine.connect() as connection:
            rows = await connection.execute(
                select(incident_events.c.seq, incident_events.c.type, incident_events.c.data)
                .where(incident_events.c.incident_id == incident_id)
                .where(incident_events.c.type.in_(types))
                .order_by(incident_events.c.seq)
            )
            return [{"seq": r.seq, "type": r.type, **r.data} for r in rows]

    async def reported(self, incident_id: str, count: int) -> list[dict[str, Any]]:
        """The first ``count`` delivery events of the incident, once recorded: the outbox is
        relayed meanwhile (the poster consumes what it publishes)."""
        async with asyncio.timeout(30):
            while True:
                await self.relay.drain()
                found = await self.events(incident_id, "answer_posted", "answer_failed")
                if len(found) >= count:
                    return found
                await asyncio.sleep(0.05)

    async def sla_state(self, incident_id: str) -> dict[str, Any]:
        async with self.sla.db.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(*(incidents.c[name] for name in SLA_COLUMNS)).where(
                        incidents.c.incident_id == incident_id
                    )
                )
            ).one()
        return dict(row._mapping)

    def replies(self) -> list[dict[str, Any]]:
        with self.vk.state.lock:
            return [
                c for c in self.vk.state.group(GROUP).comments[self.post] if c["from_id"] == -GROUP
            ]

    def guids(self) -> list[str]:
        return [p["guid"] for m, p in self.vk.state.calls if m == "wall.createComment"]


@pytest.fixture
def vk() -> Iterator[FakeVkServer]:
    with FakeVkServer() as server:
        server.state.add_token("community-token", "community", group_id=GROUP)
        yield server


@pytest.fixture
async def world(
    kafka_server: KafkaServer,
    settings_factory: SettingsFactory,
    database_url: str,
    vk: FakeVkServer,
) -> AsyncIterator[World]:
    settings = settings_factory(
        kafka_bootstrap=kafka_server.bootstrap,
        database_url=database_url,
        vk_api_url=vk.url,
        secrets={"city": "community-token"},
    )
    metrics = Metrics()
    sla = await open_sla(settings, metrics, clock=lambda: T0)
    transport = KafkaTransport(settings, metrics, client_id="test-answer-delivery")
    for subscription in sla_stage(sla, settings, transport).subscriptions:
        transport.subscribe(subscription)
    clients = VkClients(settings, metrics)
    for subscription in answer_subscriptions(CATALOG, clients, metrics, transport, lambda: T0):
        transport.subscribe(subscription)
    await transport.start()
    post = vk.state.add_post(GROUP, "Новости города", int(T0.timestamp()))
    try:
        yield World(sla, vk, OutboxRelay(sla.db, transport, metrics), post)
    finally:
        await transport.stop()
        await sla.db.close()


async def test_a_posted_answer_records_its_link_and_leaves_the_sla_alone(world: World) -> None:
    incident_id = await world.incident_for("Яма у дома 5")
    before = await world.sla_state(incident_id)
    [posted] = await world.reported(incident_id, 1)
    [reply] = world.replies()
    assert posted["type"] == "answer_posted"
    assert posted["url"] == f"https://vk.com/wall-{GROUP}_{world.post}?reply={reply['id']}"
    assert reply["text"] == "Ответ: Яма у дома 5"
    [answered] = await world.events(incident_id, "answered")
    assert posted["answer_event_id"] == posted["attempt_id"] == f"{incident_id}:{answered['seq']}"
    # Status, deadlines, the answer's time, the on-time verdict and the claim: as they were.
    assert await world.sla_state(incident_id) == before
    async with world.sla.db.engine.connect() as connection:
        [delivery] = (await answer_deliveries(connection, incident_id)).values()
    assert (delivery.state, delivery.url) == (DeliveryState.POSTED, posted["url"])


async def test_a_refused_answer_records_the_reason_and_a_retry_posts_it_once(
    world: World,
) -> None:
    world.vk.state.fail_next("wall.createComment", 15)  # VK: «Access denied»
    incident_id = await world.incident_for("Нет света в подъезде")
    [failed] = await world.reported(incident_id, 1)
    assert failed["type"] == "answer_failed"
    assert failed["reason"] == "доступ запрещён (ошибка VK 15)"
    assert failed["retryable"] is True
    assert world.replies() == []
    answer_id = failed["answer_event_id"]

    retried = await world.sla.service.retry_answer(incident_id, answer_id, "moderator1")
    with pytest.raises(IllegalTransitionError, match="только неудавшуюся"):
        await world.sla.service.retry_answer(incident_id, answer_id, "moderator1")  # a 2nd click
    _, posted = await world.reported(incident_id, 2)
    assert posted["type"] == "answer_posted"
    assert (posted["answer_event_id"], posted["attempt_id"]) == (
        answer_id,
        f"{incident_id}:{retried.seq}",
    )
    [reply] = world.replies()
    assert posted["url"].endswith(f"?reply={reply['id']}")
    first, second = world.guids()
    assert first != second  # the retry is a new request at VK, not a repeat of the refused one
    with pytest.raises(IllegalTransitionError, match="уже опубликован"):
        await world.sla.service.retry_answer(incident_id, answer_id, "moderator1")
