"""The incidents (or messages) behind each number of a municipality's month: the drill-down that
lets the programme team defend a figure. Same conditions as ``aggregation.month_inputs``."""

from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, not_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import incidents, messages
from sla.storage.aggregation import EXCLUDED, assigned_in, month_bounds, residents_messages_in
from sla.storage.queue import EVERYWHERE, Reach


class Measure(StrEnum):
    ASSIGNED = "assigned"  # N_назн
    ON_TIME = "on_time"  # N_отр
    NOT_ON_TIME = "not_on_time"  # N_назн - N_отр, each with the reason
    PROCESSED = "processed"  # share processed: any public reply
    EXCLUDED = "excluded"  # assigned in the month but not counted («не инцидент»)
    NEGATIVE = "negative"  # residents' negative messages (share negative)


_INCIDENT_COLUMNS = (
    incidents.c.incident_id,
    incidents.c.message_id,
    incidents.c.status,
    incidents.c.category,
    incidents.c.department,
    incidents.c.assigned_at,
    incidents.c.first_response_due,
    incidents.c.first_response_at,
    incidents.c.final_answer_due,
    incidents.c.final_answer_at,
    incidents.c.on_time,
    incidents.c.on_time_reason,
    incidents.c.policy_version,
    incidents.c.policy_rule,
    incidents.c.number_municipality,
    incidents.c.number_year,
    incidents.c.number.label("number_seq"),  # shown with its prefix (sla.domain.numbers)
    messages.c.url,
)
_MESSAGE_COLUMNS = (
    messages.c.message_id,
    messages.c.source_id,
    messages.c.created_at,
    messages.c.sentiment,
    messages.c.url,
    messages.c.text,
)


def _incident_condition(measure: Measure) -> ColumnElement[bool]:
    counted = incidents.c.status.not_in(EXCLUDED)
    match measure:
        case Measure.ON_TIME:
            return and_(counted, incidents.c.on_time.is_(True))
        case Measure.NOT_ON_TIME:
            return and_(counted, not_(incidents.c.on_time.is_(True)))
        case Measure.PROCESSED:
            return and_(counted, incidents.c.first_response_at.is_not(None))
        case Measure.EXCLUDED:
            return incidents.c.status.in_(EXCLUDED)
    return counted


async def drill_down(
    connection: AsyncConnection,
    municipality: str,
    month: str,
    zone: ZoneInfo,
    measure: Measure,
    reach: Reach = EVERYWHERE,
) -> list[dict[str, Any]]:
    """Rows behind ``measure``: incidents with their deadlines, the on-time decision, its reason
    and the policy that set the deadlines; for ``negative``, the messages. Only the rows within
    ``reach``: a department-limited reader sees their departments' incidents and no messages
    (a message has no department)."""
    start, end = month_bounds(month, zone)
    if not reach.covers_place(municipality):
        return []
    if measure is Measure.NEGATIVE and reach.departments is not None:
        return []
    if measure is Measure.NEGATIVE:
        query = (
            select(*_MESSAGE_COLUMNS)
            .where(residents_messages_in(municipality, start, end))
            .where(messages.c.sentiment == "negative")
            .order_by(messages.c.created_at, messages.c.message_id)
        )
    else:
        query = (
            select(*_INCIDENT_COLUMNS)
            .join(messages, messages.c.message_id == incidents.c.message_id)
            .where(assigned_in(municipality, start, end), _incident_condition(measure))
            .where(*reach.conditions())
            .order_by(incidents.c.assigned_at, incidents.c.incident_id)
        )
    return [dict(row._mapping) for row in await connection.execute(query)]
