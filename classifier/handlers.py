"""Classifier shell: raw message in, classified message out, with the model version recorded."""

import asyncio
import logging
import time

from classifier.domain.model import IncidentModel
from classifier.storage.registry import ModelRegistry
from kernel.bus.port import Publisher, publish_many
from kernel.contracts.categories import DEPARTMENTS
from kernel.contracts.classification import ClassifiedMessage, Decision, Sentiment
from kernel.contracts.messages import MessageAction, RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics

log = logging.getLogger(__name__)


class ModelHolder:
    """The promoted model, swapped in place when another version is promoted."""

    def __init__(self, registry: ModelRegistry, metrics: Metrics) -> None:
        self._registry = registry
        self._metrics = metrics
        self.model = registry.load_promoted()
        metrics.model_version.labels(version=self.model.version).set(1)

    def reload_if_promoted(self) -> bool:
        version = self._registry.promoted_version()
        if version is None or version == self.model.version:
            return False
        previous = self.model.version
        self.model = self._registry.load(version)
        self._metrics.model_version.labels(version=previous).set(0)
        self._metrics.model_version.labels(version=version).set(1)
        log.info("hot-reloaded model %s (was %s)", version, previous)
        return True

    async def watch(self, interval: float = 5.0) -> None:
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.reload_if_promoted)


def decide(model: IncidentModel, message: RawMessage) -> Decision | None:
    """None for what needs no decision: deletions and the administration's own replies."""
    return decide_all(model, [message])[0]


def decide_all(model: IncidentModel, messages: list[RawMessage]) -> list[Decision | None]:
    """``decide`` of each message, the texts classified in one call (the model's fast path)."""
    wanted = [
        i
        for i, message in enumerate(messages)
        if message.action is not MessageAction.DELETED
        and not (message.author is not None and message.author.is_official)
    ]
    verdicts = model.classify([messages[i].text for i in wanted], explain=True)
    decisions: list[Decision | None] = [None] * len(messages)
    for i, verdict in zip(wanted, verdicts, strict=True):
        department = messages[i].department or (
            DEPARTMENTS.get(verdict.category or "") if verdict.is_incident else None
        )
        decisions[i] = Decision(
            is_incident=verdict.is_incident,
            score=verdict.score,
            threshold=model.threshold,
            category=verdict.category,
            department=department,
            sentiment=Sentiment(verdict.sentiment),
            model_version=model.version,
            explanation=verdict.explanation,
        )
    return decisions


class ClassifierStage:
    def __init__(self, holder: ModelHolder, publisher: Publisher, metrics: Metrics) -> None:
        self._holder = holder
        self._publisher = publisher
        self._metrics = metrics

    async def on_raw(self, message: RawMessage) -> None:
        await self.on_raw_batch([message])

    async def on_raw_batch(self, messages: list[RawMessage]) -> None:
        """Classify the messages together and publish them in their order."""
        if not messages:
            return
        started = time.perf_counter()
        decisions = decide_all(self._holder.model, messages)
        # The histogram is of one message's latency: a batch's time is shared out.
        each = (time.perf_counter() - started) / len(messages)
        for decision in decisions:
            self._metrics.classifier_latency.observe(each)
            if decision is not None:
                self._metrics.classified.labels(
                    category=decision.category or "none",
                    flagged=str(decision.is_incident).lower(),
                ).inc()
        await publish_many(
            self._publisher,
            Topic.CLASSIFIED_MESSAGES,
            [
                (message.thread_key, ClassifiedMessage(message=message, decision=decision))
                for message, decision in zip(messages, decisions, strict=True)
            ],
        )
