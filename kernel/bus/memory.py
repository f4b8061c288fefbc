"""In-process bus for the embedded mode: one queue and one worker per subscription, messages
serialised to JSON exactly as on Kafka so that the contracts are exercised the same way."""

import asyncio
import contextlib

from pydantic import BaseModel

from kernel.bus.delivery import deliver
from kernel.bus.port import Subscription, encode
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics


class InMemoryBus:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._queues: dict[Topic, list[tuple[Subscription, asyncio.Queue[bytes]]]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def subscribe(self, subscription: Subscription) -> None:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._queues.setdefault(subscription.topic, []).append((subscription, queue))

    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        body = encode(payload)
        for _, queue in self._queues.get(topic, []):
            self._pending += 1
            self._idle.clear()
            await queue.put(body)

    def start(self) -> None:
        for pairs in self._queues.values():
            for subscription, queue in pairs:
                self._workers.append(asyncio.create_task(self._work(subscription, queue)))

    async def _work(self, subscription: Subscription, queue: asyncio.Queue[bytes]) -> None:
        while True:
            body = await queue.get()
            try:
                await deliver(subscription, body, self, self._metrics)
            finally:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()

    async def drain(self) -> None:
        """Wait until every message, including those handlers publish meanwhile, is delivered."""
        await self._idle.wait()

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()


class RecordingPublisher:
    """A publisher that keeps what it is given, in order: the fake of the Publisher port for
    tests of a single stage (the raw bytes are kept, as a broker would)."""

    def __init__(self) -> None:
        self.sent: list[tuple[Topic, str, bytes]] = []

    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        self.sent.append((topic, key, encode(payload)))

    def on(self, topic: Topic) -> list[bytes]:
        return [body for sent_topic, _, body in self.sent if sent_topic is topic]

    def messages(self) -> list[RawMessage]:
        return [RawMessage.model_validate_json(body) for body in self.on(Topic.RAW_MESSAGES)]

    def letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(body) for body in self.on(Topic.DEAD_LETTERS)]
