"""A batch of classified messages (one transaction) leaves exactly what the same messages
handled one by one leave, whatever the batch mixes: redeliveries, replies, edits, deletions."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Table, select
from sqlalchemy.engine import make_url

from kernel.contracts.classification import ClassifiedMessage
from kernel.contracts.messages import MessageAction
from kernel.db.schema import (
    incident_events,
    incidents,
    message_authors,
    message_revisions,
    messages,
    outbox,
)
from kernel.observability import Metrics
from sla.stage import SlaContext, open_sla
from sla.storage import repository
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Moscow
OFFICIAL = -210000001
# Columns PostgreSQL fills from its own clock (transaction start): not the handler's doing.
SERVER_CLOCK = {"stored_at", "created_at", "id"}


def stream() -> list[ClassifiedMessage]:
    later = T0 + timedelta(hours=2)
    reply = raw_message(
        10, text="Здравствуйте! Устранено.", created_at=later, author_id=OFFICIAL, official=True,
        reply_to=1,
    )  # fmt: skip
    edited = raw_message(3, text="Нет воды уже три дня", created_at=T0).model_copy(
        update={"action": MessageAction.EDITED, "created_at": later}
    )
    deleted = raw_message(4).model_copy(
        update={"action": MessageAction.DELETED, "text": "", "created_at": later}
    )
    return [
        classified(raw_message(1)),
        classified(raw_message(2, text="Спасибо!"), incident=False),
        classified(raw_message(1)),  # redelivered inside the same batch
        classified(raw_message(3)),
        classified(reply),  # answers incident 1, opened earlier in this batch
        classified(raw_message(4)),
        classified(edited),
        classified(deleted),
        classified(raw_message(5)),
        classified(raw_message(6, author_id=OFFICIAL, official=True)),  # a post, not a reply
        classified(deleted.model_copy(update={"message_id": deleted.message_id + "x"})),
        classified(raw_message(7)),
    ]


async def open_context(settings_factory: SettingsFactory, url: str) -> SlaContext:
    return await open_sla(
        settings_factory(database_url=url), Metrics(), clock=lambda: T0 + timedelta(days=3)
    )


@pytest.fixture
async def two(
    settings_factory: SettingsFactory, database_url: str, postgres_base_url: str
) -> AsyncIterator[tuple[SlaContext, SlaContext]]:
    other = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_base_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{other}"')
    other_url = make_url(postgres_base_url).set(database=other).render_as_string(False)
    one, batch = (
        await open_context(settings_factory, database_url),
        await open_context(settings_factory, other_url),
    )
    yield one, batch
    await one.db.close()
    await batch.db.close()


async def contents(context: SlaContext) -> dict[str, list[dict[str, Any]]]:
    tables: list[Table] = [
        messages, message_authors, message_revisions, incidents, incident_events, outbox
    ]  # fmt: skip
    found = {}
    async with context.db.engine.connect() as connection:
        for table in tables:
            rows = (await connection.execute(select(table))).mappings().all()
            kept = [{k: v for k, v in row.items() if k not in SERVER_CLOCK} for row in rows]
            found[table.name] = sorted(kept, key=repr)
    return found


async def test_one_batch_leaves_what_one_by_one_leaves(
    two: tuple[SlaContext, SlaContext],
) -> None:
    one_by_one, batched = two
    for message in stream():
        await one_by_one.service.on_classified(message)
    await batched.service.on_classified_batch(stream())
    expected = await contents(one_by_one)
    assert await contents(batched) == expected
    assert len(expected["messages"]) == 9
    statuses = sorted(row["status"] for row in expected["incidents"])  # of 1, 3, 4, 5, 7
    assert statuses == ["answered", "assigned", "assigned", "assigned", "source_deleted"]


async def test_a_batch_redelivered_whole_or_in_part_changes_nothing(
    two: tuple[SlaContext, SlaContext],
) -> None:
    once, _ = two
    await once.service.on_classified_batch(stream())
    before = await contents(once)
    await once.service.on_classified_batch(stream())
    await once.service.on_classified_batch([*stream()[3:], classified(raw_message(8))])
    after = await contents(once)
    assert len(after["messages"]) == len(before["messages"]) + 1
    assert len(after["incidents"]) == len(before["incidents"]) + 1
    assert len(after["incident_events"]) == len(before["incident_events"]) + 2
    new = [row for row in after["messages"] if row not in before["messages"]]
    assert [row["message_id"] for row in new] == [raw_message(8).message_id]


async def test_a_batch_rolled_back_is_not_counted_in_the_metrics(
    two: tuple[SlaContext, SlaContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    sla, _ = two
    real = repository.insert_opened

    async def fails_once(*args: Any, **kwargs: Any) -> set[str]:
        monkeypatch.setattr(repository, "insert_opened", real)
        raise ValueError("the connection dropped after the messages were written")

    monkeypatch.setattr(repository, "insert_opened", fails_once)
    with pytest.raises(ValueError, match="dropped"):
        await sla.service.on_classified_batch(stream())
    await sla.service.on_classified_batch(stream())

    def sample(name: str, **labels: str) -> float:
        return sla.metrics.registry.get_sample_value(name, labels) or 0.0

    assert sample("otklik_messages_stored_total", source_kind="vk_comment") == 9
    opened = sample("otklik_incident_transitions_total", type="opened", municipality="testgrad")
    assert opened == 5
    async with sla.db.engine.connect() as connection:
        assert len((await connection.execute(select(messages))).all()) == 9
