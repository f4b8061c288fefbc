"""The classifier stage: loads the promoted model at start and hot-reloads on promotion."""

from classifier.bootstrap import ensure_promoted_model
from classifier.handlers import ClassifierStage, ModelHolder
from kernel.bus.port import Publisher, Stage, Subscription
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from kernel.settings import Settings


def classifier_stage(settings: Settings, publisher: Publisher, metrics: Metrics) -> Stage:
    holder = ModelHolder(ensure_promoted_model(settings.models_path), metrics)
    stage = ClassifierStage(holder, publisher, metrics)
    return Stage(
        name="classifier",
        subscriptions=[
            Subscription(
                Topic.RAW_MESSAGES, "classifier", RawMessage, stage.on_raw, stage.on_raw_batch
            )
        ],
        background=[holder.watch],
    )
