"""Retraining from moderator labels (``otklik classifier retrain``).

A challenger is trained on the seed corpus's training split plus the moderators' labels, then it
and the champion (the promoted model) are evaluated on the corpus's fixed held-out split with
``classifier.training.evaluate``. The challenger is registered either way, with its metrics and
training-data hash, and promoted only if it beats the champion (``compare``):

* its recall is at least ``min(TARGET_RECALL, champion's recall)`` — it may not miss more
  incidents than the target allows (nor more than the champion, if the champion is already
  below the target), and
* its F1 is strictly higher, to the four decimals ``evaluate`` reports; equal is not better.

Labels whose text falls in the held-out split (``corpus.is_held_out``, a hash of the text) are
never fitted on. The held-out split is the yardstick of every promotion: a label repeating one of
its texts (a resident copying a common phrase, a demo replaying corpus texts) would let the
challenger be scored on a text it was trained on and win by leakage. The same hash rule applied
to every label also keeps a fifth of the moderators' labels unseen, reported for information.

Pure of the database: the caller passes the labels (oldest first) as examples.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from classifier.corpus import Example, corpus_digest, is_held_out, load_corpus, split
from classifier.domain.model import IncidentModel
from classifier.storage.registry import ModelRegistry, NoPromotedModelError
from classifier.training import TARGET_RECALL, evaluate, train

LABEL_KIND = "moderator"
NO_SENTIMENT = ""  # moderators judge incident and category, not tone; see training.train
COMPARED = ("precision", "recall", "f1")

Trainer = Callable[[list[Example]], IncidentModel]


def label_example(text: str, is_incident: bool, category: str | None) -> Example:
    """A moderator's label as a training example (no sentiment, category "none" if not one)."""
    return Example(text, is_incident, category or "none", NO_SENTIMENT, LABEL_KIND)


@dataclass(frozen=True)
class TrainingData:
    train_set: list[Example]
    labels_used: int
    labels_held_out: list[Example]
    labels_skipped: int  # an incident without a category, or a text emptied by redaction
    corpus_replaced: int  # corpus texts a moderator labelled: the moderator's verdict is kept


def assemble(corpus: list[Example], labels: list[Example]) -> TrainingData:
    """The challenger's training set: the corpus's training split and the usable labels."""
    corpus_train, _ = split(corpus)
    held_out = [label for label in labels if is_held_out(label.text)]
    candidates = [label for label in labels if not is_held_out(label.text)]
    # The category head learns from incidents only, so an incident needs a real category.
    usable = [
        label
        for label in candidates
        if label.text.strip() and not (label.is_incident and label.category == "none")
    ]
    by_text = {example.text: example for example in corpus_train}
    corpus_texts = set(by_text)
    for label in usable:  # oldest first: the latest label of a repeated text wins
        by_text[label.text] = label
    return TrainingData(
        train_set=list(by_text.values()),
        labels_used=len(usable),
        labels_held_out=held_out,
        labels_skipped=len(candidates) - len(usable),
        corpus_replaced=len(corpus_texts & {label.text for label in usable}),
    )


@dataclass(frozen=True)
class Comparison:
    beats: bool
    reason: str
    delta: dict[str, float]  # challenger minus champion


def compare(
    champion: Mapping[str, Any],
    challenger: Mapping[str, Any],
    *,
    target_recall: float = TARGET_RECALL,
) -> Comparison:
    """Whether the challenger beats the champion (the rule is in the module docstring)."""
    delta = {name: round(challenger[name] - champion[name], 4) for name in COMPARED}
    floor = min(target_recall, champion["recall"])
    if challenger["recall"] < floor:
        return Comparison(
            False, f"полнота претендента {challenger['recall']:.4f} ниже порога {floor:.4f}", delta
        )
    if delta["f1"] <= 0:
        return Comparison(False, f"F1 претендента не выше ({delta['f1']:+.4f})", delta)
    return Comparison(
        True,
        f"F1 выше на {delta['f1']:.4f} при полноте {challenger['recall']:.4f} ≥ {floor:.4f}",
        delta,
    )


