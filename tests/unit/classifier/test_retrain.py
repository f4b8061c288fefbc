"""Retraining from moderator labels: the promotion rule on hand-built metrics, the held-out texts
that never reach training, and the whole flow against a real registry with scripted models."""

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from classifier.corpus import Example, corpus_digest, is_held_out, load_corpus, split
from classifier.domain.model import IncidentModel, build_features, incident_head, label_head
from classifier.domain.verdict import Verdict
from classifier.retrain import assemble, compare, format_report, label_example, retrain
from classifier.storage.registry import ModelRegistry, NoPromotedModelError
from classifier.training import train


def metrics(precision: float, recall: float, f1: float) -> dict[str, Any]:
    return {"n": 100, "precision": precision, "recall": recall, "f1": f1}


CHAMPION = metrics(0.95, 0.92, 0.9348)


@pytest.mark.parametrize(
    ("challenger", "beats"),
    [
        (metrics(0.96, 0.93, 0.9448), True),  # better everywhere
        (metrics(0.99, 0.90, 0.9429), True),  # less recall, still at the target, higher F1
        (metrics(0.95, 0.92, 0.9348), False),  # equal is not better
        (metrics(0.94, 0.92, 0.9298), False),  # worse F1
        (metrics(1.00, 0.89, 0.9418), False),  # higher F1 bought with recall below the target
    ],
)
def test_promotion_rule(challenger: dict[str, Any], beats: bool) -> None:
    comparison = compare(CHAMPION, challenger)
    assert comparison.beats is beats, comparison.reason
    assert comparison.delta["f1"] == round(challenger["f1"] - CHAMPION["f1"], 4)


def test_a_champion_below_the_target_sets_the_recall_floor_at_its_own_recall() -> None:
    weak = metrics(0.97, 0.85, 0.9061)
    assert compare(weak, metrics(0.96, 0.86, 0.9072)).beats
    assert not compare(weak, metrics(0.99, 0.84, 0.9088)).beats


def texts(held_out: bool, count: int) -> list[str]:
    candidates = (f"во дворе дома {i} не вывозят мусор" for i in range(10_000))
    return [t for t in candidates if is_held_out(t) == held_out][:count]


def test_labels_whose_text_is_held_out_never_reach_training() -> None:
    corpus = load_corpus()
    _, corpus_held_out = split(corpus)
    leaked = corpus_held_out[0]  # a resident repeating a held-out corpus text word for word
    fresh_held, fresh_kept = texts(True, 2), texts(False, 2)
    labels = [
        label_example(leaked.text, not leaked.is_incident, "roads"),
        *(label_example(t, True, "cleaning") for t in fresh_held + fresh_kept),
    ]
    data = assemble(corpus, labels)
    trained = {e.text for e in data.train_set}
    assert leaked.text not in trained
    assert not trained & set(fresh_held)
    assert set(fresh_kept) <= trained
    assert not any(is_held_out(e.text) for e in data.train_set)
    assert [e.text for e in data.labels_held_out] == [leaked.text, *fresh_held]
    assert data.labels_used == 2


def test_labels_replace_corpus_texts_latest_wins_and_unusable_ones_are_skipped() -> None:
    corpus = load_corpus()
    corpus_train, _ = split(corpus)
    known = next(e for e in corpus_train if e.is_incident)
    spam = texts(False, 1)[0]
    labels = [
        label_example(known.text, False, None),  # a moderator overrules the corpus
        label_example(spam, True, "cleaning"),
        label_example(spam, False, None),  # a later decision on the same text
        label_example(texts(False, 2)[1], True, None),  # an incident without a category
        label_example("   ", False, None),  # redacted text
    ]
    data = assemble(corpus, labels)
    by_text = {e.text: e for e in data.train_set}
    assert len(data.train_set) == len(corpus_train) + 1
    assert by_text[known.text].is_incident is False
    assert by_text[spam].is_incident is False
    assert (data.labels_used, data.labels_skipped, data.corpus_replaced) == (3, 2, 1)


