"""Classifier shell: raw message in, classified message out, with the model version recorded."""

import asyncio
import logging
import time

from classifier.domain import DEPARTMENTS
from classifier.model import IncidentModel
from classifier.registry import ModelRegistry
from services.bus.port import Publisher
from services.contracts.classification import ClassifiedMessage, Decision, Sentiment
from services.contracts.messages import MessageAction, RawMessage
from services.contracts.topics import Topic
from services.observability import Metrics

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
    official = message.author is not None and message.author.is_official
    if message.action is MessageAction.DELETED or official:
        return None
    verdict = model.classify([message.text], explain=True)[0]
    department = message.department or (
        DEPARTMENTS.get(verdict.category or "") if verdict.is_incident else None
    )
    return Decision(
        is_incident=verdict.is_incident,
        score=verdict.score,
        threshold=model.threshold,
        category=verdict.category,
        department=department,
        sentiment=Sentiment(verdict.sentiment),
        model_version=model.version,
        explanation=verdict.explanation,
    )


class ClassifierStage:
    def __init__(self, holder: ModelHolder, publisher: Publisher, metrics: Metrics) -> None:
        self._holder = holder
        self._publisher = publisher
        self._metrics = metrics

    async def on_raw(self, message: RawMessage) -> None:
        started = time.perf_counter()
        decision = decide(self._holder.model, message)
        self._metrics.classifier_latency.observe(time.perf_counter() - started)
        if decision is not None:
            self._metrics.classified.labels(
                category=decision.category or "none", flagged=str(decision.is_incident).lower()
            ).inc()
        classified = ClassifiedMessage(message=message, decision=decision)
        await self._publisher.publish(Topic.CLASSIFIED_MESSAGES, message.thread_key, classified)
