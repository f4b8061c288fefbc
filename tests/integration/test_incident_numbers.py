"""Short incident numbers on real PostgreSQL: given at creation in the creating transaction, one
sequence per municipality and year of the resident's message; concurrent creations never share a
number (the second waits for the first's counter row), a rolled-back creation gives its number
back, and the migration numbers existing incidents in the order they were opened."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.engine import Database, sqlalchemy_url
from kernel.db.migrate import upgrade
from kernel.db.schema import incidents
from kernel.observability import Metrics
from sla.domain.lifecycle import Incident, Reassign, opened
from sla.stage import open_sla
from sla.storage import repository
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def opening(item: int) -> tuple[Incident, list[object]]:
    message_id = raw_message(item).message_id
    incident = Incident(
        repository.incident_id_for(message_id), message_id, "vk", "housing", "testgrad", "ЖКХ"
    )
    return incident, [opened("classifier", T0, {})]


async def store(db: Database, items: Sequence[int], created_at: datetime = T0) -> None:
    async with db.transaction() as connection:
        for item in items:
            await repository.insert_message(
                connection, raw_message(item, created_at=created_at), None
            )


async def numbers(db: Database) -> dict[str, tuple[int, int]]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(incidents.c.message_id, incidents.c.number_year, incidents.c.number)
        )
        return {row.message_id: (row.number_year, row.number) for row in rows}


async def waits_on_a_lock(watcher: AsyncConnection, pid: int) -> None:
    query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    while await watcher.scalar(query, {"pid": pid}) != "Lock":
        await watcher.rollback()  # a fresh snapshot of pg_stat_activity on the next read
        await asyncio.sleep(0.01)


async def test_a_concurrent_creation_waits_for_the_counter_and_takes_the_next_number(
    db: Database,
) -> None:
    await store(db, [1, 2])
    async with db.engine.connect() as first, db.engine.connect() as second:
        await first.begin()
        await repository.insert_opened(first, [opening(1)], T0)  # type: ignore[list-item]
        await second.begin()
        pid = await second.scalar(text("SELECT pg_backend_pid()"))
        racing = asyncio.create_task(
            repository.insert_opened(second, [opening(2)], T0)  # type: ignore[list-item]
        )
        async with db.engine.connect() as watcher:
            # A counter read without a lock would not wait here: the test then times out.
            await asyncio.wait_for(waits_on_a_lock(watcher, pid), timeout=30)
        await first.commit()
        await racing
        await second.commit()
    assert await numbers(db) == {
        raw_message(1).message_id: (2026, 1),
        raw_message(2).message_id: (2026, 2),
    }


async def test_many_incidents_created_at_once_get_distinct_consecutive_numbers(
    settings_factory: SettingsFactory, database_url: str
) -> None:
    context = await open_sla(settings_factory(database_url=database_url), Metrics())
    try:
        await asyncio.gather(
            *(
                context.service.on_classified(classified(raw_message(item, created_at=T0)))
                for item in range(1, 21)
            )
        )
        given = await numbers(context.db)
    finally:
        await context.db.close()
    assert sorted(number for _, number in given.values()) == list(range(1, 21))


async def test_a_rolled_back_creation_gives_its_number_back_and_years_count_apart(
    db: Database,
) -> None:
    await store(db, [1, 2])
    # 23:30 in Moscow on New Year's Eve is 2027 there: the municipality's zone decides the year.
    await store(db, [3], created_at=datetime(2026, 12, 31, 21, 30, tzinfo=UTC))
    moscow = ZoneInfo("Europe/Moscow")
    with pytest.raises(RuntimeError):
        async with db.transaction() as connection:
            await repository.insert_opened(connection, [opening(1)], T0)  # type: ignore[list-item]
            raise RuntimeError("the batch failed")
    async with db.transaction() as connection:
        await repository.insert_opened(
            connection,
            [opening(2), opening(3), opening(1)],  # type: ignore[list-item]
            T0,
            lambda _: moscow,
        )
    assert await numbers(db) == {
        raw_message(2).message_id: (2026, 1),
        raw_message(3).message_id: (2027, 1),
        raw_message(1).message_id: (2026, 2),
    }


async def test_a_reassigned_incident_keeps_its_number_and_the_new_place_counts_its_own(
    settings_factory: SettingsFactory, database_url: str
) -> None:
    context = await open_sla(settings_factory(database_url=database_url), Metrics())
    try:
        await context.service.on_classified(classified(raw_message(1, created_at=T0)))
        moved = repository.incident_id_for(raw_message(1).message_id)
        await context.service.act(
            moved, Reassign("glava", "severogorsk", None, "не тот город"), override_claim=True
        )
        there = raw_message(2, created_at=T0).model_copy(update={"municipality": "severogorsk"})
        await context.service.on_classified(classified(there))
        async with context.db.engine.connect() as connection:
            rows = await connection.execute(
                select(
                    incidents.c.message_id,
                    incidents.c.municipality,
                    incidents.c.number_municipality,
                    incidents.c.number,
                )
            )
            given = {row.message_id: tuple(row)[1:] for row in rows}
    finally:
        await context.db.close()
    assert given == {
        raw_message(1).message_id: ("severogorsk", "testgrad", 1),
        there.message_id: ("severogorsk", "severogorsk", 1),
    }


def test_the_migration_numbers_existing_incidents_in_the_order_they_were_opened(
    database_url: str,
) -> None:
    upgrade(database_url, "0008")
    engine = create_engine(sqlalchemy_url(database_url))
    opened_at = {"a": T0 + timedelta(hours=2), "b": T0, "c": T0 + timedelta(hours=1)}
    with engine.begin() as connection:
        for key, at in opened_at.items():
            connection.execute(
                text(
                    "INSERT INTO messages (message_id, source_kind, channel, source_id,"
                    " thread_key, text, attachments, is_official, created_at, received_at,"
                    " municipality) VALUES (:id, 'vk_comment', 'vk', 'vk:-7', 't', '', '[]',"
                    " false, :at, :at, 'm')"
                ),
                {"id": key, "at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO incidents (incident_id, message_id, channel, municipality,"
                    " status, seq) VALUES (:id, :id, 'vk', 'm', 'new', 0)"
                ),
                {"id": key},
            )
            connection.execute(
                text(
                    "INSERT INTO incident_events (incident_id, seq, type, status, actor, at,"
                    " data) VALUES (:id, 0, 'opened', 'new', 'classifier', :at, '{}')"
                ),
                {"id": key, "at": at},
            )
    upgrade(database_url)
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT incident_id, number FROM incidents"))
        assert {row.incident_id: row.number for row in rows} == {"b": 1, "c": 2, "a": 3}
        last = connection.scalar(text("SELECT last FROM incident_counters WHERE municipality='m'"))
    engine.dispose()
    assert last == 3
