"""Text normalisation for short Russian texts (pure; no I/O library).

Lower case, ё→е, links and numbers folded to placeholders, words lemmatised with pymorphy3
(offline dictionaries from pip) behind an LRU cache: city comments repeat a small vocabulary, so
after warm-up nearly every lookup is a cache hit.
"""

import re
from functools import cache, lru_cache

_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:ru|com|рф|net|org)\S*", re.IGNORECASE)
# Every match of _URL contains one of these; looking for them first skips the costly _URL scan
# (its second branch backtracks through every word) on the many texts that have no link.
_URL_HINT = re.compile(r"://|www\.|\.(?:ru|com|рф|net|org)", re.IGNORECASE)
_TOKEN = re.compile(r"[a-zа-я]+|\d+|[!?]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


@cache
def _morph() -> object:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    if not word.isalpha() or len(word) < 3:
        return word
    parses = _morph().parse(word)  # type: ignore[attr-defined]
    return str(parses[0].normal_form) if parses else word


def clean(text: str) -> str:
    """Lower-cased text with links replaced: the input of character n-grams."""
    lowered = text.lower().replace("ё", "е")
    return _URL.sub(" urlтокен ", lowered) if _URL_HINT.search(lowered) else lowered


def lemma_tokens(cleaned: str) -> list[str]:
    """Lemmas of a text already passed through ``clean``, numbers folded."""
    return ["числотокен" if token.isdigit() else lemma(token) for token in _TOKEN.findall(cleaned)]


def lemmas(text: str) -> str:
    """Space-joined lemmas with numbers folded: the input of word n-grams."""
    return " ".join(lemma_tokens(clean(text)))
