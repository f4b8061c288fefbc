"""Where an answer's delivery to VK stands, read from the history, and what a report or a retry
records (pure)."""

from datetime import UTC, datetime

import pytest

from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.contracts.incidents import EventType, Status
from sla.domain.answer_delivery import (
    DeliveryState,
    HistoryEvent,
    deliveries,
    delivery_reported,
    retried,
)
from sla.domain.lifecycle import IllegalTransitionError, Incident, apply

T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
INCIDENT = Incident("inc", "vk:vk_comment:-5:1:2", "vk", "housing", "testgrad", "ЖКХ",
                    status=Status.ANSWERED, seq=4, claimed_by="moderator1")  # fmt: skip
ANSWER: HistoryEvent = ("inc:4", "answered", {"text": "Передали", "final": True})


def report(attempt: str = "inc:4", *, posted: bool, retryable: bool = True) -> AnswerDelivery:
    return AnswerDelivery(
        incident_id="inc", answer_event_id="inc:4", attempt_id=attempt, posted=posted,
        url="https://vk.com/wall-5_1?reply=9" if posted else None,
        reason=None if posted else "доступ запрещён (ошибка VK 15)", retryable=retryable, at=T0,
    )  # fmt: skip


def recorded(history: list[HistoryEvent], delivery: AnswerDelivery) -> list[HistoryEvent]:
    """``history`` with what ``delivery`` records appended."""
    transitions = delivery_reported(INCIDENT, deliveries(history), delivery)
    return history + [(f"inc:{10 + i}", t.type.value, t.data) for i, t in enumerate(transitions)]


def test_an_answer_is_sending_until_reported_and_a_copy_of_a_report_records_nothing() -> None:
    assert deliveries([ANSWER])["inc:4"].state is DeliveryState.SENDING
    history = recorded([ANSWER], report(posted=True))
    [answer] = deliveries(history).values()
    assert (answer.state, answer.url) == (DeliveryState.POSTED, "https://vk.com/wall-5_1?reply=9")
    assert recorded(history, report(posted=True)) == history  # redelivered


def test_an_answer_from_vk_itself_has_no_delivery() -> None:
    assert deliveries([("inc:4", "answered", {"text": "Ответ", "from_source": True})]) == {}


def test_a_retry_is_a_new_attempt_and_a_late_report_of_the_old_one_is_ignored() -> None:
    history = recorded([ANSWER], report(posted=False))
    transition = retried(INCIDENT, deliveries(history)["inc:4"], "moderator1", T0)
    assert transition.data == {"answer_event_id": "inc:4", "text": "Передали"}
    history.append(("inc:12", transition.type.value, transition.data))
    assert deliveries(history)["inc:4"].state is DeliveryState.SENDING
    assert recorded(history, report(posted=False)) == history  # the first attempt's, again
    history = recorded(history, report("inc:12", posted=True))
    assert deliveries(history)["inc:4"].state is DeliveryState.POSTED


def test_a_retry_is_refused_unless_vk_surely_did_not_post() -> None:
    sending = deliveries([ANSWER])["inc:4"]
    with pytest.raises(IllegalTransitionError, match="ещё отправляется"):
        retried(INCIDENT, sending, "moderator1", T0)
    not_posting = deliveries(recorded([ANSWER], report(posted=False, retryable=False)))["inc:4"]
    with pytest.raises(IllegalTransitionError, match="Повтор не поможет"):
        retried(INCIDENT, not_posting, "moderator1", T0)
    with pytest.raises(IllegalTransitionError, match="нет"):
        retried(INCIDENT, None, "moderator1", T0)


@pytest.mark.parametrize("kind", [EventType.ANSWER_POSTED, EventType.ANSWER_FAILED])
def test_a_delivery_event_keeps_the_status_the_deadlines_and_the_claim(kind: EventType) -> None:
    posted = kind is EventType.ANSWER_POSTED
    [transition] = delivery_reported(INCIDENT, deliveries([ANSWER]), report(posted=posted))
    assert transition.type is kind
    after = apply(INCIDENT, transition)
    assert after == INCIDENT.__class__(**{**INCIDENT.__dict__, "seq": INCIDENT.seq + 1})
