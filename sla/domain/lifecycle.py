"""The incident lifecycle as a pure state machine.

``decide(incident, command, now)`` returns the transitions a command causes or raises
``IllegalTransitionError``; ``apply`` folds a transition into the incident. No I/O, no clock: the
shell loads state, calls these, stores the transitions and publishes them through the outbox.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from kernel.contracts.incidents import OPEN_STATUSES, EventType, Status
from sla.domain.on_time import Deadlines, judge_on_time


class Clock(StrEnum):
    FIRST_RESPONSE = "first_response"
    FINAL_ANSWER = "final_answer"


class IllegalTransitionError(ValueError):
    """The command is not allowed in the incident's current status (message in Russian)."""


@dataclass(frozen=True)
class Incident:
    incident_id: str
    message_id: str
    channel: str
    category: str | None
    municipality: str
    department: str | None
    status: Status = Status.NEW
    seq: int = 0
    assigned_at: datetime | None = None
    deadlines: Deadlines | None = None
    first_response_at: datetime | None = None
    final_answer_at: datetime | None = None
    closed_at: datetime | None = None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    on_time: bool | None = None
    on_time_reason: str | None = None
    warned: frozenset[Clock] = frozenset()
    overdue: frozenset[Clock] = frozenset()


@dataclass(frozen=True)
class Transition:
    type: EventType
    status: Status
    actor: str
    at: datetime
    reason: str | None = None
    data: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    deadlines: Deadlines | None = None


@dataclass(frozen=True)
class Assign:
    actor: str
    deadlines: Deadlines


@dataclass(frozen=True)
class Claim:
    """Take the incident into work: for oneself, or (a supervisor assigning it) for ``holder``,
    who then holds the claim as if they had taken it."""

    actor: str
    lock_until: datetime
    holder: str | None = None


@dataclass(frozen=True)
class Answer:
    actor: str
    text: str
    final: bool = True
    from_source: bool = False  # the reply was written in VK itself, not in otklik
    source_message: str | None = None  # that reply's message id


@dataclass(frozen=True)
class Reject:
    actor: str
    reason: str


@dataclass(frozen=True)
class Reassign:
    actor: str
    municipality: str
    department: str | None
    reason: str
    deadlines: Deadlines | None = None  # new deadlines when the policy restarts the clock


@dataclass(frozen=True)
class Close:
    actor: str


@dataclass(frozen=True)
class Reopen:
    actor: str
    reason: str


@dataclass(frozen=True)
class Restore:
    """A supervisor undoes «не инцидент»: the incident is back in work with the deadlines it had,
    and its month counts it again."""

    actor: str
    reason: str


@dataclass(frozen=True)
class Recategorise:
    """A moderator corrects the classifier's category (routing and deadlines stay as they are)."""

    actor: str
    category: str


@dataclass(frozen=True)
class SourceDeleted:
    actor: str = "source"


@dataclass(frozen=True)
class AnswerChanged:
    """The city edited (new text) or deleted (no text) an answer it had given at the source:
    recorded in the history; the answer's time still counts."""

    message_id: str
    text: str | None
    actor: str = "source"


@dataclass(frozen=True)
class SourceRestored:
    """The resident restored what they deleted: the incident is back where it was."""

    previous: Status | None = None  # what the deletion's event recorded, if it did
    actor: str = "source"


Command = (
    Assign
    | Claim
    | Answer
    | Reject
    | Reassign
    | Close
    | Reopen
    | Restore
    | Recategorise
    | SourceDeleted
    | SourceRestored
    | AnswerChanged
)