@dataclass(frozen=True)
class RetrainReport:
    champion: str
    challenger: str
    data: TrainingData
    champion_metrics: dict[str, Any]
    challenger_metrics: dict[str, Any]
    comparison: Comparison
    promoted: bool
    dry_run: bool
    # Both models on the held-out fifth of the labels (information; not part of the rule).
    on_labels: tuple[dict[str, Any], dict[str, Any]] | None


def retrain(
    registry: ModelRegistry,
    labels: list[Example],
    *,
    dry_run: bool = False,
    corpus: list[Example] | None = None,
    trainer: Trainer = train,
) -> RetrainReport:
    """Train, evaluate, register and (unless ``dry_run``) promote a challenger that beats the
    champion; raises NoPromotedModelError when there is no champion to compare with."""
    corpus = load_corpus() if corpus is None else corpus
    champion_version = registry.promoted_version()
    if champion_version is None:
        raise NoPromotedModelError(f"нет основной модели в {registry.root}")
    champion = registry.load(champion_version)
    data = assemble(corpus, labels)
    challenger = trainer(data.train_set)
    _, held_out = split(corpus)
    champion_metrics = evaluate(champion, held_out)
    challenger_metrics = evaluate(challenger, held_out)
    comparison = compare(champion_metrics, challenger_metrics)
    on_labels = None
    if data.labels_held_out:
        on_labels = (
            evaluate(champion, data.labels_held_out),
            evaluate(challenger, data.labels_held_out),
        )
    promoted = comparison.beats and not dry_run
    registry.save(
        challenger,
        {
            "training_data_sha256": corpus_digest(data.train_set),
            "n_train": len(data.train_set),
            "n_moderator_labels": data.labels_used,
            "held_out": challenger_metrics,
            "retrain": {
                "champion": champion_version,
                "champion_held_out": champion_metrics,
                "beats": comparison.beats,
                "reason": comparison.reason,
                "delta": comparison.delta,
                "promoted": promoted,
            },
        },
    )
    if promoted:
        registry.promote(challenger.version)
    return RetrainReport(
        champion_version, challenger.version, data, champion_metrics, challenger_metrics,
        comparison, promoted, dry_run, on_labels,
    )  # fmt: skip


def format_report(report: RetrainReport) -> str:
    """The report for the operator, in Russian."""
    data = report.data
    lines = [
        f"Основная модель: {report.champion}; претендент: {report.challenger}",
        f"Обучение: {len(data.train_set)} текстов, из них меток модераторов {data.labels_used} "
        f"(заменили тексты корпуса: {data.corpus_replaced}); пропущено меток: "
        f"{data.labels_skipped}; меток в отложенной выборке (не для обучения): "
        f"{len(data.labels_held_out)}",
        "",
        f"Отложенная выборка корпуса ({report.champion_metrics['n']} текстов):",
        *_table(report.champion_metrics, report.challenger_metrics),
    ]
    if report.on_labels is not None:
        champion, challenger = report.on_labels
        lines += [
            "",
            f"Для сведения, отложенные метки модераторов ({champion['n']}):",
            *_table(champion, challenger),
        ]
    if report.comparison.beats:
        verdict = "претендент лучше: " + report.comparison.reason
        outcome = "сделан основной" if report.promoted else "не сделан основной (--dry-run)"
    else:
        verdict = "претендент не лучше: " + report.comparison.reason
        outcome = "основной остаётся " + report.champion
    lines += [
        "",
        f"Правило: F1 строго выше при полноте не ниже min({TARGET_RECALL:.2f}, полнота основной).",
        f"Итог: {verdict}; {outcome}.",
        f"Претендент сохранён в реестре как {report.challenger}.",
    ]
    return "\n".join(lines)


def _table(champion: Mapping[str, Any], challenger: Mapping[str, Any]) -> list[str]:
    rows = [f"  {'':<12}{'основная':>10}{'претендент':>12}{'разница':>10}"]
    for name, title in zip(COMPARED, ("точность", "полнота", "F1"), strict=True):
        before, after = champion[name], challenger[name]
        rows.append(f"  {title:<12}{before:>10.4f}{after:>12.4f}{after - before:>+10.4f}")
    return rows
