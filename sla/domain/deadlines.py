"""When deadlines start, and the warnings and overdue marks the watcher must emit (pure)."""

from datetime import datetime, timedelta

from kernel.contracts.incidents import OPEN_STATUSES, EventType
from sla.domain.calendar import known_years
from sla.domain.lifecycle import Clock, Incident, Transition


def clock_start(written: datetime, received: datetime, now: datetime) -> datetime:
    """When an incident's deadlines start: when the resident wrote, as the source dates it —
    but never after now (a source clock running ahead), and from when otklik received it when
    the source's date is before any year the production calendar has (a placeholder such as
    VK's 0, i.e. 1970: no resident wrote to the city then, and such a message must still be
    handled rather than refused for want of a calendar)."""
    if written.year < min(known_years()):
        written = received
    return min(written, now)


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
