"""Consumer lag measured by the Kafka transport on a real broker: what is published and not yet
handled shows per partition, and drops to zero once the handler caught up and committed."""

import asyncio

import pytest

from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Subscription
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from tests.conftest import SettingsFactory
from tests.factories import raw_message
from tests.fakes import wait_for
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration
SENT = 12


def lag_by_partition(metrics: Metrics) -> dict[str, float]:
    return {
        sample.labels["partition"]: sample.value
        for family in metrics.registry.collect()
        if family.name == "otklik_consumer_lag"
        for sample in family.samples
        if sample.labels["topic"] == Topic.RAW_MESSAGES.value
        and sample.labels["group"] == "classifier"
    }


async def test_lag_is_what_is_published_and_not_yet_handled(
    kafka_server: KafkaServer, settings_factory: SettingsFactory
) -> None:
    settings = settings_factory(kafka_bootstrap=kafka_server.bootstrap, consumer_lag_seconds=0.1)
    metrics = Metrics()
    release = asyncio.Event()
    handled: list[str] = []

    async def on_raw(message: RawMessage) -> None:
        await release.wait()  # the consumer is stuck on its first message until released
        handled.append(message.message_id)

    transport = KafkaTransport(settings, metrics, client_id="test-lag")
    transport.subscribe(Subscription(Topic.RAW_MESSAGES, "classifier", RawMessage, on_raw))
    await transport.start()
    try:
        sent = [raw_message(item) for item in range(1, SENT + 1)]
        await transport.publish_many(
            Topic.RAW_MESSAGES, [(f"thread{m.message_id}", m) for m in sent]
        )
        await wait_for(lambda: sum(lag_by_partition(metrics).values()) == SENT)
        stuck = lag_by_partition(metrics)
        assert set(stuck) == {str(p) for p in range(settings.kafka_partitions)}
        release.set()
        await wait_for(lambda: len(handled) == SENT)
        await wait_for(lambda: sum(lag_by_partition(metrics).values()) == 0)
    finally:
        await transport.stop()
