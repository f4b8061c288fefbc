"""Evaluation report of a model on the fixed held-out split of the seed corpus, and optionally its
behaviour on general VK chatter (RuSentiment, read by path, never trained on).

``build_report`` computes everything as one JSON-ready dict; ``write_report`` puts report.json,
report.md and pr_curve.png into a directory; ``summary`` is the short text a command prints.
The command line lives in services/cli.py; nothing here knows about it.
"""

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_curve

from classifier.corpus import Example
from classifier.domain.verdict import Verdict
from classifier.report_files import plot_pr_curve, render_markdown
from classifier.training import TARGET_RECALL, threshold_for_recall, verdict_metrics

RUSENTIMENT_LABELS = ("negative", "neutral", "positive", "speech", "skip")
# The shared data sets sit beside the repository; read in place, never copied into it.
DEFAULT_RUSENTIMENT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "rusentiment"
TABLE_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
MISSED = "none"  # the predicted "category" of an incident the model did not flag


class ScoringModel(Protocol):
    """What a report needs of a model (``IncidentModel`` is one)."""

    version: str
    threshold: float

    def classify(self, texts: list[str], *, explain: bool = False) -> list[Verdict]: ...

    def scores(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]: ...


# Openings and formulas of a written appeal (59-FZ register) against the marks of a casual
# comment. A heuristic, stated so that a reader can check it: "formal" is a text that opens with
# a capital letter, carries no emoji, no run of «!!»/«??» and no slang, and either uses one of
# the formulas or is at least five words of plain sentences ending with a full stop.
_FORMULAS = re.compile(
    r"\b(прошу|просим|сообщаю|сообщаем|довожу|обращаюсь|уважаем\w*|требую|жители .{0,40}просят)",
    re.IGNORECASE,
)
_CASUAL = re.compile(r"[!?]{2,}|[\U0001F300-\U0001FAFF\u2600-\u27BF]|\)\)|\bблин\b|\*")
REGISTERS = ("formal", "casual")


def register_of(text: str) -> str:
    """ "formal" (a written appeal) or "casual" (a comment): see _FORMULAS above."""
    stripped = text.strip()
    if not stripped or not stripped[0].isupper() or _CASUAL.search(stripped):
        return "casual"
    if _FORMULAS.search(stripped):
        return "formal"
    return "formal" if len(stripped.split()) >= 5 and stripped.endswith(".") else "casual"


