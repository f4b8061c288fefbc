"""The bus port: what a stage needs to publish and what it declares to consume."""

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from services.contracts.topics import Topic


class Publisher(Protocol):
    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        """Return only once the message is durably accepted by the transport.

        ``bytes`` are an already-serialised contract model (the outbox stores JSON).
        """


def encode(payload: BaseModel | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else payload.model_dump_json().encode()


@dataclass(frozen=True)
class Subscription:
    """A stage consumes ``topic`` as ``model`` in consumer group ``group``."""

    topic: Topic
    group: str
    model: type[BaseModel]
    handle: Callable[[Any], Awaitable[None]]


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
