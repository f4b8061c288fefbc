"""Deadline warnings and overdue marks (pure): what the watcher must emit for an incident."""

from datetime import datetime, timedelta

from kernel.contracts.incidents import OPEN_STATUSES, EventType
from sla.domain.lifecycle import Clock, Incident, Transition


def deadline_events(incident: Incident, now: datetime, lead: timedelta) -> list[Transition]:
    """Warnings and overdue marks due by ``now`` that were not emitted yet.

    Each is timed at the moment it became due (the deadline minus the lead, or the deadline), not
    when it was noticed, so a watcher that was down catches up with the right times.
    """
    if incident.status not in OPEN_STATUSES or incident.deadlines is None:
        return []
    events = []
    for clock, due, met in (
        (Clock.FIRST_RESPONSE, incident.deadlines.first_response, incident.first_response_at),
        (Clock.FINAL_ANSWER, incident.deadlines.final_answer, incident.final_answer_at),
    ):
        if met is not None:
            continue
        data: dict[str, str | int | float | bool | None] = {
            "clock": clock.value, "due": due.isoformat(), "noticed_at": now.isoformat(),
        }  # fmt: skip
        if clock not in incident.warned and now >= due - lead:
            events.append(
                Transition(
                    EventType.DEADLINE_WARNING, incident.status, "watcher", due - lead, data=data
                )
            )
        if clock not in incident.overdue and now >= due:
            events.append(Transition(EventType.OVERDUE, incident.status, "watcher", due, data=data))
    return events
