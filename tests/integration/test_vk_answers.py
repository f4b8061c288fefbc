"""Moderators' answers posted back to VK: the poster on a real Kafka broker against the fake VK
server, and the SLA tracker on a real PostgreSQL recognising its own answer when VK echoes it."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ingest.domain.sources import SourceCatalog
from ingest.stage import VkClients, answer_subscriptions
from kernel.bus.kafka import KafkaTransport
from kernel.contracts.incidents import IncidentEvent
from kernel.contracts.messages import SourceKind, vk_message_id
from kernel.contracts.topics import Topic
from kernel.db.schema import incident_events, outbox
from kernel.observability import Metrics
from sla.domain.lifecycle import Answer
from sla.stage import SlaContext, open_sla
from sla.storage.repository import incident_id_for
from tests.conftest import SettingsFactory
from tests.factories import GROUP, classified, raw_message
from tests.fakes import wait_for
from tools.fake_vk import FakeVkServer
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration
CITY, LOCAL = 210000001, 210000002
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {"id": f"vk:-{CITY}", "name": "Город", "kind": "vk_group", "group_id": CITY,
             "managed": True, "municipality": "testgrad", "token": "city"},
            {"id": f"vk:-{LOCAL}", "name": "Подслушано", "kind": "vk_group", "group_id": LOCAL,
             "municipality": "testgrad", "token": "reader"},
        ]
    }
)  # fmt: skip


@pytest.fixture
def vk() -> Iterator[FakeVkServer]:
    with FakeVkServer() as server:
        server.state.add_token("community-token", "community")
        server.state.add_token("user-token", "user")
        yield server


def answered(message_id: str, seq: int, text: str, **data: object) -> IncidentEvent:
    return IncidentEvent(
        event_id=f"inc-1:{seq}", incident_id="inc-1", message_id=message_id, seq=seq,
        type="answered", status="answered", actor="moderator1", at=T0, municipality="testgrad",
        data={"final": True, "text": text, **data},
    )  # fmt: skip


async def test_answers_are_posted_once_as_the_community_and_only_where_allowed(
    kafka_server: KafkaServer, settings_factory: SettingsFactory, vk: FakeVkServer
) -> None:
    state = vk.state
    post = state.add_post(CITY, "Новости города", int(T0.timestamp()))
    first = state.add_comment(CITY, post, "Яма у дома 5", int(T0.timestamp()), 777)
    second = state.add_comment(CITY, post, "Нет света в подъезде", int(T0.timestamp()), 778)
    local_post = state.add_post(LOCAL, "Пост", int(T0.timestamp()))
    city_comment = vk_message_id(SourceKind.VK_COMMENT, -CITY, post, first)
    events = [
        answered(city_comment, 3, "Передали в дорожную службу"),
        answered(city_comment, 3, "Передали в дорожную службу"),  # the same event redelivered
        answered(city_comment, 4, "Уже ответили в VK", from_source=True),
        answered(vk_message_id(SourceKind.VK_COMMENT, -LOCAL, local_post, 9), 5, "Не наша группа"),
        answered(vk_message_id(SourceKind.VK_COMMENT, -CITY, post, second), 6, "Электрик выехал"),
    ]
    settings = settings_factory(
        kafka_bootstrap=kafka_server.bootstrap,
        vk_api_url=vk.url,
        secrets={"city": "community-token", "reader": "user-token"},
    )
    metrics = Metrics()
    transport = KafkaTransport(settings, metrics, client_id="test-answers")
    clients = VkClients(settings, metrics)
    for subscription in answer_subscriptions(CATALOG, clients, metrics, transport, lambda: T0):
        transport.subscribe(subscription)
    await transport.start()
    try:
        for event in events:  # one key: one partition, so the last event is handled last
            await transport.publish(Topic.INCIDENT_EVENTS, "inc-1", event)
        await wait_for(lambda: any(c["text"] == "Электрик выехал" for c in replies(vk, post)))
    finally:
        await transport.stop()
    posted = replies(vk, post)
    assert [(c["text"], c["reply_to_comment"]) for c in posted] == [
        ("Передали в дорожную службу", first),
        ("Электрик выехал", second),
    ]
    assert state.group(LOCAL).comments[local_post] == []
    calls = [params for method, params in state.calls if method == "wall.createComment"]
    assert len(calls) == 3 and calls[0]["guid"] == calls[1]["guid"] != calls[2]["guid"]


def replies(vk: FakeVkServer, post: int) -> list[dict[str, object]]:
    with vk.state.lock:
        comments = list(vk.state.group(CITY).comments[post])
    return [c for c in comments if c["from_id"] == -CITY]


@pytest.fixture
async def sla(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[SlaContext]:
    context = await open_sla(
        settings_factory(database_url=database_url), Metrics(), clock=lambda: T0
    )
    yield context
    await context.db.close()


async def test_the_echo_of_an_answer_posted_by_otklik_is_not_a_second_answer(
    sla: SlaContext,
) -> None:
    resident = raw_message(1)
    await sla.service.on_classified(classified(resident))
    incident_id = incident_id_for(resident.message_id)
    await sla.service.act(incident_id, Answer("moderator1", "Взяли в работу", final=False))
    for item, text in ((2, " Взяли в работу"), (3, "Яму заделали, спасибо за сигнал")):
        reply = raw_message(
            item, text=text, created_at=T0 + timedelta(hours=item), author_id=-GROUP,
            official=True, reply_to=1,
        )  # fmt: skip
        await sla.service.on_classified(classified(reply))
    async with sla.db.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(incident_events.c.actor, incident_events.c.data)
                .where(incident_events.c.type == "answered")
                .order_by(incident_events.c.seq)
            )
        ).all()
        outbox_rows = (await connection.execute(select(outbox.c.topic, outbox.c.payload))).all()
    assert [(actor, data.get("from_source")) for actor, data in rows] == [
        ("moderator1", None),
        (f"vk:id-{GROUP}", True),
    ]
    published = [
        IncidentEvent.model_validate_json(payload)
        for topic, payload in outbox_rows
        if topic == Topic.INCIDENT_EVENTS.value
    ]
    assert len(published) == 4  # opened, assigned, the moderator's answer, the official one
    assert {e.message_id for e in published} == {resident.message_id}
