"""Fast inference for a fitted model: the same TF-IDF features and linear heads as the
scikit-learn objects inside ``IncidentModel``, computed with a few numpy/scipy calls per batch.

Why: scikit-learn's ``char_wb`` analyzer builds every character n-gram of every text in Python,
which held batch classification near 1,500 texts/s, and its per-call checks cost milliseconds
for one message. Character n-grams within word bounds depend only on the word, and city comments
repeat a small vocabulary, so each word's n-gram counts are computed once and cached; a text's
counts are the sum over its words. The fitted vectorizers' vocabularies and idf weights are
reused and every step repeats scikit-learn's arithmetic, so scores agree with it up to the order
of floating-point sums (about 1e-15; tests compare them) and older model files work unchanged.
"""

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from classifier.domain.embeddings import DIMENSIONS, pooled
from classifier.domain.features import clean, is_readable_term, lemma_tokens, skeleton_tokens

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

WORD_CACHE_LIMIT = 200_000  # words (~20 MB); bounded for a long-lived service
SMALL_BATCH = 8  # up to this many texts, plain numpy per text beats building sparse matrices
EXPLAIN_TERMS = 5


class Rows(NamedTuple):
    """A CSR matrix as bare arrays: a scipy constructor costs ~100 µs, too much per message."""

    data: FloatArray
    indices: IntArray
    indptr: IntArray

    def row_ids(self) -> IntArray:
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))


def _rows(parts: list[tuple[IntArray, FloatArray]]) -> Rows:
    lengths = [len(columns) for columns, _ in parts]
    return Rows(
        np.concatenate([v for _, v in parts]) if parts else np.zeros(0),
        np.concatenate([c for c, _ in parts]) if parts else np.zeros(0, dtype=np.int64),
        np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]),
    )


def _counted(columns: np.ndarray[Any, Any]) -> tuple[IntArray, FloatArray]:
    """Sorted distinct columns and how often each occurs."""
    unique, counts = np.unique(columns, return_counts=True)
    return unique.astype(np.int64), counts.astype(np.float64)


