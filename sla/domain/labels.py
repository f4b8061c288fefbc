"""Which moderator decisions teach the classifier, and what they teach (pure).

A decision on an incident is a verdict on the classifier's output for its message:

* «не инцидент» (rejected) — the message is not an incident;
* an answer (intermediate or final) or closing — the moderator confirms an incident of the
  incident's current category;
* a category change — an incident of the new category;
* «вернуть в работу» (a supervisor undoing «не инцидент») — an incident after all, of its
  current category: it overrides the rejection's label.

Claims, reopenings, reassignments (routing, not classification) and the automatic official
replies from VK teach nothing: an official reply answers whatever it is attached to, even a
message the classifier flagged by mistake, so it is no moderator's verdict.
"""

from dataclasses import dataclass
from datetime import datetime

from kernel.contracts.incidents import EventType
from sla.domain.lifecycle import Incident, Transition

_CONFIRMING = frozenset({EventType.ANSWERED, EventType.CLOSED, EventType.RESTORED})


@dataclass(frozen=True)
class ModeratorLabel:
    message_id: str
    incident_id: str
    is_incident: bool
    category: str | None
    decision: str  # the event type that carried the decision
    actor: str
    decided_at: datetime


def moderator_label(after: Incident, transitions: list[Transition]) -> ModeratorLabel | None:
    """The label a moderator's command gave the incident's message (the last decision among
    ``transitions``), or None when the command is no verdict on the classification."""
    for transition in reversed(transitions):
        if transition.type is EventType.REJECTED:
            return _label(after, transition, is_incident=False, category=None)
        if transition.type in _CONFIRMING:
            return _label(after, transition, is_incident=True, category=after.category)
        if transition.type is EventType.RECATEGORISED:
            category = str(transition.data["category"])
            return _label(after, transition, is_incident=True, category=category)
    return None


def _label(
    after: Incident, transition: Transition, *, is_incident: bool, category: str | None
) -> ModeratorLabel:
    return ModeratorLabel(
        message_id=after.message_id,
        incident_id=after.incident_id,
        is_incident=is_incident,
        category=category,
        decision=transition.type.value,
        actor=transition.actor,
        decided_at=transition.at,
    )
