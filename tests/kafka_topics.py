"""Reading back what a test published to a real Kafka topic."""

import asyncio

from aiokafka import AIOKafkaConsumer

from services.contracts.topics import Topic, topic_name
from services.settings import Settings


async def read_topic(settings: Settings, topic: Topic) -> list[tuple[str, bytes]]:
    """Every record (key, value) of ``topic`` from the beginning up to its current end."""
    consumer = AIOKafkaConsumer(
        topic_name(topic, settings.topic_namespace),
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):  # without a group, every partition is assigned at once
            while not consumer.assignment():
                await asyncio.sleep(0.05)
        partitions = list(consumer.assignment())
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        expected = sum(ends[tp] - starts[tp] for tp in partitions)
        records: list[tuple[str, bytes]] = []
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=1000)
            records += [(r.key.decode(), r.value) for rs in batch.values() for r in rs]
        return records
    finally:
        await consumer.stop()
