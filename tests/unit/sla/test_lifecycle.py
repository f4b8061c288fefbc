"""Every allowed and every refused transition of the incident state machine."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.contracts.incidents import EventType, Status
from sla.domain.deadlines import clock_start, deadline_events
from sla.domain.lifecycle import (
    Answer,
    Assign,
    Claim,
    Clock,
    Close,
    Command,
    IllegalTransitionError,
    Incident,
    Reassign,
    Reject,
    Reopen,
    Restore,
    SourceDeleted,
    SourceRestored,
    apply_all,
    decide,
    status_before_deletion,
)
from sla.domain.on_time import Deadlines, judge_on_time
from sla.domain.replies import is_intermediate_reply
from tests.factories import SLA_DEADLINES, SLA_T0, sla_incident

T0, DEADLINES, incident = SLA_T0, SLA_DEADLINES, sla_incident


COMMANDS: dict[str, Command] = {
    "assign": Assign("router", DEADLINES),
    "claim": Claim("anna", T0 + timedelta(minutes=30)),
    "answer": Answer("anna", "Яму заделают до пятницы"),
    "reject": Reject("anna", "реклама"),
    "reassign": Reassign("boss", "zarechny", "ЖКХ", "не наш район"),
    "close": Close("anna"),
    "reopen": Reopen("anna", "житель пишет снова"),
    "restore": Restore("glava", "это жалоба"),
    "source_deleted": SourceDeleted(),
}

ALLOWED = {
    Status.NEW: {"assign", "reject", "source_deleted"},
    Status.ASSIGNED: {"claim", "answer", "reject", "reassign", "source_deleted"},
    Status.IN_WORK: {"claim", "answer", "reject", "reassign", "source_deleted"},
    Status.ANSWERED: {"answer", "close", "reopen", "source_deleted"},
    Status.CLOSED: {"reopen"},
    Status.REJECTED: {"restore"},
    Status.SOURCE_DELETED: set(),
}

EXPECTED_STATUS = {
    "assign": Status.ASSIGNED,
    "claim": Status.IN_WORK,
    "answer": Status.ANSWERED,
    "reject": Status.REJECTED,
    "reassign": Status.ASSIGNED,
    "close": Status.CLOSED,
    "reopen": Status.ASSIGNED,
    "restore": Status.ASSIGNED,
    "source_deleted": Status.SOURCE_DELETED,
}


def state_for(status: Status) -> Incident:
    # An answered or closed incident has had an intermediate answer only, so both answering
    # (the final answer) and closing (after it) are meaningful from there.
    if status in (Status.ANSWERED, Status.CLOSED):
        return incident(status, first_response_at=T0, final_answer_at=T0 + timedelta(hours=1))
    return incident(status)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_transition_table(status: Status, name: str) -> None:
    current = state_for(status)
    if status is Status.ANSWERED and name == "answer":
        current = replace(current, final_answer_at=None)
    if name in ALLOWED[status]:
        transitions = decide(current, COMMANDS[name], T0 + timedelta(hours=1))
        assert apply_all(current, transitions).status is EXPECTED_STATUS[name]
    else:
        with pytest.raises(IllegalTransitionError):
            decide(current, COMMANDS[name], T0 + timedelta(hours=1))


def test_claim_lock_blocks_another_moderator_until_it_expires() -> None:
    claimed = apply_all(
        incident(Status.ASSIGNED), decide(incident(Status.ASSIGNED), COMMANDS["claim"], T0)
    )
    with pytest.raises(IllegalTransitionError, match="в работе у anna"):
        decide(claimed, Claim("boris", T0 + timedelta(hours=1)), T0 + timedelta(minutes=10))
    later = T0 + timedelta(minutes=31)
    taken = apply_all(
        claimed, decide(claimed, Claim("boris", later + timedelta(minutes=30)), later)
    )
    assert taken.claimed_by == "boris"


def test_reason_is_required_to_reject_reassign_and_reopen() -> None:
    for command in (
        Reject("anna", " "),
        Reassign("boss", "zarechny", None, ""),
    ):
        with pytest.raises(IllegalTransitionError, match="причину"):
            decide(incident(Status.ASSIGNED), command, T0)


def test_a_restored_incident_keeps_its_deadlines_unless_it_was_never_routed() -> None:
    rejected = incident(Status.REJECTED)  # routed at T0
    back = apply_all(rejected, decide(rejected, Restore("glava", "жалоба"), T0 + timedelta(days=9)))
    assert (back.status, back.deadlines, back.assigned_at) == (Status.ASSIGNED, DEADLINES, T0)
    with pytest.raises(IllegalTransitionError, match="причину"):
        decide(rejected, Restore("glava", " "), T0)
    never_routed = replace(rejected, assigned_at=None)
    with pytest.raises(IllegalTransitionError, match="до назначения"):
        decide(never_routed, Restore("glava", "жалоба"), T0)


def test_final_answer_decides_on_time_with_the_deadline_and_policy() -> None:
    on_time = apply_all(
        incident(Status.ASSIGNED),
        decide(incident(Status.ASSIGNED), Answer("anna", "Готово"), T0 + timedelta(hours=2)),
    )
    assert on_time.on_time is True
    assert "2026-09" in (on_time.on_time_reason or "")
    late_first = incident(Status.ASSIGNED)
    late = apply_all(
        late_first, decide(late_first, Answer("anna", "Готово"), T0 + timedelta(hours=9))
    )
    assert late.on_time is False
    assert "первый ответ позже срока" in (late.on_time_reason or "")


def test_intermediate_answer_starts_first_response_but_not_on_time() -> None:
    current = incident(Status.ASSIGNED)
    after = apply_all(current, decide(current, Answer("anna", "Взяли в работу", final=False), T0))
    assert after.first_response_at == T0
    assert after.final_answer_at is None
    assert after.on_time is None


def test_close_needs_a_final_answer() -> None:
    answered_intermediate = incident(Status.ANSWERED, first_response_at=T0)
    with pytest.raises(IllegalTransitionError, match="окончательного ответа"):
        decide(answered_intermediate, Close("anna"), T0)


def test_judge_without_answer_is_not_on_time() -> None:
    assert judge_on_time(incident(Status.ASSIGNED).deadlines, None, None) == (
        False,
        "нет сроков или ответа",
    )


def test_intermediate_reply_markers() -> None:
    assert is_intermediate_reply("Здравствуйте! Взяли в работу, ответим до конца дня")
    assert not is_intermediate_reply("Яма заделана 12.09, спасибо за сигнал")


LEAD = timedelta(hours=2)


def test_deadline_events_fire_once_each_at_their_due_times() -> None:
    current = incident(Status.ASSIGNED)
    assert deadline_events(current, T0 + timedelta(hours=5), LEAD) == []
    warning = deadline_events(current, T0 + timedelta(hours=6), LEAD)
    assert [(e.type, e.at, e.data["clock"]) for e in warning] == [
        (EventType.DEADLINE_WARNING, T0 + timedelta(hours=6), "first_response")
    ]
    current = apply_all(current, warning)
    assert deadline_events(current, T0 + timedelta(hours=7), LEAD) == []
    overdue = deadline_events(current, T0 + timedelta(hours=9), LEAD)
    assert [(e.type, e.at) for e in overdue] == [(EventType.OVERDUE, T0 + timedelta(hours=8))]
    current = apply_all(current, overdue)
    assert current.status is Status.ASSIGNED
    assert deadline_events(current, T0 + timedelta(hours=10), LEAD) == []


def test_watcher_down_for_days_catches_up_with_correct_times() -> None:
    events = deadline_events(incident(Status.IN_WORK), T0 + timedelta(days=10), LEAD)
    assert [(e.type.value, e.data["clock"], e.at) for e in events] == [
        ("deadline_warning", "first_response", T0 + timedelta(hours=6)),
        ("overdue", "first_response", T0 + timedelta(hours=8)),
        ("deadline_warning", "final_answer", T0 + timedelta(days=7) - LEAD),
        ("overdue", "final_answer", T0 + timedelta(days=7)),
    ]


def test_met_clocks_and_closed_incidents_raise_nothing() -> None:
    answered_first = incident(Status.ANSWERED, first_response_at=T0 + timedelta(hours=1))
    late = T0 + timedelta(days=10)
    assert {e.data["clock"] for e in deadline_events(answered_first, late, LEAD)} == {
        "final_answer"
    }
    assert deadline_events(incident(Status.CLOSED), late, LEAD) == []
    assert deadline_events(incident(Status.REJECTED), late, LEAD) == []


def test_reassignment_with_new_deadlines_resets_the_marks() -> None:
    overdue = apply_all(
        incident(Status.ASSIGNED),
        deadline_events(incident(Status.ASSIGNED), T0 + timedelta(days=8), LEAD),
    )
    assert overdue.overdue == {Clock.FIRST_RESPONSE, Clock.FINAL_ANSWER}
    later = T0 + timedelta(days=8)
    fresh = Deadlines(later + timedelta(hours=8), later + timedelta(days=7), "2026-09", "rules[0]")
    moved = apply_all(
        overdue, decide(overdue, Reassign("boss", "zarechny", None, "район", fresh), later)
    )
    assert (moved.warned, moved.overdue, moved.deadlines) == (frozenset(), frozenset(), fresh)


@pytest.mark.parametrize(
    ("before", "changes"),
    [
        (Status.ASSIGNED, {}),
        # A deletion releases a claim (nobody works on what is gone): back in the queue.
        (Status.ASSIGNED, {"status": Status.IN_WORK, "claimed_by": "anna"}),
        (Status.ANSWERED, {"status": Status.ANSWERED, "first_response_at": T0}),
        (Status.ANSWERED, {"status": Status.ANSWERED, "first_response_at": T0,
                           "final_answer_at": T0}),
        # Reopened after an answer: assigned again, though it keeps the old answer's time.
        (Status.ASSIGNED, {"first_response_at": T0, "final_answer_at": T0}),
    ],
)  # fmt: skip
def test_a_restored_source_puts_the_incident_back_where_the_deletion_found_it(
    before: Status, changes: dict[str, Any]
) -> None:
    open_one = replace(incident(Status.ASSIGNED), **changes)
    [deletion] = decide(open_one, SourceDeleted(), T0)
    deleted = apply_all(open_one, [deletion])
    assert deleted.status is Status.SOURCE_DELETED
    previous = Status(str(deletion.data["from"]))
    restored = apply_all(deleted, decide(deleted, SourceRestored(previous), T0))
    assert restored.status is before
    with pytest.raises(IllegalTransitionError):
        decide(restored, SourceRestored(), T0)  # nothing to restore


def test_a_deletion_recorded_before_its_status_was_restores_from_what_the_incident_kept() -> None:
    answered = replace(incident(Status.SOURCE_DELETED), first_response_at=T0)
    assert status_before_deletion(answered, None) is Status.ANSWERED
    assert status_before_deletion(incident(Status.SOURCE_DELETED), None) is Status.ASSIGNED


def test_an_incident_with_only_an_intermediate_reply_can_be_reassigned() -> None:
    """«Взяли в работу», then it turns out to be another executor's: it goes to them; the first
    response given stays given, and under a restart only the final answer's deadline moves."""
    replied = incident(Status.ANSWERED, first_response_at=T0 + timedelta(hours=1))
    later = T0 + timedelta(days=1)
    fresh = Deadlines(later + timedelta(hours=8), later + timedelta(days=7), "2026-09", "rules[0]")
    moved = apply_all(
        replied, decide(replied, Reassign("boss", "zarechny", None, "район", fresh), later)
    )
    assert (moved.status, moved.municipality) == (Status.ASSIGNED, "zarechny")
    assert moved.first_response_at == T0 + timedelta(hours=1)
    assert moved.deadlines == replace(fresh, first_response=DEADLINES.first_response)
    assert moved.assigned_at == T0  # still counts in the month the resident wrote
    final = replace(replied, final_answer_at=T0 + timedelta(hours=2))
    with pytest.raises(IllegalTransitionError, match="окончательный ответ"):
        decide(final, Reassign("boss", "zarechny", None, "район"), later)


def test_a_reopened_incident_awaits_its_final_answer_through_intermediate_replies() -> None:
    answered = incident(
        Status.ANSWERED, first_response_at=T0, final_answer_at=T0 + timedelta(hours=1)
    )
    reopened = apply_all(answered, decide(answered, COMMANDS["reopen"], T0 + timedelta(hours=2)))
    at = T0 + timedelta(hours=3)
    update = decide(reopened, Answer("anna", "Взяли в работу", final=False), at)
    replied = apply_all(reopened, update)
    assert replied.status is Status.ASSIGNED  # not "answered": the final answer is still due
    done = apply_all(replied, decide(replied, Answer("anna", "Сделано"), at + timedelta(hours=1)))
    assert (done.status, done.final_answer_at) == (Status.ANSWERED, at + timedelta(hours=1))


def test_the_clock_starts_when_the_resident_wrote_within_reason() -> None:
    written, received, now = T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=6)
    assert clock_start(written, received, now) == written
    assert clock_start(now + timedelta(hours=1), received, now) == now  # a source clock ahead
    placeholder = datetime(1970, 1, 1, tzinfo=UTC)  # VK's date 0
    assert clock_start(placeholder, received, now) == received