class LabelledTextsError(ValueError):
    """A labelled CSV (label,text) cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class LabelledText:
    label: str
    text: str
    source: str  # file name, so the report can say where a figure comes from


@dataclass(frozen=True)
class PrCurve:
    precision: list[float]
    recall: list[float]
    thresholds: list[float]
    average_precision: float


@dataclass(frozen=True)
class Report:
    data: dict[str, Any]  # JSON-ready: what report.json holds
    curve: PrCurve


def pr_curve(truth: Sequence[bool], scores: Sequence[float]) -> PrCurve:
    precision, recall, thresholds = precision_recall_curve(
        np.asarray(truth, dtype=bool), np.asarray(scores, dtype=np.float64)
    )
    return PrCurve(
        precision=precision.tolist(),
        recall=recall.tolist(),
        thresholds=thresholds.tolist(),
        average_precision=float(average_precision_score(truth, scores)),
    )


def operating_point(
    truth: Sequence[bool], scores: Sequence[float], threshold: float
) -> dict[str, float]:
    """Precision and recall when every score >= threshold is flagged (as ``classify`` does)."""
    flagged = np.asarray(scores) >= threshold
    actual = np.asarray(truth, dtype=bool)
    tp = int(np.sum(flagged & actual))
    precision = tp / int(flagged.sum()) if flagged.any() else 0.0
    recall = tp / int(actual.sum()) if actual.any() else 0.0
    return {
        "threshold": round(threshold, 6),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "flagged": int(flagged.sum()),
    }


def category_confusion(
    examples: Sequence[Example], verdicts: Sequence[Verdict]
) -> dict[str, list[Any]]:
    """True category (rows) against the predicted one (columns) over true incidents; a missed
    incident counts in the column "none"."""
    pairs = [
        (e.category, v.category or MISSED)
        for e, v in zip(examples, verdicts, strict=True)
        if e.is_incident
    ]
    labels = sorted({c for c, _ in pairs} | {p for _, p in pairs} - {MISSED})
    labels.append(MISSED)
    matrix = (
        confusion_matrix([c for c, _ in pairs], [p for _, p in pairs], labels=labels)
        if pairs
        else np.zeros((len(labels), len(labels)), dtype=np.int64)
    )
    return {"labels": labels, "matrix": matrix.tolist()}


def read_labelled_csv(path: Path) -> list[LabelledText]:
    """A file, or every *.csv in a directory, with a header naming the 'label' and 'text'
    columns (RuSentiment's layout)."""
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise LabelledTextsError(f"{path}: нет CSV-файлов")
    rows: list[LabelledText] = []
    for file in files:
        try:
            with file.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = {"label", "text"} - set(reader.fieldnames or [])
                if missing:
                    names = ", ".join(sorted(missing))
                    raise LabelledTextsError(f"{file.name}: в заголовке нет колонки {names}")
                rows.extend(
                    LabelledText(row["label"].strip(), row["text"] or "", file.name)
                    for row in reader
                )
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise LabelledTextsError(f"{file}: не удалось прочитать ({error})") from error
    return rows


def flag_rates(flags: Sequence[bool], rows: Sequence[LabelledText]) -> dict[str, Any]:
    """Share of texts flagged as incidents per label, known labels first, and overall."""
    known = [label for label in RUSENTIMENT_LABELS if any(r.label == label for r in rows)]
    labels = known + sorted({r.label for r in rows} - set(known))
    by_label = {}
    for label in labels:
        picked = [f for f, r in zip(flags, rows, strict=True) if r.label == label]
        by_label[label] = _rate(picked)
    return {"n": len(rows), "overall": _rate(list(flags)), "by_label": by_label}


def _rate(flags: list[bool]) -> dict[str, Any]:
    flagged = sum(flags)
    return {"n": len(flags), "flagged": flagged, "share": round(flagged / len(flags), 4)}


INCIDENT_LABELS = {"1", "incident", "yes", "true"}
NON_INCIDENT_LABELS = {"0", "none", "no", "false"}


def read_incident_csv(path: Path) -> list[LabelledText]:
    """An out-of-distribution set: label (1/0, incident/none) and text columns, every label one
    of those (a file with other labels is not an incident set)."""
    rows = read_labelled_csv(path)
    unknown = sorted({r.label.lower() for r in rows} - INCIDENT_LABELS - NON_INCIDENT_LABELS)
    if unknown:
        raise LabelledTextsError(f"{path}: метки не 1/0: {', '.join(unknown[:5])}")
    return rows


def incident_set_figures(
    truth: Sequence[bool], scores: Sequence[float], threshold: float
) -> dict[str, Any]:
    """Precision/recall at the model's threshold, and what a threshold giving 90 % recall on
    this very set would cost in precision (for information: it is never chosen from here)."""
    at = operating_point(truth, scores, threshold)
    f1 = 2 * at["precision"] * at["recall"] / (at["precision"] + at["recall"] or 1.0)
    figures: dict[str, Any] = {
        "n": len(truth),
        "n_incidents": int(sum(truth)),
        "at_threshold": {**at, "f1": round(f1, 4)},
    }
    if any(truth) and not all(truth):
        needed = threshold_for_recall(list(truth), list(scores), TARGET_RECALL)
        figures["at_recall_090"] = operating_point(truth, scores, needed)
        figures["average_precision"] = round(float(average_precision_score(truth, scores)), 4)
    return figures


def by_register(
    held_out: Sequence[Example], verdicts: Sequence[Verdict], threshold: float
) -> dict[str, Any]:
    """The held-out figures for written appeals and for casual comments apart."""
    out: dict[str, Any] = {}
    for register in REGISTERS:
        picked = [
            (e, v)
            for e, v in zip(held_out, verdicts, strict=True)
            if register_of(e.text) == register
        ]
        if picked:
            metrics = verdict_metrics([e for e, _ in picked], [v for _, v in picked], threshold)
            out[register] = {
                key: metrics[key] for key in ("n", "precision", "recall", "f1", "confusion")
            }
            out[register]["n_incidents"] = sum(e.is_incident for e, _ in picked)
    return out


def leave_one_category_out(
    train_set: Sequence[Example],
    examples: Sequence[Example],
    fit: Callable[[list[Example]], ScoringModel],
) -> dict[str, Any]:
    """For each category: a model trained without its incidents (its own threshold, as
    ``train`` chooses it), and the share of the category's incidents in ``examples`` it flags.
    The category's non-incident look-alikes stay in training: only the topic is unseen."""
    categories = sorted({e.category for e in train_set if e.is_incident})
    out: dict[str, Any] = {}
    for category in categories:
        model = fit([e for e in train_set if not (e.is_incident and e.category == category)])
        targets = [e.text for e in examples if e.is_incident and e.category == category]
        flagged = sum(v.is_incident for v in model.classify(targets))
        out[category] = {
            "n": len(targets),
            "found": flagged,
            "recall": round(flagged / len(targets), 4) if targets else 0.0,
            "threshold": round(model.threshold, 6),
        }
    return out


def build_report(
    model: ScoringModel,
    held_out: list[Example],
    *,
    out_of_domain: Path | None = None,
    ood_incidents: Path | None = None,
    loco: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Report:
    # Read first: a malformed file should fail before the minutes of classifying.
    chatter = read_labelled_csv(out_of_domain) if out_of_domain is not None else None
    foreign = read_incident_csv(ood_incidents) if ood_incidents is not None else None
    texts = [e.text for e in held_out]
    verdicts = model.classify(texts)
    truth = [e.is_incident for e in held_out]
    scores = model.scores(texts).tolist()
    curve = pr_curve(truth, scores)
    thresholds = sorted({*TABLE_THRESHOLDS, model.threshold})
    report: dict[str, Any] = {
        "model": {"version": model.version, "threshold": round(model.threshold, 6)},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "held_out": {
            **verdict_metrics(held_out, verdicts, model.threshold),
            "n_incidents": sum(truth),
            "average_precision": round(curve.average_precision, 4),
            "at_threshold": operating_point(truth, scores, model.threshold),
            "operating_points": [operating_point(truth, scores, t) for t in thresholds],
            "category_confusion": category_confusion(held_out, verdicts),
            "by_register": by_register(held_out, verdicts, model.threshold),
        },
        "out_of_domain": None,
        "ood_incidents": None,
        "leave_one_category_out": loco,
    }
    if foreign is not None:
        foreign_truth = [r.label.lower() in INCIDENT_LABELS for r in foreign]
        foreign_scores = model.scores([r.text for r in foreign]).tolist()
        report["ood_incidents"] = {
            "source": str(ood_incidents),
            "files": sorted({r.source for r in foreign}),
            **incident_set_figures(foreign_truth, foreign_scores, model.threshold),
        }
    for key in ("n_train", "training_data_sha256"):
        if meta and key in meta:
            report["model"][key] = meta[key]
    if chatter is not None:
        chatter_scores = model.scores([r.text for r in chatter])
        report["out_of_domain"] = {
            "source": str(out_of_domain),
            "files": sorted({r.source for r in chatter}),
            **flag_rates((chatter_scores >= model.threshold).tolist(), chatter),
            "share_by_threshold": {
                f"{t:.3f}": round(float(np.mean(chatter_scores >= t)), 4) for t in thresholds
            },
        }
    return Report(report, curve)


def write_report(report: Report, directory: Path) -> list[Path]:
    """report.json, report.md and pr_curve.png in ``directory`` (created); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    data, curve = report.data, report.curve
    png = directory / "pr_curve.png"
    held = data["held_out"]
    prevalence = held["n_incidents"] / held["n"] if held["n"] else 0.0
    drawn = plot_pr_curve(
        curve.precision, curve.recall, held["at_threshold"], prevalence, png, _plot_title(data)
    )
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path = directory / "report.md"
    md_path.write_text(render_markdown(data, png.name if drawn else None), encoding="utf-8")
    return [json_path, md_path, *([png] if drawn else [])]


def _plot_title(data: dict[str, Any]) -> str:
    held = data["held_out"]
    return (
        f"Модель {data['model']['version']}: отложенная выборка, {held['n']} текстов, "
        f"AP {held['average_precision']:.3f}"
    )


def summary(report: dict[str, Any]) -> list[str]:
    """A few lines for the terminal (``Report.data``): Russian, metric names also in English."""
    held = report["held_out"]
    lines = [
        f"Модель {report['model']['version']}, порог {report['model']['threshold']:.3f}; "
        f"отложенная выборка: {held['n']} текстов, из них инцидентов {held['n_incidents']}",
        f"  точность (precision) {held['precision']:.3f}, полнота (recall) {held['recall']:.3f}, "
        f"F1 {held['f1']:.3f}, AP {held['average_precision']:.3f}",
    ]
    worst = sorted(held["category_f1"].items(), key=lambda item: item[1])[:3]
    if worst:
        lines.append("  худшие категории по F1: " + ", ".join(f"{c} {f:.2f}" for c, f in worst))
    for register, figures in held.get("by_register", {}).items():
        name = {"formal": "письменные обращения", "casual": "комментарии"}.get(register, register)
        lines.append(
            f"  {name} ({register}, {figures['n']} текстов, инцидентов {figures['n_incidents']}): "
            f"P {figures['precision']:.3f}, R {figures['recall']:.3f}, F1 {figures['f1']:.3f}"
        )
    foreign = report.get("ood_incidents")
    if foreign:
        at = foreign["at_threshold"]
        lines.append(
            f"Набор вне распределения ({foreign['n']} текстов, инцидентов "
            f"{foreign['n_incidents']}): P {at['precision']:.3f}, R {at['recall']:.3f}, "
            f"F1 {at['f1']:.3f}"
        )
    loco = report.get("leave_one_category_out")
    if loco:
        worst = min(loco.values(), key=lambda f: f["recall"])["recall"]
        lines.append(
            "Полнота на категории, исключённой из обучения (leave-one-category-out), "
            f"худшая {worst:.3f}: " + ", ".join(f"{c} {f['recall']:.2f}" for c, f in loco.items())
        )
    ood = report.get("out_of_domain")
    if ood:
        rates = ", ".join(f"{k} {v['share']:.1%}" for k, v in ood["by_label"].items())
        lines.append(f"RuSentiment ({ood['n']} текстов), доля отмеченных как инцидент: {rates}")
    return lines
