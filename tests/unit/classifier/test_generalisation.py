"""What the generalisation figures rest on, on hand-made inputs: the register heuristic, the
figures of an out-of-distribution set, the leave-one-category-out loop, the readable terms and
the pooled embeddings."""

from pathlib import Path

import numpy as np
import pytest

from classifier.corpus import Example
from classifier.domain.embeddings import DIMENSIONS, content_words, pooled
from classifier.domain.features import clean, is_readable_term
from classifier.domain.verdict import Verdict
from classifier.evaluation import (
    LabelledTextsError,
    by_register,
    incident_set_figures,
    leave_one_category_out,
    read_incident_csv,
    register_of,
)


@pytest.mark.parametrize(
    ("text", "register"),
    [
        ("Прошу принять меры: ответа на обращение нет два месяца", "formal"),
        ("Сообщаю, что во дворе не горит фонарь", "formal"),
        ("Во дворе дома 5 по улице Мира не горит фонарь.", "formal"),
        ("опять нет воды", "casual"),
        ("Опять нет воды!!! сколько можно", "casual"),
        ("Яма на дороге 😡", "casual"),
        ("Яма.", "casual"),
        ("", "casual"),
    ],
)
def test_the_register_heuristic(text: str, register: str) -> None:
    assert register_of(text) == register


def test_figures_by_register_count_each_text_once() -> None:
    examples = [
        Example("Прошу отремонтировать дорогу у дома 5.", True, "roads", "neutral", ""),
        Example("яма у пятого дома!!!", True, "roads", "negative", ""),
        Example("Поздравляем с праздником всех жителей района.", False, "none", "positive", ""),
    ]
    verdicts = [
        Verdict(True, 0.9, "roads", "neutral", ()),
        Verdict(False, 0.1, None, "negative", ()),
        Verdict(False, 0.2, None, "positive", ()),
    ]
    out = by_register(examples, verdicts, 0.5)
    assert (out["formal"]["n"], out["formal"]["n_incidents"], out["formal"]["recall"]) == (
        2,
        1,
        1.0,
    )
    assert (out["casual"]["n"], out["casual"]["recall"]) == (1, 0.0)


def test_ood_figures_at_the_threshold_and_at_ninety_percent_recall() -> None:
    truth = [True, True, True, True, False, False]
    scores = [0.9, 0.8, 0.6, 0.2, 0.7, 0.1]
    figures = incident_set_figures(truth, scores, 0.5)
    assert figures["at_threshold"]["recall"] == 0.75
    assert figures["at_threshold"]["precision"] == 0.75
    assert figures["at_recall_090"]["threshold"] == 0.2
    assert figures["at_recall_090"]["recall"] == 1.0


def test_an_ood_file_needs_incident_labels(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("label,text\n1,яма\n0,с праздником\n", encoding="utf-8")
    assert [r.label for r in read_incident_csv(good)] == ["1", "0"]
    bad = tmp_path / "bad.csv"
    bad.write_text("label,text\npositive,ура\n", encoding="utf-8")
    with pytest.raises(LabelledTextsError, match="positive"):
        read_incident_csv(bad)


class _Keyword:
    """A stand-in model: flags a text holding any word of an incident it was trained on."""

    version = "kw"
    threshold = 0.5

    def __init__(self, train_set: list[Example]) -> None:
        self.words = {w for e in train_set if e.is_incident for w in e.text.split()}

    def classify(self, texts: list[str], *, explain: bool = False) -> list[Verdict]:
        return [Verdict(bool(self.words & set(t.split())), 0.0, None, "neutral", ()) for t in texts]

    def scores(self, texts: list[str]) -> np.ndarray:
        return np.zeros(len(texts))


def test_leave_one_category_out_hides_the_category_from_its_model() -> None:
    examples = [
        Example("нет воды", True, "housing", "neutral", ""),
        Example("нет света", True, "housing", "neutral", ""),
        Example("яма на дороге", True, "roads", "neutral", ""),
        Example("спасибо", False, "none", "positive", ""),
    ]
    seen: list[list[Example]] = []

    def fit(train_set: list[Example]) -> _Keyword:
        seen.append(train_set)
        return _Keyword(train_set)

    out = leave_one_category_out(examples, examples, fit)
    assert set(out) == {"housing", "roads"}
    assert all(not (e.category == "housing" and e.is_incident) for e in seen[0])
    # Without housing, "нет воды" shares no word with "яма на дороге": missed.
    assert out["housing"] == {"n": 2, "found": 0, "recall": 0.0, "threshold": 0.5}
    assert out["roads"]["recall"] == 0.0


@pytest.mark.parametrize(
    ("term", "readable"),
    [
        ("яма", True),
        ("не работать", True),
        ("на", False),
        ("а", False),
        ("?", False),
        ("!!!", False),
        ("на дорога", False),
        ("числотокен", False),
        ("дорога числотокен", False),
    ],
)
def test_readable_terms(term: str, readable: bool) -> None:
    assert is_readable_term(term) is readable


def test_pooled_embeddings_have_norm_one_or_zero() -> None:
    texts = [clean(t) for t in ["Карьер пылит возле посёлка", "а на в", "", "qwerty"]]
    assert content_words(texts[1]) == []
    vectors = pooled(texts)
    assert vectors.shape == (4, DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), [1.0, 0.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(pooled(texts, 2.0)[0], 2 * vectors[0])


def test_the_markdown_report_shows_the_generalisation_sections() -> None:
    from classifier.report_files import render_markdown

    data = {
        "model": {"version": "v", "threshold": 0.5},
        "generated_at": "2026-12-04T00:00:00+00:00",
        "held_out": {
            "n": 2, "n_incidents": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0,
            "average_precision": 1.0, "threshold": 0.5,
            "confusion": {"tp": 1, "fp": 0, "fn": 0, "tn": 1},
            "at_threshold": {"threshold": 0.5, "precision": 1.0, "recall": 1.0, "flagged": 1},
            "operating_points": [], "category_f1": {},
            "category_confusion": {"labels": ["none"], "matrix": [[0]]},
            "by_register": {"formal": {"n": 2, "n_incidents": 1, "precision": 1.0,
                                       "recall": 1.0, "f1": 1.0, "confusion": {}}},
        },
        "out_of_domain": None,
        "ood_incidents": {
            "source": "ood.csv", "files": ["ood.csv"], "n": 6, "n_incidents": 4,
            "at_threshold": {"threshold": 0.5, "precision": 0.75, "recall": 0.75, "flagged": 4,
                             "f1": 0.75},
            "at_recall_090": {"threshold": 0.2, "precision": 0.8, "recall": 1.0, "flagged": 5},
        },
        "leave_one_category_out": {"roads": {"n": 3, "found": 2, "recall": 0.6667,
                                             "threshold": 0.5}},
    }  # fmt: skip
    text = render_markdown(data, "pr_curve.png")
    assert "| formal | 2 | 1 | 1.000 | 1.000 | 1.000 |" in text
    assert "Набор вне распределения" in text and "0.200" in text
    assert "| roads | 3 | 2 | 0.667 |" in text
