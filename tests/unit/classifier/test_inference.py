"""The fast inference path gives scikit-learn's numbers: scores, labels and explanations of a real
(small) model through both paths, for one text, a few and many, cache eviction included."""

import copy
import pickle

import numpy as np
import pytest

from classifier.corpus import load_corpus, split
from classifier.domain import inference
from classifier.domain.model import IncidentModel
from classifier.handlers import decide, decide_all
from classifier.training import train
from kernel.contracts.messages import MessageAction
from tests.factories import raw_message

ODD_TEXTS = [
    "",
    "   ",
    "!!!",
    "🙂🙂",
    "http://x.ru яма",
    "www.site.com/ул. Ленина 5 яма!!! ЁЛКА",
    "12 34 56",
    "нет воды нет воды нет воды",
    "İstanbul ǅ ß",  # letters whose lower case differs in length or form
]


@pytest.fixture(scope="module")
def model() -> IncidentModel:
    train_set, _ = split(load_corpus())
    return train(train_set[::3])  # a third of the corpus: seconds, and a real model


@pytest.fixture(scope="module")
def texts() -> list[str]:
    _, held_out = split(load_corpus())
    return [e.text for e in held_out] + ODD_TEXTS


def reference_scores(
    model: IncidentModel, texts: list[str]
) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    return np.asarray(model.incident.predict_proba(model.features.transform(texts))[:, 1])


def test_the_model_uses_the_fast_path(model: IncidentModel) -> None:
    assert model.fast_heads() is not None


def test_scores_and_labels_equal_scikit_learns(model: IncidentModel, texts: list[str]) -> None:
    fast = model.classify(texts)
    slow = model.classify_sklearn(texts)
    # Only the order of floating-point sums differs.
    np.testing.assert_allclose(
        model.scores(texts), reference_scores(model, texts), rtol=0, atol=1e-12
    )
    assert [(v.is_incident, v.category, v.sentiment) for v in fast] == [
        (v.is_incident, v.category, v.sentiment) for v in slow
    ]


def test_one_text_and_a_few_agree_with_a_batch(model: IncidentModel, texts: list[str]) -> None:
    batch = model.scores(texts)
    one_by_one = [model.scores([t])[0] for t in texts[:40] + ODD_TEXTS]
    np.testing.assert_allclose(
        one_by_one, np.concatenate([batch[:40], batch[-len(ODD_TEXTS) :]]), atol=1e-12
    )
    few = texts[: inference.SMALL_BATCH]
    np.testing.assert_allclose(model.scores(few), batch[: len(few)], atol=1e-12)


def contributions(model: IncidentModel, text: str) -> dict[str, float]:
    """Each word feature's push towards "incident" in ``text``, the reference way."""
    row = model.features.transform([text])
    coef = model.incident.calibrated_classifiers_[0].estimator.coef_[0]
    names = model.feature_names()
    return {
        names[i].removeprefix("words__"): round(float(row[0, i] * coef[i]), 9)
        for i in row.nonzero()[1]
        if names[i].startswith("words__")
    }


def test_explanations_match_scikit_learns_up_to_ties(
    model: IncidentModel, texts: list[str]
) -> None:
    sample = texts[:80] + ODD_TEXTS
    fast = model.classify(sample, explain=True)
    slow = model.classify_sklearn(sample, explain=True)
    assert any(v.explanation for v in fast)
    for text, ours, theirs in zip(sample, fast, slow, strict=True):
        weight = contributions(model, text)
        # Terms of equal weight (features that always occur together) may come in either order.
        assert [weight[t] for t in ours.explanation] == [weight[t] for t in theirs.explanation]
        assert all("числотокен" not in t and weight[t] > 0 for t in ours.explanation)


def test_a_full_word_cache_is_trimmed_and_gives_the_same_scores(
    model: IncidentModel, texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inference, "WORD_CACHE_LIMIT", 10)
    fresh = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(fresh.scores(texts), reference_scores(model, texts), atol=1e-12)
    heads = fresh.fast_heads()
    assert heads is not None
    assert len(heads._char_cache._words) <= 10


def test_pickles_carry_no_cache(model: IncidentModel) -> None:
    model.classify(["прогрев кеша"])
    state = model.__getstate__()
    assert not {"_fast", "_fast_checked", "_names"} & set(state)
    assert pickle.loads(pickle.dumps(model)).classify(["яма"]) == model.classify(["яма"])


def test_an_unknown_recipe_falls_back_to_scikit_learn(
    model: IncidentModel, texts: list[str]
) -> None:
    changed = copy.deepcopy(model)
    changed.features.transformer_weights = {"words": 1.0, "chars": 1.0}
    changed._fast_checked = False
    assert changed.fast_heads() is None
    assert changed.classify(texts[:20]) == model.classify_sklearn(texts[:20])


def test_a_batch_of_messages_gets_the_decisions_each_would_get_alone(model: IncidentModel) -> None:
    _, held_out = split(load_corpus())
    messages = [raw_message(i, text=e.text) for i, e in enumerate(held_out[:40])]
    messages[3] = raw_message(3, text="Работы завершены.", official=True, author_id=-1)
    messages[7] = messages[7].model_copy(update={"action": MessageAction.DELETED})
    batch = decide_all(model, messages)
    assert batch == [decide(model, message) for message in messages]
    assert batch[3] is None and batch[7] is None
    assert {d.is_incident for d in batch if d is not None} == {True, False}


def test_explanations_show_words_not_punctuation_or_stop_words(
    model: IncidentModel, texts: list[str]
) -> None:
    shown = {t for v in model.classify(texts, explain=True) for t in v.explanation}
    assert shown
    tokens = {token for term in shown for token in term.split()}
    assert not tokens & {"?", "!", "а", "на", "в", "и", "что", "уже", "это"}
    assert all(token.isalpha() for token in tokens)


def test_the_model_pools_embeddings_and_the_fast_path_repeats_them(
    model: IncidentModel, texts: list[str]
) -> None:
    assert "embeddings" in [name for name, _ in model.features.transformer_list]
    unseen = ["Участковый нахамил и не принял заявление.", "Карьер пылит, дети кашляют."]
    np.testing.assert_allclose(
        model.scores(unseen), reference_scores(model, unseen), rtol=0, atol=1e-12
    )
