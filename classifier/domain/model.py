"""The scikit-learn model: one shared feature space, three linear heads.

Features: TF-IDF of word 1–2-grams over lemmas and of character 2–4-grams (within word bounds)
over the cleaned text, the mean navec embedding of the content words (``embeddings.py``: it
carries the meaning of words the corpus never showed), and TF-IDF of 1–3-grams over the text's
skeleton (``features.skeleton``: nouns and adjectives replaced by their part of speech, so how a
complaint is told counts apart from what it is about). Heads: a calibrated logistic regression
for "incident" (its probability is the score, compared with a threshold chosen for a target
recall), a logistic regression for the category (trained on incidents), and one for sentiment.

The objects are fitted and stored as scikit-learn objects; ``classify`` runs them through
``classifier.inference`` (the same arithmetic, several times faster), falling back to
scikit-learn itself for a model whose shape that path does not know.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from classifier.domain.embeddings import DIMENSIONS, MeanEmbedding
from classifier.domain.features import clean, is_readable_term, lemmas, skeleton
from classifier.domain.inference import EXPLAIN_TERMS, FastHeads
from classifier.domain.verdict import Verdict


def _lemmatise_all(texts: list[str]) -> list[str]:
    return [lemmas(text) for text in texts]


def _clean_all(texts: list[str]) -> list[str]:
    return [clean(text) for text in texts]


def _skeleton_all(texts: list[str]) -> list[str]:
    return [skeleton(text) for text in texts]


# The pooled vector's norm beside the two TF-IDF blocks (norm 1 each). Measured 2026-12-04 on the
# training split (docs/corpus.md): 0.5 kept held-out F1 (0.933) where 1.0 and 2.5 lost a point.
EMBEDDING_SCALE = 0.5


def build_features(embedding_scale: float = EMBEDDING_SCALE) -> FeatureUnion:
    words = make_pipeline(
        FunctionTransformer(_lemmatise_all),
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=r"\S+"),  # noqa: S106 - a regex
    )
    chars = make_pipeline(
        FunctionTransformer(_clean_all),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True),
    )
    skeleton = make_pipeline(
        FunctionTransformer(_skeleton_all),
        TfidfVectorizer(ngram_range=(1, 3), min_df=2, sublinear_tf=True, token_pattern=r"\S+"),  # noqa: S106 - a regex
    )
    return FeatureUnion(
        [
            ("words", words),
            ("chars", chars),
            ("embeddings", MeanEmbedding(embedding_scale)),
            ("skeleton", skeleton),
        ]
    )


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
    _fast: FastHeads | None = field(default=None, repr=False, compare=False)
    _fast_checked: bool = field(default=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # Caches (feature names, the fast path with its word cache) are rebuilt after loading.
        state = dict(self.__dict__)
        for cache in ("_names", "_fast", "_fast_checked"):
            state.pop(cache, None)
        return state

    def scores(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        fast = self.fast_heads()
        if fast is not None:
            return fast.run(texts, explain=False).scores
        matrix = self.features.transform(texts)
        return np.asarray(self.incident.predict_proba(matrix)[:, 1], dtype=np.float64)

    def classify(self, texts: list[str], *, explain: bool = False) -> list[Verdict]:
        fast = self.fast_heads()
        if fast is None:
            return self.classify_sklearn(texts, explain=explain)
        out = fast.run(texts, explain=explain)
        threshold = self.threshold
        return [
            Verdict(
                is_incident=(flagged := bool(score >= threshold)),
                score=round(score, 6),
                category=category if flagged else None,
                sentiment=sentiment,
                explanation=explanation,
            )
            for score, category, sentiment, explanation in zip(
                out.scores.tolist(), out.categories, out.sentiments, out.explanations, strict=True
            )
        ]

    def fast_heads(self) -> FastHeads | None:
        """The fast path, built on first use; None if this model's shape is not the known one."""
        if not self._fast_checked:
            self._fast = _fast_heads(self)
            self._fast_checked = True
        return self._fast

    def classify_sklearn(self, texts: list[str], *, explain: bool = False) -> list[Verdict]:
        """The reference path through scikit-learn's own transform and predict."""
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
        """Words (lemmas, 1-2-grams) that pushed hardest towards "incident" — character n-grams,
        punctuation and stop words count in the score but mean nothing to a moderator, so they
        are not shown."""
        estimator = self.incident.calibrated_classifiers_[0].estimator
        contributions = row.multiply(estimator.coef_[0]).tocsr()
        names = self.feature_names()
        terms: list[str] = []
        for i in np.argsort(-contributions.data):
            name = names[contributions.indices[i]]
            if contributions.data[i] <= 0 or len(terms) == EXPLAIN_TERMS:
                break
            term = name.removeprefix("words__")
            if name.startswith("words__") and is_readable_term(term):
                terms.append(term)
        return tuple(terms)

    def feature_names(self) -> list[str]:
        cached = self._names
        if cached is None:
            cached = [
                f"{part}__{name}"
                for part, step in self.features.transformer_list
                for name in (
                    step[-1].get_feature_names_out()
                    if isinstance(step, Pipeline)
                    else (f"d{i}" for i in range(DIMENSIONS))
                )
            ]
            self._names = cached
        return cached