@dataclass
class ScriptedModel(IncidentModel):
    """Flags exactly the given texts: metrics on the held-out set are known in advance."""

    flags: frozenset[str] = field(default_factory=frozenset)

    def classify(self, texts: list[str], *, explain: bool = False) -> list[Verdict]:
        return [
            Verdict(t in self.flags, 1.0 if t in self.flags else 0.0, "roads", "neutral", ())
            for t in texts
        ]


def scripted(version: str, flags: set[str]) -> ScriptedModel:
    return ScriptedModel(
        version, 0.5, build_features(), incident_head(), label_head(), label_head(),
        flags=frozenset(flags),
    )  # fmt: skip


@pytest.fixture(scope="module")
def small_corpus() -> list[Example]:
    return random.Random(5).sample(load_corpus(), 400)


def registry_with_champion(root: Path, flags: set[str]) -> ModelRegistry:
    registry = ModelRegistry(root)
    registry.save(scripted("champion", flags), {})
    registry.promote("champion")
    return registry


def incident_texts(corpus: list[Example]) -> list[str]:
    return [e.text for e in split(corpus)[1] if e.is_incident]


def test_a_better_challenger_is_registered_and_promoted(
    tmp_path: Path, small_corpus: list[Example]
) -> None:
    incidents = incident_texts(small_corpus)
    registry = registry_with_champion(tmp_path, set(incidents[:-3]))  # misses three
    seen: list[list[Example]] = []

    def trainer(train_set: list[Example]) -> IncidentModel:
        seen.append(train_set)
        return scripted("challenger", set(incidents))

    labels = [label_example(texts(False, 1)[0], True, "roads")]
    report = retrain(registry, labels, corpus=small_corpus, trainer=trainer)
    assert report.comparison.beats and report.promoted
    assert registry.promoted_version() == "challenger"
    assert report.comparison.delta["recall"] > 0
    meta = {i.version: i.meta for i in registry.versions()}["challenger"]
    assert meta["training_data_sha256"] == corpus_digest(seen[0])
    assert meta["held_out"] == report.challenger_metrics
    assert meta["retrain"]["promoted"] is True
    assert labels[0] in seen[0]
    text = format_report(report)
    assert "сделан основной" in text and f"{report.comparison.delta['f1']:+.4f}" in text


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_worse_or_dry_run_challenger_is_registered_but_not_promoted(
    tmp_path: Path, small_corpus: list[Example], dry_run: bool
) -> None:
    incidents = incident_texts(small_corpus)
    champion_flags, challenger_flags = (
        (set(incidents[:-3]), set(incidents)) if dry_run else (set(incidents), set(incidents[:-3]))
    )
    registry = registry_with_champion(tmp_path, champion_flags)
    report = retrain(
        registry, [], dry_run=dry_run, corpus=small_corpus,
        trainer=lambda _: scripted("challenger", challenger_flags),
    )  # fmt: skip
    assert report.comparison.beats is dry_run
    assert not report.promoted
    assert registry.promoted_version() == "champion"
    assert {i.version for i in registry.versions()} == {"champion", "challenger"}
    expected = "(--dry-run)" if dry_run else "основной остаётся champion"
    assert expected in format_report(report)


def test_without_a_champion_retrain_refuses(tmp_path: Path) -> None:
    with pytest.raises(NoPromotedModelError):
        retrain(ModelRegistry(tmp_path), [], trainer=lambda _: scripted("x", set()))


def test_real_training_accepts_labels_without_sentiment(small_corpus: list[Example]) -> None:
    """The sentiment head learns only from examples that have a sentiment (seconds: 150 texts)."""
    train_set, _ = split(small_corpus)
    labels = [label_example("у дома 3 яма на дороге, колесо пробил", True, "roads")]
    model = train([*train_set[:150], *labels])
    (verdict,) = model.classify(["на улице ленина огромная яма на дороге"])
    assert verdict.sentiment in {"negative", "neutral", "positive"}
    assert "" not in model.sentiment.classes_
