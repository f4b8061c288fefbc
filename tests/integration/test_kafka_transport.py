"""The Kafka transport on a real broker: delivery, dead letters, commit after handling."""

import pytest
from aiokafka import AIOKafkaProducer

from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Subscription
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic, topic_name
from kernel.observability import Metrics
from tests.conftest import SettingsFactory
from tests.factories import raw_message
from tests.fakes import wait_for
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration


async def test_messages_arrive_and_bad_input_becomes_a_dead_letter(
    kafka_server: KafkaServer, settings_factory: SettingsFactory
) -> None:
    settings = settings_factory(kafka_bootstrap=kafka_server.bootstrap)
    received: list[RawMessage] = []
    letters: list[DeadLetter] = []

    async def on_raw(message: RawMessage) -> None:
        received.append(message)

    async def on_letter(letter: DeadLetter) -> None:
        letters.append(letter)

    transport = KafkaTransport(settings, Metrics(), client_id="test")
    transport.subscribe(Subscription(Topic.RAW_MESSAGES, "classifier", RawMessage, on_raw))
    transport.subscribe(Subscription(Topic.DEAD_LETTERS, "deadletters", DeadLetter, on_letter))
    await transport.start()
    try:
        good = raw_message(1)
        await transport.publish(Topic.RAW_MESSAGES, good.thread_key, good)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_server.bootstrap)
        await producer.start()
        await producer.send_and_wait(
            topic_name(Topic.RAW_MESSAGES, settings.topic_namespace), b"{oops"
        )
        await producer.stop()
        await wait_for(lambda: received and letters)
    finally:
        await transport.stop()
    assert received == [good]
    assert letters[0].stage == "classifier"
    assert "invalid otklik.messages.raw.v1" in letters[0].reason
    assert letters[0].payload == "{oops"


async def test_publish_many_returns_when_durable_and_keeps_each_keys_order(
    kafka_server: KafkaServer, settings_factory: SettingsFactory
) -> None:
    settings = settings_factory(kafka_bootstrap=kafka_server.bootstrap)
    received: list[RawMessage] = []

    async def on_raw(message: RawMessage) -> None:
        received.append(message)

    sent = [
        raw_message(item).model_copy(update={"thread_key": f"vk:thread{item % 7}"})
        for item in range(1, 501)
    ]
    transport = KafkaTransport(settings, Metrics(), client_id="test")
    transport.subscribe(Subscription(Topic.RAW_MESSAGES, "classifier", RawMessage, on_raw))
    await transport.start()
    try:
        await transport.publish_many(Topic.RAW_MESSAGES, [(m.thread_key, m) for m in sent])
        await wait_for(lambda: len(received) >= len(sent))
    finally:
        await transport.stop()
    assert len(received) == len(sent)
    for key in {m.thread_key for m in sent}:
        in_order = [m.message_id for m in sent if m.thread_key == key]
        assert [m.message_id for m in received if m.thread_key == key] == in_order


async def test_a_batch_subscription_reads_a_backlog_in_batches_and_commits_them(
    kafka_server: KafkaServer, settings_factory: SettingsFactory
) -> None:
    settings = settings_factory(kafka_bootstrap=kafka_server.bootstrap, kafka_batch_records=100)
    batches: list[list[RawMessage]] = []

    async def one(message: RawMessage) -> None:
        batches.append([message])

    async def many(batch: list[RawMessage]) -> None:
        batches.append(batch)

    def received() -> list[RawMessage]:
        return [message for batch in batches for message in batch]

    sent = [
        raw_message(item).model_copy(update={"thread_key": f"vk:thread{item % 5}"})
        for item in range(1, 401)
    ]
    producer = KafkaTransport(settings, Metrics(), client_id="test-producer")
    await producer.start()
    try:  # a backlog before the consumer starts
        await producer.publish_many(Topic.RAW_MESSAGES, [(m.thread_key, m) for m in sent])
    finally:
        await producer.stop()
    subscription = Subscription(Topic.RAW_MESSAGES, "classifier", RawMessage, one, many)
    transport = KafkaTransport(settings, Metrics(), client_id="test")
    transport.subscribe(subscription)
    await transport.start()
    try:
        await wait_for(lambda: len(received()) >= len(sent))
    finally:
        await transport.stop()
    assert sorted(m.message_id for m in received()) == sorted(m.message_id for m in sent)
    assert max(len(batch) for batch in batches) > 1
    assert max(len(batch) for batch in batches) <= 100
    for key in {m.thread_key for m in sent}:
        in_order = [m.message_id for m in sent if m.thread_key == key]
        assert [m.message_id for m in received() if m.thread_key == key] == in_order

    batches.clear()
    again = KafkaTransport(settings, Metrics(), client_id="test")
    again.subscribe(subscription)
    await again.start()
    try:
        late = raw_message(999)
        await again.publish(Topic.RAW_MESSAGES, late.thread_key, late)
        await wait_for(received)
    finally:
        await again.stop()
    assert received() == [late]  # what was handled before was committed, not read again
