"""Evaluation report of a model on the fixed held-out split of the seed corpus, and optionally its
behaviour on general VK chatter (RuSentiment, read by path, never trained on).

``build_report`` computes everything as one JSON-ready dict; ``write_report`` puts report.json,
report.md and pr_curve.png into a directory; ``summary`` is the short text a command prints.
The command line lives in services/cli.py; nothing here knows about it.
"""

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_curve

from classifier.corpus import Example
from classifier.domain.verdict import Verdict
from classifier.report_files import plot_pr_curve, render_markdown
from classifier.training import verdict_metrics

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


def build_report(
    model: ScoringModel,
    held_out: list[Example],
    *,
    out_of_domain: Path | None = None,
    meta: dict[str, Any] | None = None,
) -> Report:
    # Read first: a malformed file should fail before the minutes of classifying.
    chatter = read_labelled_csv(out_of_domain) if out_of_domain is not None else None
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
        },
        "out_of_domain": None,
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
    plot_pr_curve(
        curve.precision, curve.recall, held["at_threshold"], prevalence, png, _plot_title(data)
    )
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path = directory / "report.md"
    md_path.write_text(render_markdown(data, png.name), encoding="utf-8")
    return [json_path, md_path, png]


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
    ood = report.get("out_of_domain")
    if ood:
        rates = ", ".join(f"{k} {v['share']:.1%}" for k, v in ood["by_label"].items())
        lines.append(f"RuSentiment ({ood['n']} текстов), доля отмеченных как инцидент: {rates}")
    return lines
