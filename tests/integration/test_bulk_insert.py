"""``insert_rows`` on a real PostgreSQL: every value comes back as it went in (timestamps to
the microsecond in any zone, JSON documents, NULLs), rows keep their order (serial ids), and
conflicts are skipped only when asked."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from kernel.db.bulk import insert_rows
from kernel.db.engine import sqlalchemy_url
from kernel.db.migrate import upgrade
from kernel.db.schema import messages, outbox

pytestmark = pytest.mark.integration
MSK = timezone(timedelta(hours=3))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    upgrade(database_url)
    engine = create_async_engine(sqlalchemy_url(database_url))
    yield engine
    await engine.dispose()


def message(n: int, **fields: object) -> dict[str, object]:
    return {
        "message_id": f"m{n}", "source_kind": "vk_comment", "channel": "vk",
        "source_id": "vk:-1", "thread_key": "t", "text": f'"кавычки" \\ и {n}\x01',
        "attachments": [{"type": "photo", "url": "https://vk.ru/x?a=1&b=\"2\""}],
        "is_official": False, "created_at": datetime(2026, 9, 1, 10, 0, 0, 123456, tzinfo=MSK),
        "received_at": datetime(2026, 9, 1, 7, 0, 1, tzinfo=UTC), "municipality": "g",
        "explanation": None, **fields,
    }  # fmt: skip


async def test_values_round_trip_and_conflicts_are_skipped_when_asked(engine: AsyncEngine) -> None:
    rows = [message(1), message(2, explanation=["яма", "нет воды"], text="")]
    async with engine.begin() as connection:
        await insert_rows(connection, messages, rows)
        await insert_rows(connection, messages, [message(1, text="другой"), message(3)],
                          skip_conflicts=True)  # fmt: skip
    async with engine.connect() as connection:
        stored = (await connection.execute(select(messages).order_by("message_id"))).mappings()
        found = {row["message_id"]: row for row in stored}
        nulls = await connection.scalar(
            select(messages.c.message_id).where(messages.c.explanation.is_(None)).limit(1)
        )
    assert sorted(found) == ["m1", "m2", "m3"]
    for row in (*rows, message(3)):
        for column, value in row.items():
            assert found[row["message_id"]][column] == value, column
    assert nulls == "m1"  # SQL NULL, not a JSON null
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await insert_rows(connection, messages, [message(1)])


async def test_rows_keep_their_order(engine: AsyncEngine) -> None:
    keys = [f"k{n:03d}" for n in range(300)][::-1]
    rows = [{"topic": "t", "key": key, "payload": "{}"} for key in keys]
    async with engine.begin() as connection:
        await insert_rows(connection, outbox, rows)
    async with engine.connect() as connection:
        stored = (await connection.execute(select(outbox.c.key).order_by(outbox.c.id))).scalars()
        assert list(stored) == keys