# Per command: the statuses it is allowed in, and its name for the refusal message.
_RULES: dict[type, tuple[frozenset[Status], str]] = {
    Assign: (frozenset({Status.NEW}), "назначить"),
    Claim: (frozenset({Status.ASSIGNED, Status.IN_WORK}), "взять в работу"),
    Answer: (frozenset({Status.ASSIGNED, Status.IN_WORK, Status.ANSWERED}), "ответить"),
    Reject: (frozenset({Status.NEW, Status.ASSIGNED, Status.IN_WORK}), "отклонить"),
    # Answered too: after an intermediate reply («взяли в работу») the incident may still turn
    # out to be another executor's; ``_reassign`` refuses it once the final answer is given.
    Reassign: (frozenset({Status.ASSIGNED, Status.IN_WORK, Status.ANSWERED}), "переназначить"),
    Close: (frozenset({Status.ANSWERED}), "закрыть"),
    Reopen: (frozenset({Status.ANSWERED, Status.CLOSED}), "переоткрыть"),
    Restore: (frozenset({Status.REJECTED}), "вернуть в работу"),
    Recategorise: (OPEN_STATUSES, "изменить категорию"),
    SourceDeleted: (OPEN_STATUSES, "отметить удаление в источнике"),
    SourceRestored: (frozenset({Status.SOURCE_DELETED}), "отметить восстановление в источнике"),
    AnswerChanged: (frozenset(Status) - {Status.NEW}, "отметить изменение ответа"),
}


def decide(incident: Incident, command: Command, now: datetime) -> list[Transition]:
    """The transitions ``command`` causes at ``now``; raises IllegalTransitionError if refused."""
    allowed, name = _RULES[type(command)]
    if incident.status not in allowed:
        raise IllegalTransitionError(
            f"Нельзя {name} инцидент {incident.incident_id} в статусе «{incident.status.value}»"
        )
    return _decide_allowed(incident, command, now)


def _decide_allowed(incident: Incident, command: Command, now: datetime) -> list[Transition]:
    match command:
        case Assign(actor, deadlines):
            return [
                Transition(EventType.ASSIGNED, Status.ASSIGNED, actor, now, deadlines=deadlines)
            ]
        case Claim():
            return [_claim(incident, command, now)]
        case Answer():
            return [_answer(incident, command, now)]
        case Reject(actor, reason):
            _require_reason(reason)
            return [Transition(EventType.REJECTED, Status.REJECTED, actor, now, reason)]
        case Reassign():
            return [_reassign(incident, command, now)]
        case Close(actor):
            return [_close(incident, actor, now)]
        case Reopen() | Restore():
            return [_back_to_work(incident, command, now)]
        case Recategorise():
            return [_recategorise(incident, command, now)]
        case SourceDeleted() | SourceRestored() | AnswerChanged():
            return [_source_change(incident, command, now)]
    raise AssertionError(command)  # pragma: no cover - exhaustive match


def _source_change(
    incident: Incident, command: SourceDeleted | SourceRestored | AnswerChanged, now: datetime
) -> Transition:
    """What the source did to the message: deleted, restored, or the city's answer changed."""
    if isinstance(command, AnswerChanged):
        return _answer_changed(incident, command, now)
    if isinstance(command, SourceDeleted):
        data: dict[str, str | int | float | bool | None] = {"from": incident.status.value}
        return Transition(EventType.SOURCE_DELETED, Status.SOURCE_DELETED, command.actor, now,
                          data=data)  # fmt: skip
    back = status_before_deletion(incident, command.previous)
    return Transition(EventType.SOURCE_RESTORED, back, command.actor, now)


def status_before_deletion(incident: Incident, previous: Status | None) -> Status:
    """Where a deleted incident stood: the status its deletion recorded, but a claim is not
    given back (the deletion released it: nobody works on what is gone); for a deletion that
    recorded none, read from what the incident kept."""
    if previous is Status.IN_WORK:
        return Status.ASSIGNED
    if previous is not None:
        return previous
    if incident.first_response_at is not None:  # an intermediate reply leaves it answered too
        return Status.ANSWERED
    return Status.ASSIGNED if incident.assigned_at is not None else Status.NEW


def _claim(incident: Incident, command: Claim, now: datetime) -> Transition:
    holder = command.holder or command.actor
    if holder == command.actor:  # an assignment by a supervisor hands over another's claim
        check_claim(incident, holder, now)
    until = command.lock_until.isoformat()
    data: dict[str, str | int | float | bool | None] = {"lock_until": until}
    if holder != command.actor:
        data["assignee"] = holder
    return Transition(EventType.CLAIMED, Status.IN_WORK, command.actor, now, data=data)


