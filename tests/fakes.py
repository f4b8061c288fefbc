"""Fakes of the bus port shared by the test tiers, and a polling wait for asynchronous effects."""

import asyncio
from collections.abc import Callable

from pydantic import BaseModel

from services.bus.port import encode
from services.contracts.deadletters import DeadLetter
from services.contracts.messages import RawMessage
from services.contracts.topics import Topic


class RecordingPublisher:
    """A Publisher that keeps what it was given, serialised as on the wire."""

    def __init__(self) -> None:
        self.sent: list[tuple[Topic, str, bytes]] = []

    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        self.sent.append((topic, key, encode(payload)))

    def messages(self) -> list[RawMessage]:
        return [
            RawMessage.model_validate_json(body)
            for topic, _, body in self.sent
            if topic is Topic.RAW_MESSAGES
        ]

    def letters(self) -> list[DeadLetter]:
        return [
            DeadLetter.model_validate_json(body)
            for topic, _, body in self.sent
            if topic is Topic.DEAD_LETTERS
        ]


async def wait_for(predicate: Callable[[], object]) -> None:
    """Return once ``predicate()`` is true; fail the test after 30 seconds."""
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.02)
