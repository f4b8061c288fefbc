"""Delivery of answers to VK, read from an incident's history (pure).

An answer given in otklik on a VK message is «отправляется» until the poster reports on it:
``answer_posted`` (with the link) or ``answer_failed`` (with the reason). A moderator may retry
a failed one (``answer_retried``): a new attempt, sending again. None of these events moves the
incident's status or its deadlines (the answer's time is what counts), nor its claim.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.contracts.incidents import EventType
from kernel.contracts.messages import parse_vk_message_id
from sla.domain.lifecycle import IllegalTransitionError, Incident, Transition

ACTOR = "vk"  # who reports a delivery: the poster, speaking for VK


class DeliveryState(StrEnum):
    SENDING = "sending"
    POSTED = "posted"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    answer_event_id: str
    attempt_id: str  # the event that asked for the latest attempt
    state: DeliveryState = DeliveryState.SENDING
    url: str | None = None
    reason: str | None = None
    retryable: bool = False
    text: str = ""


# One event of a history: its id, type and data.
HistoryEvent = tuple[str, str, Mapping[str, object]]


def deliveries(history: Iterable[HistoryEvent]) -> dict[str, Delivery]:
    """Per answer given in otklik (by its event id), where its delivery stands."""
    known: dict[str, Delivery] = {}
    for event_id, kind, data in history:
        if kind == EventType.ANSWERED and not data.get("from_source"):
            known[event_id] = Delivery(event_id, event_id, text=str(data.get("text") or ""))
            continue
        answer = known.get(str(data.get("answer_event_id")))
        if answer is None:
            continue
        if kind == EventType.ANSWER_RETRIED:
            known[answer.answer_event_id] = replace(
                answer, attempt_id=event_id, state=DeliveryState.SENDING, reason=None
            )
        elif kind in (EventType.ANSWER_POSTED, EventType.ANSWER_FAILED):
            known[answer.answer_event_id] = _reported(answer, kind, data)
    return known


def vk_deliveries(incident: Mapping[str, Any]) -> dict[str, Delivery]:
    """``deliveries`` of an incident as stored (its message_id, its history of incident_id,
    seq, type, data); none unless it was opened for a VK message: nothing is posted elsewhere."""
    if parse_vk_message_id(str(incident.get("message_id") or "")) is None:
        return {}
    return deliveries(
        (f"{event['incident_id']}:{event['seq']}", str(event["type"]), event["data"] or {})
        for event in incident["history"]
    )


def _reported(answer: Delivery, kind: str, data: Mapping[str, object]) -> Delivery:
    if kind == EventType.ANSWER_POSTED:
        url = data.get("url")
        return replace(answer, state=DeliveryState.POSTED, url=None if url is None else str(url))
    return replace(
        answer,
        state=DeliveryState.FAILED,
        reason=str(data.get("reason") or ""),
        retryable=bool(data.get("retryable")),
    )


def delivery_reported(
    incident: Incident, known: Mapping[str, Delivery], report: AnswerDelivery
) -> list[Transition]:
    """The event recording ``report``; none when it is a copy (redelivered) or of an attempt
    that is not the answer's latest."""
    answer = known.get(report.answer_event_id)
    if (
        answer is None
        or answer.attempt_id != report.attempt_id
        or answer.state is not DeliveryState.SENDING
    ):
        return []
    data: dict[str, str | int | float | bool | None] = {
        "answer_event_id": report.answer_event_id,
        "attempt_id": report.attempt_id,
    }
    if report.posted:
        data["url"] = report.url
        return [Transition(EventType.ANSWER_POSTED, incident.status, ACTOR, report.at, data=data)]
    data.update(reason=report.reason, retryable=report.retryable)
    return [Transition(EventType.ANSWER_FAILED, incident.status, ACTOR, report.at, data=data)]


def retried(incident: Incident, answer: Delivery | None, actor: str, now: datetime) -> Transition:
    """A new attempt to post a failed answer; refused unless VK surely did not post it."""
    if answer is None:
        raise IllegalTransitionError("Такого ответа у инцидента нет")
    if answer.state is not DeliveryState.FAILED:
        raise IllegalTransitionError(
            "Повторить можно только неудавшуюся отправку: этот ответ "
            + ("уже опубликован" if answer.state is DeliveryState.POSTED else "ещё отправляется")
        )
    if not answer.retryable:
        raise IllegalTransitionError(f"Повтор не поможет: {answer.reason}")
    data: dict[str, str | int | float | bool | None] = {
        "answer_event_id": answer.answer_event_id,
        "text": answer.text,
    }
    return Transition(EventType.ANSWER_RETRIED, incident.status, actor, now, data=data)
