"""Text normalisation for short Russian texts (pure; no I/O library).

Lower case, ё→е, links and numbers folded to placeholders, words lemmatised with pymorphy3
(offline dictionaries from pip) behind an LRU cache: city comments repeat a small vocabulary, so
after warm-up nearly every lookup is a cache hit.
"""

import re
from functools import cache, lru_cache

_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:ru|com|рф|net|org)\S*", re.IGNORECASE)
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
    return _URL.sub(" urlтокен ", text.lower().replace("ё", "е"))


def lemmas(text: str) -> str:
    """Space-joined lemmas with numbers folded: the input of word n-grams."""
    tokens = _TOKEN.findall(clean(text))
    return " ".join("числотокен" if token.isdigit() else lemma(token) for token in tokens)
