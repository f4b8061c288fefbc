"""The bus port: what a stage needs to publish and what it declares to consume."""

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from kernel.contracts.topics import Topic


class Publisher(Protocol):
    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        """Return only once the message is durably accepted by the transport.

        ``bytes`` are an already-serialised contract model (the outbox stores JSON).
        """


Outgoing = tuple[str, BaseModel | bytes]  # (key, payload) of one message


@runtime_checkable
class BatchPublisher(Publisher, Protocol):
    async def publish_many(self, topic: Topic, messages: Sequence[Outgoing]) -> None:
        """Return only once every message is durably accepted; messages of one key keep their
        order. The transport pipelines them instead of waiting for each acknowledgement."""


async def publish_many(publisher: Publisher, topic: Topic, messages: Sequence[Outgoing]) -> None:
    """Publish in order, batched where the transport can do it, else one by one."""
    if isinstance(publisher, BatchPublisher):
        await publisher.publish_many(topic, messages)
        return
    for key, payload in messages:
        await publisher.publish(topic, key, payload)


def encode(payload: BaseModel | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else payload.model_dump_json().encode()


@dataclass(frozen=True)
class Subscription:
    """A stage consumes ``topic`` as ``model`` in consumer group ``group``.

    ``handle_batch``, where given, must do what ``handle`` of each message in order would, and
    all or nothing (one transaction): transports that read many records at once use it, and fall
    back to ``handle`` one by one when a batch fails for a reason other than an outage.
    """

    topic: Topic
    group: str
    model: type[BaseModel]
    handle: Callable[[Any], Awaitable[None]]
    handle_batch: Callable[[list[Any]], Awaitable[None]] | None = None


@dataclass
class Stage:
    """What a stage brings to a runtime: its subscriptions, its background loops, its clean-up."""

    name: str
    subscriptions: list[Subscription] = field(default_factory=list)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer()
