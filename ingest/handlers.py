"""Ingest shell: normalise an event, publish it durably, dead-letter what cannot be read."""

import json
import logging
import reprlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ingest.domain.sources import SourceCatalog
from ingest.domain.vk_events import InvalidEventError, ignored_type, normalise_vk_event
from kernel.bus.delivery import make_dead_letter, send_dead_letter
from kernel.bus.port import Publisher, publish_many
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics

STAGE = "ingest"
log = logging.getLogger(__name__)


class VkEventIngestor:
    def __init__(
        self,
        catalog: SourceCatalog,
        publisher: Publisher,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.catalog = catalog
        self._publisher = publisher
        self.metrics = metrics
        self._clock = clock
        self._logged_types: set[str] = set()

    async def on_event(self, event: Any, raw: bytes | None = None) -> bool:
        """Publish the event's message; False when it was dead-lettered or ignored."""
        message = await self._message(event, raw)
        if message is None:
            return False
        await self.publish(message)
        return True

    async def on_events(self, events: list[Any]) -> int:
        """A batch of events (one long-poll reply): their messages are published together, in
        order, and this returns once all are durable; returns how many were published."""
        found = [await self._message(event) for event in events]
        messages = [message for message in found if message is not None]
        await publish_many(
            self._publisher, Topic.RAW_MESSAGES, [(m.thread_key, m) for m in messages]
        )
        for kind, count in Counter(m.source_kind.value for m in messages).items():
            self.metrics.ingested.labels(source_kind=kind).inc(count)
        return len(messages)

    async def _message(self, event: Any, raw: bytes | None = None) -> RawMessage | None:
        """The event's message; None when it was dead-lettered or is of a type not handled."""
        try:
            message = normalise_vk_event(event, self.catalog, self._clock())
        except InvalidEventError as error:
            await self.dead_letter(raw if raw is not None else _body(event), str(error))
            return None
        if message is None:
            self._ignored(ignored_type(event.get("type")))
        return message

    def _ignored(self, label: str) -> None:
        self.metrics.vk_events_ignored.labels(type=label).inc()
        if label not in self._logged_types:  # once per type: a chatty type must not flood the log
            self._logged_types.add(label)
            log.info("VK events of type %s are not handled: acknowledged and counted", label)

    async def publish(self, message: RawMessage) -> None:
        """Returns once the message is durable on the raw topic."""
        await self._publisher.publish(Topic.RAW_MESSAGES, message.thread_key, message)
        self.metrics.ingested.labels(source_kind=message.source_kind.value).inc()

    async def on_line(self, line: bytes, where: str) -> bool:
        """One JSON line of a replay file or a long-poll batch."""
        try:
            event = json.loads(line)
        except ValueError as error:
            await self.dead_letter(line, f"{where}: not JSON ({error})")
            return False
        except RecursionError:
            await self.dead_letter(line, f"{where}: JSON nested too deeply")
            return False
        return await self.on_event(event, raw=line)

    async def dead_letter(self, body: bytes, reason: str) -> None:
        letter = make_dead_letter(STAGE, None, body, reason)
        await send_dead_letter(self._publisher, self.metrics, letter)


def _body(event: Any) -> bytes:
    """The event as kept in its dead letter: JSON where it can be written back (unpaired
    surrogates escaped), a bounded repr where it is nested too deeply (or circular) for that."""
    try:
        text = json.dumps(event, ensure_ascii=False, default=repr)
    except (RecursionError, ValueError):
        text = reprlib.repr(event)
    return text.encode("utf-8", "backslashreplace")
