"""Pooled word embeddings: the mean navec vector of a text's content words, scaled to norm 1.

Why: TF-IDF knows only the words of the corpus. A complaint about a word it never saw
(«участковый», «карьер», «тендер») still has neighbours in a space learnt from a billion words
of Russian news, so the heads can weigh its meaning. navec (250k words, 300 d, product-quantised)
ships inside the natasha wheel, so nothing is downloaded at run time; it is loaded once per
process (about 1 s, 30 MB) and never pickled with a model.

Pooling is vectorised: a batch's distinct words are reconstructed from their quantisation codes
in one numpy gather, and the texts' means are one sparse product. The same function serves
training (``MeanEmbedding``) and the fast inference path, so both compute identical features.
"""

import re
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from classifier.domain.features import STOP_WORDS, clean, lemma

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
NAVEC_FILE = "navec_news_v1_1B_250K_300d_100q.tar"
DIMENSIONS = 300
_WORD = re.compile(r"[а-я]+(?:-[а-я]+)?")
_ID_CACHE_LIMIT = 200_000
_NONE = -1


@cache
def _navec() -> Any:
    from importlib.util import find_spec

    from navec import Navec

    # The file's place inside the natasha wheel; natasha itself (its parsers, pymorphy2) is never
    # imported.
    spec = find_spec("natasha")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("natasha (for its navec embeddings) is not installed")
    return Navec.load(str(Path(spec.origin).parent / "data" / "emb" / NAVEC_FILE))


class _Lookup:
    """Word → navec row (the word form, else its lemma; -1 if neither is known), cached."""

    def __init__(self) -> None:
        navec = _navec()
        self._ids: dict[str, int] = navec.vocab.word_ids
        self._indexes = navec.pq.indexes
        self._codes = navec.pq.codes
        self._qdims = np.arange(navec.pq.qdim)
        self._cache: dict[str, int] = {}

    def row(self, word: str) -> int:
        found = self._cache.get(word)
        if found is None:
            if len(self._cache) >= _ID_CACHE_LIMIT:
                for stale in list(islice(self._cache, _ID_CACHE_LIMIT // 2)):
                    del self._cache[stale]
            found = self._ids.get(word)
            if found is None:
                found = self._ids.get(lemma(word), _NONE)
            self._cache[word] = found
        return found

    def vectors(self, rows: np.ndarray[Any, Any]) -> FloatArray:
        parts = self._codes[self._qdims, self._indexes[rows]]
        return np.asarray(parts.reshape(len(rows), DIMENSIONS), dtype=np.float64)


@cache
def _lookup() -> _Lookup:
    return _Lookup()


def content_words(cleaned: str) -> list[str]:
    return [w for w in _WORD.findall(cleaned) if len(w) > 1 and w not in STOP_WORDS]


def pooled(cleaned: list[str], scale: float = 1.0) -> FloatArray:
    """Texts (already through ``clean``) x 300: the mean vector of the known content words,
    scaled to norm ``scale``; a text with none is all zeros."""
    lookup = _lookup()
    local: dict[int, int] = {}
    columns: list[int] = []
    bounds = [0]
    for text in cleaned:
        for word in content_words(text):
            row = lookup.row(word)
            if row != _NONE:
                columns.append(local.setdefault(row, len(local)))
        bounds.append(len(columns))
    n = len(cleaned)
    if not local:
        return np.zeros((n, DIMENSIONS))
    vectors = lookup.vectors(np.fromiter(local, dtype=np.int64, count=len(local)))
    membership = sparse.csr_matrix(
        (np.ones(len(columns)), np.asarray(columns, dtype=np.int64), np.asarray(bounds)),
        shape=(n, len(local)),
    )
    sums = np.asarray(membership @ vectors)
    norms = np.linalg.norm(sums, axis=1)
    norms[norms == 0.0] = 1.0
    return np.asarray(sums * (scale / norms)[:, None], dtype=np.float64)


class MeanEmbedding(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn face of ``pooled`` for the model's FeatureUnion; it learns nothing.
    ``scale`` weighs the block against the TF-IDF blocks (each of norm 1)."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def fit(self, texts: list[str], y: Any = None) -> "MeanEmbedding":
        return self

    def transform(self, texts: list[str]) -> FloatArray:
        return pooled([clean(t) for t in texts], self.scale)
