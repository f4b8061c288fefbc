"""Reading back what a test published to a real Kafka topic."""

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.contracts.topics import Topic, topic_name
from services.settings import Settings


async def read_topic(settings: Settings, topic: Topic) -> list[tuple[str, bytes]]:
    """Every record (key, value) of ``topic`` from the beginning up to its current end."""
    name = topic_name(topic, settings.topic_namespace)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        if name not in await consumer.topics():  # also loads the metadata of every topic
            return []
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
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