def _answer(incident: Incident, command: Answer, now: datetime) -> Transition:
    actor, text, final = command.actor, command.text, command.final
    if not text.strip():
        raise IllegalTransitionError("Текст ответа не может быть пустым")
    if incident.final_answer_at is not None and incident.status is Status.ANSWERED:
        raise IllegalTransitionError(
            f"На инцидент {incident.incident_id} уже дан окончательный ответ"
        )
    data: dict[str, str | int | float | bool | None] = {"final": final, "text": text}
    if command.from_source:  # already visible at the source: nothing to post back
        data["from_source"] = True
        data["message_id"] = command.source_message
    # An intermediate reply to a reopened incident (its old final answer kept for the
    # indicators) leaves it where it is: answered it would refuse the final answer it awaits.
    reopened = incident.final_answer_at is not None
    status = incident.status if reopened and not final else Status.ANSWERED
    return Transition(EventType.ANSWERED, status, actor, now, data=data)


def _answer_changed(incident: Incident, command: AnswerChanged, now: datetime) -> Transition:
    data: dict[str, str | int | float | bool | None] = {"message_id": command.message_id}
    if command.text is None:
        return Transition(EventType.ANSWER_DELETED, incident.status, command.actor, now, data=data)
    data["text"] = command.text
    return Transition(EventType.ANSWER_EDITED, incident.status, command.actor, now, data=data)


def _reassign(incident: Incident, command: Reassign, now: datetime) -> Transition:
    _require_reason(command.reason)
    if incident.final_answer_at is not None and incident.status is Status.ANSWERED:
        raise IllegalTransitionError(
            f"На инцидент {incident.incident_id} уже дан окончательный ответ: переназначать нечего"
        )
    if (command.municipality, command.department) == (incident.municipality, incident.department):
        raise IllegalTransitionError("Инцидент уже назначен этому исполнителю")
    data: dict[str, str | int | float | bool | None] = {
        "municipality": command.municipality,
        "department": command.department,
        "from_municipality": incident.municipality,
        "from_department": incident.department,
    }
    return Transition(
        EventType.REASSIGNED, Status.ASSIGNED, command.actor, now, command.reason, data,
        deadlines=_restarted(incident, command.deadlines),
    )  # fmt: skip


def _restarted(incident: Incident, fresh: Deadlines | None) -> Deadlines | None:
    """New deadlines of a reassignment that restarts the clock. A first response already given
    (an intermediate reply) stopped its clock under the deadline then in force: that deadline
    stays, only the final answer's starts again."""
    if fresh is None or incident.first_response_at is None or incident.deadlines is None:
        return fresh
    return replace(fresh, first_response=incident.deadlines.first_response)


def _close(incident: Incident, actor: str, now: datetime) -> Transition:
    if incident.final_answer_at is None:
        raise IllegalTransitionError("Нельзя закрыть инцидент без окончательного ответа")
    return Transition(EventType.CLOSED, Status.CLOSED, actor, now)


def _recategorise(incident: Incident, command: Recategorise, now: datetime) -> Transition:
    if not command.category.strip():
        raise IllegalTransitionError("Укажите категорию")
    if command.category == incident.category:
        raise IllegalTransitionError(f"У инцидента уже категория «{command.category}»")
    data: dict[str, str | int | float | bool | None] = {
        "category": command.category, "from_category": incident.category,
    }  # fmt: skip
    # The status stays: a correction of the category is not a step of the lifecycle.
    return Transition(EventType.RECATEGORISED, incident.status, command.actor, now, data=data)


def check_claim(incident: Incident, actor: str, now: datetime) -> None:
    """A moderator may act on an incident only if nobody else holds a live claim on it."""
    lock_held = incident.claim_expires_at is not None and incident.claim_expires_at > now
    if lock_held and incident.claimed_by not in (None, actor):
        raise IllegalTransitionError(
            f"Инцидент {incident.incident_id} в работе у {incident.claimed_by}; дождитесь "
            "окончания блокировки или попросите руководителя переназначить"
        )