class CharNgramCache:
    """Character n-gram columns of single words, in the columns of a fitted char_wb vectorizer.

    A word's entry is its columns packed as int32 bytes, a column repeated as often as its n-gram
    occurs: a few dozen bytes, where a numpy array would add a 112-byte header per word.
    """

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.width = len(self._vocabulary)
        self._words: dict[str, bytes] = {}

    def word(self, word: str) -> bytes:
        cached = self._words.get(word)
        if cached is None:
            if len(self._words) >= WORD_CACHE_LIMIT:
                # Forget the older half (a dict keeps insertion order): no bookkeeping per hit,
                # and the words of the current texts come back at the cost of one analysis each.
                for stale in list(islice(self._words, WORD_CACHE_LIMIT // 2)):
                    del self._words[stale]
            columns = [c for g in self._analyze(word) if (c := self._vocabulary.get(g)) is not None]
            cached = self._words[word] = np.asarray(columns, dtype=np.int32).tobytes()
        return cached

    def counts(self, cleaned: list[str]) -> Rows:
        # The vectorizer lower-cases again; doing the same keeps the words identical.
        if len(cleaned) <= SMALL_BATCH:
            return _rows(
                [
                    _counted(np.frombuffer(b"".join(map(self.word, t.lower().split())), np.int32))
                    for t in cleaned
                ]
            )
        # Many texts: (texts x distinct words) @ (distinct words x n-grams), one sparse product;
        # it adds up repeated columns within a word as well as across a text's words.
        local: dict[str, int] = {}
        word_ids: list[int] = []
        bounds = [0]
        for text in cleaned:
            word_ids.extend([local.setdefault(w, len(local)) for w in text.lower().split()])
            bounds.append(len(word_ids))
        packed = [self.word(w) for w in local]
        columns = np.frombuffer(b"".join(packed), dtype=np.int32)
        lengths = np.fromiter(map(len, packed), dtype=np.int64, count=len(packed)) // 4
        words = sparse.csr_matrix(
            (np.ones(len(columns)), columns, np.concatenate([[0], np.cumsum(lengths)])),
            shape=(len(local), self.width),
        )
        texts = sparse.csr_matrix(
            (np.ones(len(word_ids)), np.asarray(word_ids, dtype=np.int64), np.asarray(bounds)),
            shape=(len(cleaned), len(local)),
        )
        product = texts @ words
        return Rows(product.data, product.indices.astype(np.int64), product.indptr)


def word_counts(
    vocabulary: dict[str, int],
    cleaned: list[str],
    tokens: Callable[[str], list[str]] = lemma_tokens,
    longest: int = 2,
) -> Rows:
    """Texts x word 1-to-``longest``-gram counts of ``tokens`` (lemmas by default), columns as
    in the fitted word vectorizer."""
    width = len(vocabulary)
    columns: list[int] = []
    lengths: list[int] = []
    lookup = vocabulary.get
    for text in cleaned:
        # The vectorizer lower-cases and splits the joined tokens; the same here.
        words = " ".join(tokens(text)).lower().split()
        grams = list(words)
        for n in range(2, longest + 1):
            grams.extend(map(" ".join, zip(*(words[i:] for i in range(n)), strict=False)))
        before = len(columns)
        columns.extend([c for c in map(lookup, grams) if c is not None])
        lengths.append(len(columns) - before)
    rows = np.repeat(np.arange(len(cleaned), dtype=np.int64), lengths)
    keys = rows * width + np.asarray(columns, dtype=np.int64)
    # Sorting (row, column) keys merges repeated n-grams and yields sorted rows in one call.
    unique, counts = np.unique(keys, return_counts=True)
    indptr = np.searchsorted(unique // width, np.arange(len(cleaned) + 1))
    return Rows(counts.astype(np.float64), unique % width, indptr.astype(np.int64))


def tfidf(counts: Rows, idf: FloatArray) -> Rows:
    """TfidfTransformer.transform's arithmetic: log(tf) + 1, times idf, rows scaled to norm 1."""
    data = np.log(counts.data) + 1.0
    data *= idf[counts.indices]
    row_ids = counts.row_ids()
    norms = np.sqrt(np.bincount(row_ids, weights=data * data, minlength=len(counts.indptr) - 1))
    norms[norms == 0.0] = 1.0
    data /= norms[row_ids]
    return Rows(data, counts.indices, counts.indptr)


@dataclass(frozen=True)
class HeadOutputs:
    """Per text: calibrated incident probability, category and sentiment labels, explanation."""

    scores: FloatArray
    categories: list[str]
    sentiments: list[str]
    explanations: list[tuple[str, ...]]


class FastHeads:
    """The three linear heads as one dense weight matrix: one product scores them all."""

    def __init__(
        self,
        words: TfidfVectorizer,
        chars: TfidfVectorizer,
        incident: LogisticRegression,
        calibrator: Any,
        category: LogisticRegression,
        sentiment: LogisticRegression,
        *,
        embedding_scale: float | None = None,
        skeleton: TfidfVectorizer | None = None,
    ) -> None:
        self._vocabulary: dict[str, int] = words.vocabulary_
        self._char_cache = CharNgramCache(chars)
        self._calibrator = calibrator
        heads = (incident, category, sentiment)
        weights = np.vstack([h.coef_ for h in heads]).T
        width = len(self._vocabulary)
        char_end = width + self._char_cache.width
        # Columns: word n-grams, character n-grams, the pooled embedding (if the model has it),
        # skeleton n-grams (if it has them).
        embedding_end = char_end + (DIMENSIONS if embedding_scale is not None else 0)
        self._embedding_scale = embedding_scale or 1.0
        self._embedding_weights = (
            np.ascontiguousarray(weights[char_end:embedding_end])
            if embedding_scale is not None
            else None
        )
        self._skeleton: dict[str, int] | None = None
        self._idf = [np.asarray(words.idf_), np.asarray(chars.idf_)]
        self._weights = [
            np.ascontiguousarray(weights[:width]),
            np.ascontiguousarray(weights[width:char_end]),
        ]
        if skeleton is not None:
            self._skeleton = skeleton.vocabulary_
            self._skeleton_longest = int(skeleton.ngram_range[1])
            self._idf.append(np.asarray(skeleton.idf_))
            self._weights.append(np.ascontiguousarray(weights[embedding_end:]))
        self._intercepts = np.concatenate([h.intercept_ for h in heads])
        self._slices = np.cumsum([0, *(h.coef_.shape[0] for h in heads)])
        self._classes = (category.classes_, sentiment.classes_)
        self._names = np.asarray(words.get_feature_names_out(), dtype=object)
        self._word_coef = incident.coef_[0][:width]
        readable = np.array([is_readable_term(str(n)) for n in self._names], dtype=bool)
        # Only a term whose weight pushes towards "incident" can explain the flag.
        self._explainable = readable & (self._word_coef > 0)

    def run(self, texts: list[str], *, explain: bool) -> HeadOutputs:
        cleaned = [clean(t) for t in texts]
        word_part = tfidf(word_counts(self._vocabulary, cleaned), self._idf[0])
        parts = [word_part, tfidf(self._char_cache.counts(cleaned), self._idf[1])]
        if self._skeleton is not None:
            counts = word_counts(self._skeleton, cleaned, skeleton_tokens, self._skeleton_longest)
            parts.append(tfidf(counts, self._idf[2]))
        decisions = self._decisions(parts, len(texts)) + self._intercepts
        if self._embedding_weights is not None:
            decisions += pooled(cleaned, self._embedding_scale) @ self._embedding_weights
        s = self._slices
        return HeadOutputs(
            scores=self._calibrated(decisions[:, 0]),
            categories=_labels(decisions[:, s[1] : s[2]], self._classes[0]),
            sentiments=_labels(decisions[:, s[2] : s[3]], self._classes[1]),
            explanations=self._explain(word_part) if explain else [() for _ in texts],
        )

    def _decisions(self, parts: list[Rows], n: int) -> FloatArray:
        if n <= SMALL_BATCH:
            out = np.zeros((n, len(self._intercepts)))
            for part, weights in zip(parts, self._weights, strict=True):
                for i in range(n):
                    a, b = part.indptr[i], part.indptr[i + 1]
                    out[i] += part.data[a:b] @ weights[part.indices[a:b]]
            return out
        out = np.zeros((n, len(self._intercepts)))
        for part, weights in zip(parts, self._weights, strict=True):
            out += sparse.csr_matrix(part, shape=(n, weights.shape[0])) @ weights
        return out

    def _calibrated(self, decision: FloatArray) -> FloatArray:
        # _SigmoidCalibration.predict is this formula behind input checks that cost more than it.
        a, b = getattr(self._calibrator, "a_", None), getattr(self._calibrator, "b_", None)
        if a is None or b is None:
            return np.asarray(self._calibrator.predict(decision), dtype=np.float64)
        return np.asarray(expit(-(a * decision + b)), dtype=np.float64)

    def _explain(self, word_part: Rows) -> list[tuple[str, ...]]:
        """Top words by contribution (tf-idf x weight) of every text in a few array operations."""
        n = len(word_part.indptr) - 1
        keep = self._explainable[word_part.indices]
        rows, columns = word_part.row_ids()[keep], word_part.indices[keep]
        contributions = word_part.data[keep] * self._word_coef[columns]
        order = np.lexsort((-contributions, rows))
        rows, columns = rows[order], columns[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        rows, columns = rows[rank < EXPLAIN_TERMS], columns[rank < EXPLAIN_TERMS]
        bounds = np.searchsorted(rows, np.arange(n + 1)).tolist()
        names = self._names[columns].tolist()
        return [tuple(names[bounds[i] : bounds[i + 1]]) for i in range(n)]


def _labels(decisions: FloatArray, classes: np.ndarray[Any, Any]) -> list[str]:
    """LogisticRegression.predict: argmax of the decision, or its sign for two classes."""
    if decisions.shape[1] == 1:
        picked = (decisions[:, 0] > 0).astype(np.int64)
    else:
        picked = decisions.argmax(axis=1)
    return [str(c) for c in classes[picked]]