def _fast_heads(model: IncidentModel) -> FastHeads | None:
    """FastHeads if the model is built exactly as ``build_features`` and the heads above build
    it; anything else (an older or a changed recipe) keeps the scikit-learn path."""
    known = _known_vectorizers(model.features)
    calibrated = model.incident.calibrated_classifiers_
    if known is None or len(calibrated) != 1 or len(calibrated[0].calibrators) != 1:
        return None
    incident = calibrated[0].estimator
    heads = (incident, model.category, model.sentiment)
    if not all(isinstance(head, LogisticRegression) for head in heads):
        return None
    if list(incident.classes_) != [False, True] or list(model.incident.classes_) != [False, True]:
        return None
    calibrator = calibrated[0].calibrators[0]
    words, chars, embedding, skeleton_words = known
    scale = embedding.scale if embedding is not None else None
    return FastHeads(
        words,
        chars,
        incident,
        calibrator,
        model.category,
        model.sentiment,
        embedding_scale=scale,
        skeleton=skeleton_words,
    )


# Vectorizer settings under which inference.py repeats what TfidfVectorizer.transform computes.
_PLAIN = {"input": "content", "lowercase": True, "preprocessor": None, "tokenizer": None,
          "strip_accents": None, "stop_words": None, "binary": False, "use_idf": True,
          "norm": "l2", "sublinear_tf": True, "dtype": np.float64}  # fmt: skip


# The feature blocks of the recipes the fast path knows, oldest first: TF-IDF alone, then with
# pooled embeddings, then with skeleton n-grams (models on disk may be of any of them).
_RECIPES = (
    ["words", "chars"],
    ["words", "chars", "embeddings"],
    ["words", "chars", "embeddings", "skeleton"],
)


def _known_vectorizers(
    features: FeatureUnion,
) -> tuple[TfidfVectorizer, TfidfVectorizer, MeanEmbedding | None, TfidfVectorizer | None] | None:
    """The word and character vectorizers, the pooled embedding and the skeleton vectorizer
    (None for a block the model's recipe does not have)."""
    names = [name for name, _ in features.transformer_list]
    parts = dict(features.transformer_list)
    if names not in _RECIPES or features.transformer_weights is not None:
        return None
    embedding = parts.get("embeddings")
    if embedding is not None and type(embedding) is not MeanEmbedding:
        return None
    steps = [("words", _lemmatise_all), ("chars", _clean_all), ("skeleton", _skeleton_all)]
    if not all(_is_step(parts[name], func) for name, func in steps if name in parts):
        return None
    words, chars = parts["words"][-1], parts["chars"][-1]
    skeleton_words = parts["skeleton"][-1] if "skeleton" in parts else None
    vectorizers = [v for v in (words, chars, skeleton_words) if v is not None]
    if any(v.get_params()[k] != value for v in vectorizers for k, value in _PLAIN.items()):
        return None
    word_like = [words] + ([skeleton_words] if skeleton_words is not None else [])
    if any((v.analyzer, v.token_pattern) != ("word", r"\S+") for v in word_like):
        return None
    if words.ngram_range != (1, 2) or (skeleton_words and skeleton_words.ngram_range[0] != 1):
        return None
    return (words, chars, embedding, skeleton_words) if chars.analyzer == "char_wb" else None


def _is_step(pipeline: Any, func: Any) -> bool:
    return (
        isinstance(pipeline, Pipeline)
        and len(pipeline.steps) == 2
        and isinstance(pipeline[0], FunctionTransformer)
        and pipeline[0].func is func
        and isinstance(pipeline[-1], TfidfVectorizer)
    )