def _back_to_work(incident: Incident, command: Reopen | Restore, now: datetime) -> Transition:
    """Reopened (after an answer or the close) or restored (after «не инцидент»), with a reason."""
    _require_reason(command.reason)
    if isinstance(command, Reopen):
        return Transition(EventType.REOPENED, Status.ASSIGNED, command.actor, now, command.reason)
    if incident.assigned_at is None:  # rejected before routing (a loaded history)
        raise IllegalTransitionError(
            f"Инцидент {incident.incident_id} отклонён до назначения: вернуть его нельзя, "
            "у него нет ни исполнителя, ни сроков"
        )
    return Transition(EventType.RESTORED, Status.ASSIGNED, command.actor, now, command.reason)


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise IllegalTransitionError("Укажите причину")


def apply(incident: Incident, transition: Transition) -> Incident:
    """The incident after ``transition``."""
    # One copy of the incident per transition (the SLA tracker applies three to each message
    # it opens an incident for): the changes are gathered first.
    changes: dict[str, Any] = {"status": transition.status, "seq": incident.seq + 1}
    match transition.type:
        case EventType.ASSIGNED:
            changes.update(assigned_at=transition.at, deadlines=transition.deadlines)
        case EventType.CLAIMED:
            until = datetime.fromisoformat(str(transition.data["lock_until"]))
            holder = transition.data.get("assignee") or transition.actor
            changes.update(claimed_by=str(holder), claim_expires_at=until)
        case EventType.ANSWERED:
            changes.update(_answer_changes(incident, transition))
        case EventType.CLOSED:
            changes.update(closed_at=transition.at, claimed_by=None)
        case EventType.REASSIGNED:
            changes.update(_reassign_changes(transition))
        case EventType.REOPENED:
            changes.update(closed_at=None, claimed_by=None, claim_expires_at=None)
        case EventType.DEADLINE_WARNING | EventType.OVERDUE:
            changes.update(_deadline_flags(incident, transition))
        case (
            EventType.ANSWER_EDITED
            | EventType.ANSWER_DELETED
            | EventType.ANSWER_POSTED
            | EventType.ANSWER_FAILED
            | EventType.ANSWER_RETRIED
            | EventType.NOTED  # an internal note (sla/domain/notes.py)
        ):
            # What the city did to its answer at the source, or how an answer's delivery to VK
            # went (sla/domain/answer_delivery.py): records only, claim and all stay.
            pass
        case EventType.RECATEGORISED:  # keeps the claim: the moderator goes on working on it
            changes.update(category=str(transition.data["category"]))
        case _:
            changes.update(claimed_by=None, claim_expires_at=None)
    return replace(incident, **changes)


def _deadline_flags(incident: Incident, transition: Transition) -> dict[str, Any]:
    clock = Clock(str(transition.data["clock"]))
    if transition.type is EventType.DEADLINE_WARNING:
        return {"warned": incident.warned | {clock}}
    return {"overdue": incident.overdue | {clock}}


def _answer_changes(incident: Incident, transition: Transition) -> dict[str, Any]:
    first = incident.first_response_at or transition.at
    if not transition.data.get("final"):
        return {"first_response_at": first}
    changes: dict[str, Any] = {"first_response_at": first, "final_answer_at": transition.at}
    if incident.on_time is not None:  # a reopened incident keeps its first on-time decision
        return changes
    on_time, reason = judge_on_time(incident.deadlines, first, transition.at)
    return {**changes, "on_time": on_time, "on_time_reason": reason}


def _reassign_changes(transition: Transition) -> dict[str, Any]:
    department = transition.data["department"]
    changes: dict[str, Any] = {
        "municipality": str(transition.data["municipality"]),
        "department": None if department is None else str(department),
        "claimed_by": None,
        "claim_expires_at": None,
    }
    if transition.deadlines is not None:
        # New deadlines: the warnings and overdue marks of the old ones no longer apply. The
        # assignment time stays the resident's: the incident keeps counting in its month.
        changes.update(deadlines=transition.deadlines, warned=frozenset(), overdue=frozenset())
    return changes


def opened(
    actor: str, at: datetime, data: dict[str, str | int | float | bool | None]
) -> Transition:
    """The first event of every incident: a message was recognised as one."""
    return Transition(EventType.OPENED, Status.NEW, actor, at, data=data)


def apply_all(incident: Incident, transitions: list[Transition]) -> Incident:
    for transition in transitions:
        incident = apply(incident, transition)
    return incident
