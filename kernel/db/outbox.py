"""Transactional outbox: events are written in the same transaction as the state they describe,
and a relay publishes them afterwards. A crash between "saved" and "published" loses nothing;
a crash between "published" and "marked" republishes, and consumers dedupe by event id."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from itertools import groupby

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.bus.port import Outgoing, Publisher, publish_many
from kernel.contracts.topics import Topic
from kernel.db.bulk import insert_rows
from kernel.db.engine import Database
from kernel.db.schema import outbox
from kernel.observability import Metrics

log = logging.getLogger(__name__)


async def enqueue(connection: AsyncConnection, topic: Topic, key: str, payload: BaseModel) -> None:
    await enqueue_many(connection, topic, [(key, payload)])


async def enqueue_many(
    connection: AsyncConnection, topic: Topic, messages: Sequence[tuple[str, BaseModel]]
) -> None:
    """Put messages in the outbox in one statement; the relay publishes them in this order."""
    await insert_rows(
        connection,
        outbox,
        [
            {"topic": topic.value, "key": key, "payload": payload.model_dump_json()}
            for key, payload in messages
        ],
    )


class OutboxRelay:
    def __init__(self, db: Database, publisher: Publisher, metrics: Metrics, batch: int = 500):
        self._db = db
        self._publisher = publisher
        self._metrics = metrics
        self._batch = batch

    async def relay_once(self) -> int:
        """Publish one batch in id order; returns how many were published."""
        async with self._db.transaction() as connection:
            rows = (
                await connection.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            # Runs of one topic go out together (pipelined, in order), not one round trip each.
            for topic, run in groupby(rows, key=lambda row: row.topic):
                outgoing: list[Outgoing] = [(row.key, row.payload.encode()) for row in run]
                await publish_many(self._publisher, Topic(topic), outgoing)
            if rows:
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in rows]))
                    .values(published_at=func.now())
                )
        return len(rows)

    async def backlog(self) -> int:
        async with self._db.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        self._metrics.outbox_backlog.set(count or 0)
        return int(count or 0)

    async def drain(self) -> None:
        while await self.relay_once():
            pass
        await self.backlog()

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("outbox relay failed; retrying")
                # The backlog must keep moving on /metrics while publishing fails (Kafka down):
                # that is exactly when the "outbox backlog growing" alert has to fire.
                with contextlib.suppress(Exception):
                    await self.backlog()
            await asyncio.sleep(interval)
