"""Text normalisation for short Russian texts (pure; no I/O library).

Lower case, ё→е, links and numbers folded to placeholders, words lemmatised with pymorphy3
(offline dictionaries from pip) behind an LRU cache: city comments repeat a small vocabulary, so
after warm-up nearly every lookup is a cache hit.
"""

import re
from collections.abc import Callable
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


NUMBER_TOKEN = "числотокен"  # noqa: S105 - a placeholder word, not a secret


def _folded(cleaned: str, word: Callable[[str], str]) -> list[str]:
    return [NUMBER_TOKEN if token.isdigit() else word(token) for token in _TOKEN.findall(cleaned)]


def lemma_tokens(cleaned: str) -> list[str]:
    """Lemmas of a text already passed through ``clean``, numbers folded."""
    return _folded(cleaned, lemma)


# Words that carry no topic, as lemmas: they may weigh in a score (a complaint is often told
# with «не», «уже», «опять»), but an explanation listing «а», «на» or «?» tells a moderator
# nothing. «не» and «нет» stay meaningful at the head of a pair («не работать»).
STOP_WORDS = frozenset(
    """а и в во на над под по к ко с со о об обо от до из за для при про без у же ли ни не нет
    бы то это этот тот то-то как так там тут здесь где куда когда что чтобы кто чей весь всё все
    уже еще ещё вот да или либо но зато даже лишь только очень самый свой мой твой наш ваш его
    её ее их он она оно они я ты мы вы себя сам быть был есть мочь можно нужно надо который
    какой такой сколько опять снова тоже также ну ведь вообще просто всегда никогда сейчас
    теперь потом после перед между через около вокруг раз два один числотокен урлтокен
    urlтокен если чем чем-то кто-то что-то хоть хотя ага ой ах эх привет здравствуйте""".split()  # noqa: SIM905 - a word list reads better as text
)
NEGATIONS = frozenset({"не", "нет"})


def is_readable_term(term: str) -> bool:
    """Whether a lemma 1-2-gram is worth showing as a reason: every token a word, not a stop
    word (a negation may open a pair)."""
    tokens = term.split()
    if not tokens or not all(t.isalpha() and len(t) > 1 for t in tokens):
        return False
    head, *rest = tokens
    if rest and head in NEGATIONS:
        return all(t not in STOP_WORDS for t in rest)
    return all(t not in STOP_WORDS for t in tokens)


def lemmas(text: str) -> str:
    """Space-joined lemmas with numbers folded: the input of word n-grams."""
    return " ".join(lemma_tokens(clean(text)))


# The skeleton of a text: the words that name its topic (nouns, full adjectives) replaced by
# their part of speech, so «не могу записаться к терапевту» and «не могу записаться к нотариусу»
# share «не мочь записаться к сущ». What stays — verbs, negations, short adjectives («должны»),
# participles («сломан»), adverbs, function words — is how a complaint is told on any topic.
# Nouns of time and of the complaint itself stay as words: «уже месяц», «до сих пор»,
# «принять меры» are cues, not topics.
SKELETON_NOUN = "сущтокен"
SKELETON_ADJECTIVE = "прилтокен"
_TOPIC_POS = {"NOUN": SKELETON_NOUN, "ADJF": SKELETON_ADJECTIVE}
CUE_NOUNS = frozenset(
    """пора сей день неделя месяц год час минута время раз мера ответ жалоба проблема обращение
    просьба внимание результат толк срок""".split()  # noqa: SIM905 - a word list reads better as text
)


@lru_cache(maxsize=200_000)
def skeleton_token(word: str) -> str:
    """A word's lemma, or its part of speech if it names the topic (see ``CUE_NOUNS``)."""
    if not word.isalpha() or len(word) < 3:
        return word
    parses = _morph().parse(word)  # type: ignore[attr-defined]
    if not parses:
        return word
    best = parses[0]
    normal = str(best.normal_form)
    placeholder = _TOPIC_POS.get(best.tag.POS)
    if placeholder is None or normal in CUE_NOUNS or "Anum" in best.tag:
        return normal
    return placeholder


def skeleton_tokens(cleaned: str) -> list[str]:
    """Skeleton tokens of a text already passed through ``clean``, numbers folded."""
    return _folded(cleaned, skeleton_token)


def skeleton(text: str) -> str:
    """Space-joined skeleton tokens: the input of skeleton n-grams."""
    return " ".join(skeleton_tokens(clean(text)))
