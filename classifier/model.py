"""The scikit-learn model: one shared feature space, three linear heads.

Features: TF-IDF of word 1–2-grams over lemmas and of character 2–4-grams (within word bounds)
over the cleaned text. Heads: a calibrated logistic regression for "incident" (its probability is
the score, compared with a threshold chosen for a target recall), a logistic regression for the
category (trained on incidents), and one for sentiment.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from classifier.domain import Verdict
from classifier.features import clean, lemmas

EXPLAIN_TERMS = 5


def _lemmatise_all(texts: list[str]) -> list[str]:
    return [lemmas(text) for text in texts]


def _clean_all(texts: list[str]) -> list[str]:
    return [clean(text) for text in texts]


def build_features() -> FeatureUnion:
    words = make_pipeline(
        FunctionTransformer(_lemmatise_all),
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=r"\S+"),  # noqa: S106 - a regex
    )
    chars = make_pipeline(
        FunctionTransformer(_clean_all),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True),
    )
    return FeatureUnion([("words", words), ("chars", chars)])


def incident_head() -> CalibratedClassifierCV:
    base = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
    return CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)


def label_head() -> LogisticRegression:
    return LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)


@dataclass
class IncidentModel:
    """A trained model; ``classify`` is the only thing the service needs."""

    version: str
    threshold: float
    features: FeatureUnion
    incident: CalibratedClassifierCV
    category: LogisticRegression
    sentiment: LogisticRegression
    metrics: dict[str, Any] = field(default_factory=dict)
    _names: list[str] | None = field(default=None, repr=False)

    def scores(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        matrix = self.features.transform(texts)
        return np.asarray(self.incident.predict_proba(matrix)[:, 1], dtype=np.float64)

    def classify(self, texts: list[str], *, explain: bool = False) -> list[Verdict]:
        matrix = self.features.transform(texts)
        scores = self.incident.predict_proba(matrix)[:, 1]
        categories = self.category.predict(matrix)
        sentiments = self.sentiment.predict(matrix)
        verdicts = []
        for row, score in enumerate(scores):
            flagged = bool(score >= self.threshold)
            verdicts.append(
                Verdict(
                    is_incident=flagged,
                    score=round(float(score), 6),
                    category=str(categories[row]) if flagged else None,
                    sentiment=str(sentiments[row]),
                    explanation=self._explain(matrix[row]) if explain else (),
                )
            )
        return verdicts

    def _explain(self, row: Any) -> tuple[str, ...]:
        """Words (lemmas, 1-2-grams) that pushed hardest towards "incident" — character n-grams
        count in the score but mean nothing to a moderator, so they are not shown."""
        estimator = self.incident.calibrated_classifiers_[0].estimator
        contributions = row.multiply(estimator.coef_[0]).tocsr()
        names = self.feature_names()
        terms: list[str] = []
        for i in np.argsort(-contributions.data):
            name = names[contributions.indices[i]]
            if contributions.data[i] <= 0 or len(terms) == EXPLAIN_TERMS:
                break
            if name.startswith("words__") and "числотокен" not in name:
                terms.append(name.removeprefix("words__"))
        return tuple(terms)

    def feature_names(self) -> list[str]:
        cached = self._names
        if cached is None:
            cached = [
                f"{part}__{name}"
                for part, pipeline in self.features.transformer_list
                for name in pipeline[-1].get_feature_names_out()
            ]
            self._names = cached
        return cached
