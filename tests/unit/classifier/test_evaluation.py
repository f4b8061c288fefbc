"""The evaluation report: metrics on hand-made examples against numbers worked out by hand, the
PR-curve file, the labelled-CSV reader's errors, and the files a report writes."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.corpus import Example
from classifier.domain.verdict import Verdict
from classifier.evaluation import (
    LabelledText,
    LabelledTextsError,
    build_report,
    category_confusion,
    flag_rates,
    operating_point,
    pr_curve,
    read_labelled_csv,
    summary,
    write_report,
)
from classifier.report_files import plot_pr_curve
from classifier.training import verdict_metrics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def example(text: str, incident: bool, category: str = "none") -> Example:
    return Example(text, incident, category, "neutral", "")


def verdict(flagged: bool, category: str | None = None, score: float = 0.5) -> Verdict:
    return Verdict(flagged, score, category if flagged else None, "neutral", ())


# Three incidents and three non-incidents. Flagged: two of the incidents (one with the wrong
# category) and one non-incident; the third incident is missed.
EXAMPLES = [
    example("яма на Мира", True, "roads"),
    example("течёт крыша", True, "housing"),
    example("нет воды", True, "housing"),
    example("спасибо за ремонт", False),
    example("с праздником", False),
    example("продам шкаф", False),
]
VERDICTS = [
    verdict(True, "roads"),
    verdict(True, "roads"),
    verdict(False),
    verdict(True, "housing"),
    verdict(False),
    verdict(False),
]


def test_incident_metrics_match_the_hand_count() -> None:
    metrics = verdict_metrics(EXAMPLES, VERDICTS, threshold=0.5)
    # tp 2, fp 1, fn 1, tn 2: precision = recall = 2/3, F1 = 2/3
    assert metrics["confusion"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    assert metrics["precision"] == metrics["recall"] == metrics["f1"] == 0.6667
    # roads: predicted twice, right once, never missed -> P 1/2, R 1 -> F1 2/3;
    # housing: two true, none predicted as housing -> F1 0
    assert metrics["category_f1"] == {"housing": 0.0, "roads": 0.6667}


def test_category_confusion_counts_a_missed_incident_as_none() -> None:
    confusion = category_confusion(EXAMPLES, VERDICTS)
    assert confusion["labels"] == ["housing", "roads", "none"]
    assert confusion["matrix"] == [[0, 1, 1], [0, 1, 0], [0, 0, 0]]


def test_operating_point_flags_scores_at_the_threshold_itself() -> None:
    truth = [True, True, True, False, False, False]
    scores = [0.9, 0.8, 0.3, 0.85, 0.1, 0.2]
    # at 0.8: 0.9, 0.8 (equal counts as flagged) and 0.85 -> tp 2 of 3 flagged, 2 of 3 found
    assert operating_point(truth, scores, 0.8) == {
        "threshold": 0.8,
        "precision": 0.6667,
        "recall": 0.6667,
        "flagged": 3,
    }
    assert operating_point(truth, scores, 0.95)["precision"] == 0.0  # nothing flagged


def test_average_precision_matches_the_hand_computation() -> None:
    # ranked: +, -, +, -  ->  AP = 0.5 * 1/1 + 0.5 * 2/3
    curve = pr_curve([True, False, True, False], [0.9, 0.8, 0.7, 0.6])
    assert curve.average_precision == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert curve.recall[0] == 1.0
    assert curve.recall[-1] == 0.0


def test_without_matplotlib_the_report_has_no_picture_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The production image leaves matplotlib out (an optional extra): no PNG, no crash."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    stored = {"threshold": 0.7, "precision": 0.75, "recall": 0.6}
    path = tmp_path / "pr.png"
    assert plot_pr_curve([0.5, 1.0], [1.0, 0.0], stored, 0.5, path, "т") is False
    assert not path.exists()


def test_pr_curve_file_is_a_valid_png(tmp_path: Path) -> None:
    path = tmp_path / "pr.png"
    stored = {"threshold": 0.7, "precision": 0.75, "recall": 0.6}
    assert plot_pr_curve([0.5, 0.6, 1.0], [1.0, 0.6, 0.0], stored, 0.5, path, "тест: кириллица")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size == (640, 480)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    # the red marker of the stored threshold was drawn (matplotlib's tab:red is 214, 39, 40)
    assert np.any((pixels[:, 0] > 180) & (pixels[:, 1] < 80) & (pixels[:, 2] < 80))


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reader_rejects_a_file_without_a_label_column(tmp_path: Path) -> None:
    write_csv(tmp_path / "posts.csv", "sentiment,text\nneutral,привет\n")
    with pytest.raises(LabelledTextsError, match=r"posts\.csv: в заголовке нет колонки label"):
        read_labelled_csv(tmp_path)


def test_reader_rejects_a_directory_without_csv_files(tmp_path: Path) -> None:
    with pytest.raises(LabelledTextsError, match="нет CSV-файлов"):
        read_labelled_csv(tmp_path)


def test_reader_takes_every_csv_of_a_directory_and_multi_line_texts(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", 'label,text\nspeech,"С днём\nрождения!"\n')
    write_csv(tmp_path / "b.csv", "label,text\nnegative,опять нет воды\n")
    rows = read_labelled_csv(tmp_path)
    assert rows == [
        LabelledText("speech", "С днём\nрождения!", "a.csv"),
        LabelledText("negative", "опять нет воды", "b.csv"),
    ]
    assert read_labelled_csv(tmp_path / "b.csv") == rows[1:]


def test_flag_rates_per_label_known_labels_first() -> None:
    rows = [
        LabelledText(label, "t", "f.csv")
        for label in ("odd", "positive", "negative", "negative", "speech")
    ]
    rates = flag_rates([True, False, True, False, False], rows)
    assert list(rates["by_label"]) == ["negative", "positive", "speech", "odd"]
    assert rates["by_label"]["negative"] == {"n": 2, "flagged": 1, "share": 0.5}
    assert rates["by_label"]["odd"]["share"] == 1.0
    assert rates["overall"] == {"n": 5, "flagged": 2, "share": 0.4}


class ScriptedModel:
    """Scores by keyword: enough to check what a report is made of, without training."""

    version = "test-1"
    threshold = 0.5

    def scores(self, texts: list[str]) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        return np.array([0.9 if "нет" in t or "яма" in t else 0.1 for t in texts])

    def classify(self, texts: list[str], *, explain: bool = False) -> list[Verdict]:
        return [verdict(bool(s >= self.threshold), "roads", s) for s in self.scores(texts)]


def test_report_files_and_summary(tmp_path: Path) -> None:
    chatter = write_csv(tmp_path / "chatter.csv", "label,text\nnegative,нет слов\nspeech,привет\n")
    report = build_report(ScriptedModel(), EXAMPLES, out_of_domain=chatter, meta={"n_train": 7})
    paths = write_report(report, tmp_path / "out")
    assert [p.name for p in paths] == ["report.json", "report.md", "pr_curve.png"]
    data = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    held = data["held_out"]
    # flagged by keyword: "яма на Мира" and "нет воды" -> tp 2, fn 1 ("течёт крыша"), fp 0
    assert held["confusion"] == {"tp": 2, "fp": 0, "fn": 1, "tn": 3}
    assert held["at_threshold"] == {
        "threshold": 0.5,
        "precision": 1.0,
        "recall": 0.6667,
        "flagged": 2,
    }
    assert data["model"] == {"version": "test-1", "threshold": 0.5, "n_train": 7}
    assert data["out_of_domain"]["by_label"]["negative"]["share"] == 1.0
    assert data["out_of_domain"]["by_label"]["speech"]["share"] == 0.0
    markdown = (tmp_path / "out" / "report.md").read_text("utf-8")
    assert "![PR-кривая](pr_curve.png)" in markdown
    assert "| 0.500 (сохранённый) | 1.0000 | 0.6667 | 2 |" in markdown
    assert (tmp_path / "out" / "pr_curve.png").read_bytes()[:8] == PNG_SIGNATURE
    lines = summary(data)
    assert "точность (precision) 1.000, полнота (recall) 0.667" in lines[1]
    assert "negative 100.0%" in lines[-1]
