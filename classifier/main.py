"""The classifier stage: loads the promoted model at start and hot-reloads on promotion."""

from classifier.bootstrap import ensure_promoted_model
from classifier.handlers import ClassifierStage, ModelHolder
from services.bus.port import Publisher, Stage, Subscription
from services.contracts.messages import RawMessage
from services.contracts.topics import Topic
from services.observability import Metrics
from services.settings import Settings


def create_stage(settings: Settings, publisher: Publisher, metrics: Metrics) -> Stage:
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
