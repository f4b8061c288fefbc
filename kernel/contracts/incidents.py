"""otklik.incidents.events.v1: every lifecycle transition of an incident, keyed by incident id;
and the statuses and event types every stage, page and report speaks of."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_WORK = "in_work"
    ANSWERED = "answered"
    CLOSED = "closed"
    REJECTED = "rejected"
    SOURCE_DELETED = "source_deleted"


class EventType(StrEnum):
    OPENED = "opened"
    ASSIGNED = "assigned"
    CLAIMED = "claimed"
    RELEASED = "released"
    ANSWERED = "answered"
    CLOSED = "closed"
    REJECTED = "rejected"
    REASSIGNED = "reassigned"
    REOPENED = "reopened"
    RESTORED = "restored"  # a supervisor undid «не инцидент»
    RECATEGORISED = "recategorised"
    SOURCE_DELETED = "source_deleted"
    SOURCE_RESTORED = "source_restored"
    ANSWER_EDITED = "answer_edited"  # the city edited its answer at the source
    ANSWER_DELETED = "answer_deleted"  # the city deleted its answer at the source
    # Delivery of an answer given in otklik to VK (docs/lifecycle.md): none moves the status
    # or the deadlines.
    ANSWER_POSTED = "answer_posted"
    ANSWER_FAILED = "answer_failed"
    ANSWER_RETRIED = "answer_retried"
    NOTED = "noted"  # an internal note (sla/domain/notes.py): never published, moves nothing
    DEADLINE_WARNING = "deadline_warning"
    OVERDUE = "overdue"


# Waiting for the administration: counted as open in the queue, the gauges and the alerts.
OPEN_STATUSES = frozenset({Status.NEW, Status.ASSIGNED, Status.IN_WORK, Status.ANSWERED})


class IncidentEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="'<incident_id>:<seq>', unique and stable")
    incident_id: str
    message_id: str | None = Field(
        default=None, description="The resident's message the incident was opened for"
    )
    seq: int = Field(ge=1)
    type: EventType
    status: Status = Field(description="Status after the transition")
    actor: str
    at: AwareDatetime
    reason: str | None = None
    municipality: str
    department: str | None = None
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
