"""The category change in the state machine, and which moderator decisions become labels."""

from datetime import timedelta

import pytest

from kernel.contracts.incidents import OPEN_STATUSES, EventType, Status
from sla.domain.labels import moderator_label
from sla.domain.lifecycle import (
    Answer,
    Claim,
    Close,
    Command,
    IllegalTransitionError,
    Incident,
    Reassign,
    Recategorise,
    Reject,
    Reopen,
    apply_all,
    decide,
)
from tests.factories import SLA_DEADLINES, SLA_T0, sla_incident

T0, DEADLINES, incident = SLA_T0, SLA_DEADLINES, sla_incident


@pytest.mark.parametrize("status", list(Status))
def test_category_changes_in_open_statuses_only_and_keeps_status_and_claim(
    status: Status,
) -> None:
    current = incident(status, claimed_by="anna", claim_expires_at=T0 + timedelta(hours=1))
    command = Recategorise("anna", "housing")
    if status not in OPEN_STATUSES:
        with pytest.raises(IllegalTransitionError, match="изменить категорию"):
            decide(current, command, T0)
        return
    transitions = decide(current, command, T0)
    after = apply_all(current, transitions)
    assert [t.type for t in transitions] == [EventType.RECATEGORISED]
    assert transitions[0].data == {"category": "housing", "from_category": "roads"}
    assert (after.status, after.category, after.claimed_by) == (status, "housing", "anna")
    assert (after.department, after.deadlines) == (current.department, current.deadlines)


@pytest.mark.parametrize(("category", "message"), [("roads", "уже категория"), (" ", "Укажите")])
def test_category_change_to_the_same_or_no_category_is_refused(category: str, message: str) -> None:
    with pytest.raises(IllegalTransitionError, match=message):
        decide(incident(Status.ASSIGNED), Recategorise("anna", category), T0)


def decided(current: Incident, command: Command) -> tuple[bool, str | None, str] | None:
    transitions = decide(current, command, T0 + timedelta(minutes=5))
    label = moderator_label(apply_all(current, transitions), transitions)
    if label is None:
        return None
    assert (label.message_id, label.incident_id, label.actor) == ("m-1", "inc-1", command.actor)
    assert label.decided_at == T0 + timedelta(minutes=5)
    return label.is_incident, label.category, label.decision


def test_which_decisions_become_labels() -> None:
    assigned = incident(Status.ASSIGNED)
    answered = incident(Status.ANSWERED, first_response_at=T0, final_answer_at=T0)
    assert decided(assigned, Reject("anna", "реклама")) == (False, None, "rejected")
    assert decided(assigned, Answer("anna", "Взяли в работу", final=False)) == (
        True, "roads", "answered",
    )  # fmt: skip
    assert decided(answered, Close("anna")) == (True, "roads", "closed")
    assert decided(assigned, Recategorise("anna", "housing")) == (True, "housing", "recategorised")
    # An answer after a category change confirms the new category.
    moved = apply_all(assigned, decide(assigned, Recategorise("anna", "housing"), T0))
    assert decided(moved, Answer("anna", "Готово")) == (True, "housing", "answered")
    no_verdicts: list[tuple[Incident, Command]] = [
        (assigned, Claim("anna", T0 + timedelta(hours=1))),
        (assigned, Reassign("boss", "zarechny", None, "не наш район")),
        (answered, Reopen("anna", "житель пишет снова")),
    ]
    for current, command in no_verdicts:
        assert decided(current, command) is None
