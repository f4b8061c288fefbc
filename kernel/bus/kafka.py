"""Kafka transport (FastStream + aiokafka) for the distributed mode.

Offsets are committed only after ``deliver`` returns, i.e. after the handler's database
transaction committed or the input was dead-lettered; consumption is sequential per consumer, so
FastStream's commit of the current position is exact.

FastStream consumes; an aiokafka producer of our own publishes. FastStream's publish wraps each
message in a command, a correlation id, headers and its Prometheus middleware: 110–130 µs of
CPU a message (bench.ingest), as much as the producer's own work, for nothing otklik reads.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import cast

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from pydantic import BaseModel

from kernel.bus.delivery import deliver, deliver_batch
from kernel.bus.lag import LagMonitor, WatchedConsumer
from kernel.bus.port import Outgoing, Subscription, encode
from kernel.contracts.topics import Topic, topic_name
from kernel.observability import Metrics
from kernel.settings import Settings

log = logging.getLogger(__name__)
HEADERS = [("content-type", b"application/json")]  # every payload is a contract model's JSON


class KafkaTransport:
    def __init__(self, settings: Settings, metrics: Metrics, client_id: str) -> None:
        self._settings = settings
        self._metrics = metrics
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            client_id=client_id,
            enable_idempotence=True,
            middlewares=[KafkaPrometheusMiddleware(registry=metrics.registry, app_name=client_id)],
            # Ours, not FastStream's own logger (its handler and level ignore OTKLIK_LOG_LEVEL
            # and wrote two INFO lines for every record or batch consumed).
            logger=logging.getLogger("otklik.kafka"),
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=client_id,
            enable_idempotence=True,  # acks=all, and no duplicate from the producer's retries
        )
        self._lag = LagMonitor(metrics)
        self._lag_task: asyncio.Task[None] | None = None

    def name(self, topic: Topic) -> str:
        return topic_name(topic, self._settings.topic_namespace)

    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        await self.publish_many(topic, [(key, payload)])

    async def publish_many(self, topic: Topic, messages: Sequence[Outgoing]) -> None:
        """Hand every message to the producer in order, then wait for all acknowledgements: the
        producer fills its per-partition batches instead of one round trip per message. aiokafka
        keeps one request in flight per broker, so each partition keeps the order given."""
        name = self.name(topic)
        pending = [
            await self._producer.send(name, encode(payload), key=key.encode(), headers=HEADERS)
            for key, payload in messages
        ]
        results = await asyncio.gather(*pending, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed

    def subscribe(self, subscription: Subscription) -> None:
        group = f"{self._settings.consumer_group_prefix}.{subscription.group}"
        # With a batch handler: what the consumer has fetched, up to the limit, without waiting
        # for more; a backlog goes by in large batches, a trickle one record at a time.
        batch = subscription.handle_batch is not None

        async def on_message(message: KafkaMessage) -> None:
            if batch:  # the batch parser's body: one value per record
                bodies = cast("list[bytes]", message.body)
                await deliver_batch(subscription, bodies, self, self._metrics)
            else:
                await deliver(subscription, message.body, self, self._metrics)

        subscriber = self.broker.subscriber(
            self.name(subscription.topic),
            group_id=group,
            ack_policy=AckPolicy.ACK,
            auto_offset_reset="earliest",
            decoder=_raw_body,
            batch=batch,
            max_records=self._settings.kafka_batch_records if batch else None,
        )
        subscriber(on_message)
        # Dead letters of this stage start as a series at 0, so rate() and increase() count the
        # first one too (a series born with its first increment hides it).
        self._metrics.dead_letters.labels(stage=subscription.group)
        topic, logical_group = subscription.topic.value, subscription.group
        self._lag.watch(WatchedConsumer(topic, logical_group, lambda: subscriber.consumer))

    async def start(self) -> None:
        await ensure_topics(self._settings, list(Topic))
        await self._producer.start()
        await self.broker.start()
        if self._lag.watching:
            self._lag_task = asyncio.create_task(self._lag.run(self._settings.consumer_lag_seconds))

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
        await self.broker.stop()
        await self._producer.stop()


async def _raw_body(message: KafkaMessage) -> bytes:
    """The record's value as it is: ``deliver`` reads it against the contract and dead-letters
    what it cannot read. FastStream's own decoder (json.loads) raises on a value nested too deep
    or holding a number of over 4,300 digits, before any handler runs: the record was lost."""
    return message.body


async def ensure_topics(settings: Settings, topics: list[Topic]) -> None:
    """Create missing topics (partitioned for scaling by consumer groups)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topic_name(topic, settings.topic_namespace) for topic in topics]
        missing = [name for name in wanted if name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=settings.kafka_partitions,
                        replication_factor=settings.kafka_replication_factor,
                    )
                    for name in missing
                ]
            )
            log.info("created topics %s", missing)
    finally:
        await admin.close()
