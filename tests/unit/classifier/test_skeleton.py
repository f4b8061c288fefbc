"""The skeleton of a text (topic words replaced by their part of speech) and its n-gram counts
in the fast path, on hand-made texts."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from classifier.domain.features import (
    SKELETON_ADJECTIVE,
    SKELETON_NOUN,
    clean,
    skeleton,
    skeleton_tokens,
)
from classifier.domain.inference import word_counts


def test_complaints_on_different_topics_share_one_skeleton() -> None:
    doctor = skeleton("Не могу записаться к терапевту!!!")
    notary = skeleton("не могу записаться к нотариусу!!!")
    assert doctor == notary == f"не мочь записаться к {SKELETON_NOUN} !!!"


def test_adjectives_go_numbers_fold_verbs_and_short_forms_stay() -> None:
    assert skeleton("Новый лифт в доме 5 сломан") == (
        f"{SKELETON_ADJECTIVE} {SKELETON_NOUN} в {SKELETON_NOUN} числотокен сломать"
    )
    assert skeleton("Нахамил и вымогают деньги").split()[::2] == ["нахамить", "вымогать"]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("До сих пор не вывезли", "до сей пора не вывезти"),
        ("Прошу принять меры", "просить принять мера"),
        ("уже месяц", "уже месяц"),
        ("второй день", "второй день"),  # an ordinal is a count, not a topic
    ],
)
def test_cues_of_time_and_of_the_complaint_itself_stay_words(text: str, kept: str) -> None:
    assert skeleton(text) == kept


def test_skeleton_counts_of_the_fast_path_equal_a_vectorizers() -> None:
    texts = [
        "Не могу записаться к терапевту уже месяц, не могу записаться!",
        "Прошу принять меры: до сих пор не вывезли мусор у дома 5.",
        "",
        "спасибо",
    ]
    vectorizer = CountVectorizer(ngram_range=(1, 3), token_pattern=r"\S+").fit(map(skeleton, texts))
    cleaned = [clean(t) for t in texts]
    counts = word_counts(vectorizer.vocabulary_, cleaned, skeleton_tokens, longest=3)
    expected = vectorizer.transform(map(skeleton, texts)).toarray()
    got = np.zeros_like(expected, dtype=np.float64)
    for row in range(len(texts)):
        a, b = counts.indptr[row], counts.indptr[row + 1]
        got[row, counts.indices[a:b]] = counts.data[a:b]
    np.testing.assert_array_equal(got, expected)
