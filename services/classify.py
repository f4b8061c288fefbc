"""`otklik classify`: the classifier stage as its own process on Kafka. scikit-learn (~110 MiB
resident) is imported here, by the process that runs it, and by no other."""

import asyncio

from kernel.bus.port import Publisher, Stage
from kernel.observability import Metrics
from kernel.settings import Settings
from services.kafka_runner import run_stage_on_kafka


async def run_classifier(settings: Settings) -> None:
    from classifier.stage import classifier_stage

    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        return await asyncio.to_thread(classifier_stage, settings, publisher, metrics)

    await run_stage_on_kafka(settings, "classifier", factory)
