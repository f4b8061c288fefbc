"""Reading back what a test published to a real Kafka topic."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition

from kernel.contracts.topics import Topic, topic_name
from kernel.settings import Settings


@asynccontextmanager
async def _assigned(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group, every partition of ``topic`` assigned, from the start."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while not consumer.assignment():
                await asyncio.sleep(0.05)
        yield consumer
    finally:
        await consumer.stop()


async def _span(consumer: AIOKafkaConsumer) -> tuple[list[TopicPartition], int]:
    partitions = list(consumer.assignment())
    starts = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    return partitions, sum(ends[tp] - starts[tp] for tp in partitions)


async def read_topic(settings: Settings, topic: Topic) -> list[tuple[str, bytes]]:
    """Every record (key, value) of ``topic`` from the beginning up to its current end."""
    name = topic_name(topic, settings.topic_namespace)
    async with _assigned(settings.kafka_bootstrap, name) as consumer:
        _, expected = await _span(consumer)
        records: list[tuple[str, bytes]] = []
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=1000)
            records += [(r.key.decode(), r.value) for rs in batch.values() for r in rs]
        return records


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds now (it is created if it did not exist)."""
    async with _assigned(bootstrap, topic) as consumer:
        return (await _span(consumer))[1]
