"""Make sure a promoted model exists: a fresh clone trains its default model from the seed
corpus in the repository (seconds, no network) and promotes it."""

import logging
from pathlib import Path

from classifier.corpus import corpus_digest, load_corpus, split
from classifier.storage.registry import ModelInfo, ModelRegistry
from classifier.training import evaluate, train

log = logging.getLogger(__name__)


def train_and_register(registry: ModelRegistry, *, promote: bool) -> ModelInfo:
    examples = load_corpus()
    train_set, held_out = split(examples)
    model = train(train_set)
    metrics = evaluate(model, held_out)
    info = registry.save(
        model,
        {
            "training_data_sha256": corpus_digest(train_set),
            "n_train": len(train_set),
            "held_out": metrics,
        },
    )
    if promote:
        registry.promote(info.version)
    log.info("trained model %s: held-out %s", info.version, metrics)
    return info


def ensure_promoted_model(models_path: Path) -> ModelRegistry:
    registry = ModelRegistry(models_path)
    if registry.promoted_version() is None:
        train_and_register(registry, promote=True)
    return registry
