"""Read side of the moderator queue: filtered, deadline-sorted, paginated on the server, and
limited to the reader's reach (their scope resolved against the policy, docs/web-ui.md)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.incidents import OPEN_STATUSES, EventType, Status
from kernel.db.schema import incident_events, incidents, messages


@dataclass(frozen=True)
class Reach:
    """Where a reader works: the municipalities (None: all) and departments (None: all) their
    scope resolves to. An incident outside it does not exist for them; one without a department
    is outside a department-limited reach."""

    municipalities: frozenset[str] | None = None
    departments: frozenset[str] | None = None

    def covers_place(self, municipality: str) -> bool:
        return self.municipalities is None or municipality in self.municipalities

    def covers(self, municipality: str, department: str | None) -> bool:
        return self.covers_place(municipality) and (
            self.departments is None or department in self.departments
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """The same rule in SQL, for every query of incidents."""
        found: list[ColumnElement[bool]] = []
        if self.municipalities is not None:
            found.append(incidents.c.municipality.in_(sorted(self.municipalities)))
        if self.departments is not None:  # IN leaves out NULL, as covers() does
            found.append(incidents.c.department.in_(sorted(self.departments)))
        return found


EVERYWHERE = Reach()


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    municipality: str | None = None
    department: str | None = None
    category: str | None = None
    channel: str | None = None
    source: str | None = None
    overdue: bool | None = None
    due_within_hours: float | None = None
    open_only: bool = True
    limit: int = 50
    offset: int = 0
    awaiting: bool = False  # leave out what only awaits closing (answered with a final answer)
    reach: Reach = EVERYWHERE
    mentioned: str | None = None  # a login: incidents whose notes mention it («упоминания»)
    search: str | None = None  # words of the message or of its notes, as a web search takes them
    holder: str | None = None  # a login: incidents claimed by or assigned to it («Мои»)


def _next_due() -> ColumnElement[datetime]:
    """The deadline still to be met: the first response until there is one, then the final
    answer (None once both are met). Overdue, "due within" and the queue order all use it."""
    return func.coalesce(
        case((incidents.c.first_response_at.is_(None), incidents.c.first_response_due)),
        case((incidents.c.final_answer_at.is_(None), incidents.c.final_answer_due)),
    )


def _conditions(flt: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    conditions = flt.reach.conditions()
    if flt.status is not None:
        conditions.append(incidents.c.status == flt.status)
    elif flt.open_only:
        conditions.append(incidents.c.status.in_([s.value for s in OPEN_STATUSES]))
    for column, value in (
        (incidents.c.municipality, flt.municipality),
        (incidents.c.department, flt.department),
        (incidents.c.category, flt.category),
        (incidents.c.channel, flt.channel),
        (messages.c.source_id, flt.source),
    ):
        if value is not None:
            conditions.append(column == value)
    due = _next_due()
    if flt.overdue is True:
        conditions.append(due < now)
    elif flt.overdue is False:
        conditions.append(or_(due.is_(None), due >= now))
    if flt.due_within_hours is not None:
        conditions.append(due.between(now, now + timedelta(hours=flt.due_within_hours)))
    if flt.awaiting:
        conditions.append(
            or_(incidents.c.status != Status.ANSWERED, incidents.c.final_answer_at.is_(None))
        )
    return conditions + _teamwork(flt)


def _teamwork(flt: QueueFilter) -> list[ColumnElement[bool]]:
    found = []
    if flt.mentioned is not None:
        mentions = func.string_to_array(incident_events.c.data["mentions"].as_string(), " ")
        found.append(_has_note(mentions.any_() == flt.mentioned))
    if flt.search:
        found.append(_matches(flt.search))
    if flt.holder is not None:
        found.append(incidents.c.claimed_by == flt.holder)
    return found


# Spelled as the GIN indexes are (kernel/db/schema.py): with a bound configuration PostgreSQL
# could not use them.
_RUSSIAN: ColumnElement[str] = literal_column("'russian'::regconfig")


def _has_note(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        incident_events.c.incident_id == incidents.c.incident_id,
        incident_events.c.type == EventType.NOTED.value,
        condition,
    )


def _matches(words: str) -> ColumnElement[bool]:
    """The message or one of the incident's notes holds the words, in any of their forms
    (Russian morphology: «собака» finds «собаки»). Two uncorrelated subqueries, each answered
    from its GIN index (an OR of correlated conditions would read every message)."""
    query = func.websearch_to_tsquery(_RUSSIAN, words)
    note = func.to_tsvector(_RUSSIAN, literal_column("incident_events.data ->> 'text'"))
    in_messages = select(messages.c.message_id).where(
        func.to_tsvector(_RUSSIAN, messages.c.text).bool_op("@@")(query)
    )
    in_notes = select(incident_events.c.incident_id).where(
        incident_events.c.type == EventType.NOTED.value, note.bool_op("@@")(query)
    )
    return or_(incidents.c.message_id.in_(in_messages), incidents.c.incident_id.in_(in_notes))


_COLUMNS = (
    incidents.c.incident_id,
    incidents.c.status,
    incidents.c.municipality,
    incidents.c.department,
    incidents.c.category,
    incidents.c.channel,
    incidents.c.assigned_at,
    incidents.c.first_response_due,
    incidents.c.final_answer_due,
    incidents.c.first_response_at,
    incidents.c.final_answer_at,
    incidents.c.claimed_by,
    incidents.c.on_time,
    incidents.c.on_time_reason,
    incidents.c.policy_version,
    incidents.c.policy_rule,
    incidents.c.number_municipality,
    incidents.c.number_year,
    incidents.c.number.label("number_seq"),  # shown with its prefix (sla.domain.numbers)
    messages.c.message_id,
    messages.c.text,
    messages.c.url,
    messages.c.score,
    messages.c.explanation,
    messages.c.created_at,
)


_JOINED = incidents.join(messages, messages.c.message_id == incidents.c.message_id)


def queue_query(flt: QueueFilter, now: datetime) -> Select[Any]:
    """One page of the queue, deadline first."""
    return (
        select(*_COLUMNS, _next_due().label("next_due"))
        .select_from(_JOINED)
        .where(*_conditions(flt, now))
        .order_by(_next_due().asc().nulls_last(), incidents.c.incident_id)
        .limit(flt.limit)
        .offset(flt.offset)
    )


async def list_incidents(
    connection: AsyncConnection, flt: QueueFilter, now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    conditions = _conditions(flt, now)
    total = await connection.scalar(select(func.count()).select_from(_JOINED).where(*conditions))
    rows = await connection.execute(queue_query(flt, now))
    return int(total or 0), [dict(row._mapping) for row in rows]


async def incident_detail(
    connection: AsyncConnection, incident_id: str, reach: Reach = EVERYWHERE
) -> dict[str, Any] | None:
    """The incident with its history; None when it is missing or outside ``reach`` alike."""
    row = (
        await connection.execute(
            select(*_COLUMNS)
            .join(messages, messages.c.message_id == incidents.c.message_id)
            .where(incidents.c.incident_id == incident_id, *reach.conditions())
        )
    ).first()
    if row is None:
        return None
    events = await connection.execute(
        select(incident_events)
        .where(incident_events.c.incident_id == incident_id)
        .order_by(incident_events.c.seq)
    )
    return {**dict(row._mapping), "history": [dict(event._mapping) for event in events]}
