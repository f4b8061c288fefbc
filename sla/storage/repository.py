"""Persistence of messages and incidents (SQLAlchemy Core on PostgreSQL). Writes are idempotent:
a redelivered message or event changes nothing the second time."""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.classification import Decision
from kernel.contracts.incidents import OPEN_STATUSES, EventType, IncidentEvent, Status
from kernel.contracts.messages import MessageAction, RawMessage
from kernel.contracts.topics import Topic
from kernel.db.bulk import insert_rows
from kernel.db.outbox import enqueue_many
from kernel.db.schema import (
    incident_events,
    incidents,
    message_authors,
    message_revisions,
    messages,
    moderator_labels,
)
from sla.domain.labels import ModeratorLabel
from sla.domain.lifecycle import Clock, Incident, Transition
from sla.domain.on_time import Deadlines
from sla.storage.numbers import message_years, take_numbers

# What an event row holds of the event (the rest is the incident's, for consumers).
EVENT_COLUMNS = {"incident_id", "seq", "type", "status", "actor", "at", "reason", "data"}


def incident_id_for(message_id: str) -> str:
    return "inc-" + hashlib.sha256(message_id.encode()).hexdigest()[:20]


def _revision_key(message: RawMessage) -> str:
    """One revision per source event: VK's event id where it sent one (a resent event is the
    same revision; deleting and restoring twice are four), else what the event said."""
    said = message.source_event_id or f"{message.created_at.isoformat()}\0{message.text}"
    body = f"{message.message_id}\0{message.action}\0{said}"
    return hashlib.sha256(body.encode()).hexdigest()


def _message_row(message: RawMessage, decision: Decision | None) -> dict[str, Any]:
    official = message.author is not None and message.author.is_official
    return {
        "message_id": message.message_id,
        "source_kind": message.source_kind.value,
        "channel": message.channel.value,
        "source_id": message.source_id,
        "thread_key": message.thread_key,
        "reply_to": message.reply_to,
        "text": message.text,
        "url": message.url,
        "attachments": [a.model_dump() for a in message.attachments],
        "is_official": official,
        "created_at": message.created_at,
        "received_at": message.received_at,
        "deleted_at": message.created_at if message.action is MessageAction.DELETED else None,
        "municipality": message.municipality,
        "department": message.department,
        "is_incident": None if decision is None else decision.is_incident,
        "score": None if decision is None else decision.score,
        "category": None if decision is None else decision.category,
        "sentiment": None if decision is None else decision.sentiment.value,
        "model_version": None if decision is None else decision.model_version,
        "explanation": None if decision is None else list(decision.explanation),
    }


async def insert_message(
    connection: AsyncConnection, message: RawMessage, decision: Decision | None
) -> bool:
    """Store a message once; False when it was already stored (redelivery)."""
    return bool(await insert_messages(connection, [(message, decision)]))


async def insert_messages(
    connection: AsyncConnection, items: Sequence[tuple[RawMessage, Decision | None]]
) -> set[str]:
    """Store messages (with their authors and first revisions) in a few statements, each once;
    returns the ids newly stored: the others were already there (redelivery). Of two items with
    the same id only the first counts, as if they had come one after the other."""
    unique: dict[str, tuple[RawMessage, Decision | None]] = {}
    for message, decision in items:
        unique.setdefault(message.message_id, (message, decision))
    # Existing ids are read first and the rest inserted without RETURNING: a multi-row INSERT
    # ... RETURNING is one long statement that psycopg parses anew each time, which cost more
    # than all the rest of a batch. Should another transaction insert one of them meanwhile (a
    # consumer rebalance), its row is left alone; then either its author's insert fails on the
    # key and the batch is rolled back and applied again, or insert_opened finds its incident.
    existing = set(
        await connection.scalars(
            select(messages.c.message_id).where(messages.c.message_id.in_(list(unique)))
        )
    )
    new = set(unique) - existing
    if not new:
        return set()
    await insert_rows(
        connection,
        messages,
        [_message_row(m, d) for m, d in unique.values() if m.message_id in new],
        skip_conflicts=True,
    )
    stored = [message for message, _ in unique.values() if message.message_id in new]
    authors = [
        {"message_id": m.message_id, "ref": m.author.ref, "name": m.author.name,
         "contact": m.author.contact}
        for m in stored
        if m.author is not None
    ]  # fmt: skip
    await insert_rows(connection, message_authors, authors)
    await insert_rows(
        connection,
        message_revisions,
        [_revision_row(message) for message in stored],
        skip_conflicts=True,
    )
    return new


def _revision_row(message: RawMessage) -> dict[str, Any]:
    return {
        "revision_key": _revision_key(message),
        "message_id": message.message_id,
        "action": message.action.value,
        "text": message.text,
        "at": message.created_at,
    }


async def record_revision(connection: AsyncConnection, message: RawMessage) -> bool:
    """Keep every source event of a message (history); False when already recorded."""
    result = await connection.execute(
        insert(message_revisions)
        .values(**_revision_row(message))
        .on_conflict_do_nothing()
        .returning(message_revisions.c.revision_key)
    )
    return result.first() is not None


async def apply_source_change(connection: AsyncConnection, message: RawMessage) -> None:
    values: dict[str, Any]
    if message.action is MessageAction.DELETED:
        values = {"deleted_at": message.created_at}
    elif message.action is MessageAction.RESTORED:
        values = {"deleted_at": None, "text": message.text}
    else:
        values = {"edited_at": message.created_at, "text": message.text}
    await connection.execute(
        update(messages).where(messages.c.message_id == message.message_id).values(**values)
    )


async def is_official(connection: AsyncConnection, *, message_id: str) -> bool:
    """Whether a stored message is the administration's (a delete event does not say who
    wrote what it deletes)."""
    found = await connection.scalar(
        select(messages.c.is_official).where(messages.c.message_id == message_id)
    )
    return bool(found)


async def message_exists(connection: AsyncConnection, message_id: str) -> bool:
    found = await connection.scalar(
        select(messages.c.message_id).where(messages.c.message_id == message_id)
    )
    return found is not None


def _incident_from_row(row: Row[Any]) -> Incident:
    deadlines = None
    if row.first_response_due is not None and row.final_answer_due is not None:
        deadlines = Deadlines(
            row.first_response_due, row.final_answer_due, row.policy_version, row.policy_rule
        )
    return Incident(
        incident_id=row.incident_id,
        message_id=row.message_id,
        channel=row.channel,
        category=row.category,
        municipality=row.municipality,
        department=row.department,
        status=Status(row.status),
        seq=row.seq,
        assigned_at=row.assigned_at,
        deadlines=deadlines,
        first_response_at=row.first_response_at,
        final_answer_at=row.final_answer_at,
        closed_at=row.closed_at,
        claimed_by=row.claimed_by,
        claim_expires_at=row.claim_expires_at,
        on_time=row.on_time,
        on_time_reason=row.on_time_reason,
        warned=frozenset(c for c in Clock if row._mapping[f"warned_{c.value}"]),
        overdue=frozenset(c for c in Clock if row._mapping[f"overdue_{c.value}"]),
    )


async def load_incident(
    connection: AsyncConnection,
    *,
    incident_id: str | None = None,
    message_id: str | None = None,
    lock: bool = True,
) -> Incident | None:
    """Load one incident, locked (FOR UPDATE) for the rest of the transaction unless lock=False."""
    query = select(incidents).with_for_update() if lock else select(incidents)
    if incident_id is not None:
        query = query.where(incidents.c.incident_id == incident_id)
    else:
        query = query.where(incidents.c.message_id == message_id)
    row = (await connection.execute(query)).first()
    return None if row is None else _incident_from_row(row)


async def open_incidents_in_thread(
    connection: AsyncConnection, *, thread_key: str, written_before: datetime
) -> list[Incident]:
    """The open incidents of the messages of a thread written before a moment, oldest first,
    locked: what the administration's next message in a dialog answers."""
    rows = await connection.execute(
        select(incidents)
        .join(messages, messages.c.message_id == incidents.c.message_id)
        .where(
            messages.c.thread_key == thread_key,
            messages.c.created_at <= written_before,
            incidents.c.status.in_([status.value for status in OPEN_STATUSES]),
        )
        .order_by(messages.c.created_at, incidents.c.incident_id)
        .with_for_update(of=incidents)
    )
    return [_incident_from_row(row) for row in rows]


async def incidents_with_deadlines_due(
    connection: AsyncConnection, now: datetime, lead: timedelta, limit: int
) -> list[Incident]:
    """Open incidents with a warning or overdue mark due, locked; others' locks are skipped."""
    horizon = now + lead
    first_pending = and_(
        incidents.c.first_response_at.is_(None),
        incidents.c.first_response_due <= horizon,
        or_(~incidents.c.warned_first_response, ~incidents.c.overdue_first_response),
    )
    final_pending = and_(
        incidents.c.final_answer_at.is_(None),
        incidents.c.final_answer_due <= horizon,
        or_(~incidents.c.warned_final_answer, ~incidents.c.overdue_final_answer),
    )
    rows = await connection.execute(
        select(incidents)
        .where(
            incidents.c.status.in_([s.value for s in OPEN_STATUSES]),
            or_(first_pending, final_pending),
        )
        .order_by(incidents.c.incident_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_incident_from_row(row) for row in rows]


def _incident_values(incident: Incident) -> dict[str, Any]:
    deadlines = incident.deadlines
    return {
        "channel": incident.channel,
        "category": incident.category,
        "municipality": incident.municipality,
        "department": incident.department,
        "status": incident.status.value,
        "seq": incident.seq,
        "assigned_at": incident.assigned_at,
        "first_response_due": deadlines.first_response if deadlines else None,
        "final_answer_due": deadlines.final_answer if deadlines else None,
        "policy_version": deadlines.policy_version if deadlines else None,
        "policy_rule": deadlines.rule if deadlines else None,
        "first_response_at": incident.first_response_at,
        "final_answer_at": incident.final_answer_at,
        "closed_at": incident.closed_at,
        "claimed_by": incident.claimed_by,
        "claim_expires_at": incident.claim_expires_at,
        "on_time": incident.on_time,
        "on_time_reason": incident.on_time_reason,
        **{f"warned_{c.value}": c in incident.warned for c in Clock},
        **{f"overdue_{c.value}": c in incident.overdue for c in Clock},
    }


async def insert_opened(
    connection: AsyncConnection,
    opened: Sequence[tuple[Incident, list[Transition]]],
    now: datetime,
    zone_of: Callable[[str], tzinfo] = lambda _: UTC,
) -> set[str]:
    """Insert incidents as their opening transitions left them, with those transitions as
    events (and in the outbox), each numbered in its municipality and in the year of its message
    in ``zone_of`` its municipality; returns the ids inserted: an incident already there (for its
    id or its message) is left as it is."""
    if not opened:
        return set()
    existing = set(
        await connection.scalars(
            select(incidents.c.incident_id).where(
                or_(
                    incidents.c.incident_id.in_([after.incident_id for after, _ in opened]),
                    incidents.c.message_id.in_([after.message_id for after, _ in opened]),
                )
            )
        )
    )
    rows = [
        {"incident_id": after.incident_id, "message_id": after.message_id,
         "updated_at": now, **_incident_values(after)}
        for after, _ in opened
        if after.incident_id not in existing
    ]  # fmt: skip
    if not rows:
        return set()
    years = await message_years(
        connection, [(row["message_id"], row["municipality"]) for row in rows], zone_of
    )
    keys = [(row["municipality"], years[row["message_id"]]) for row in rows]
    for row, (_, year), number in zip(
        rows, keys, await take_numbers(connection, keys), strict=True
    ):
        row.update(number_municipality=row["municipality"], number_year=year, number=number)
    # A concurrent insert of the same incident (read too late above) makes the event insert
    # below fail on its key, and the whole transaction is retried: nothing is doubled.
    await insert_rows(connection, incidents, rows, skip_conflicts=True)
    new = {row["incident_id"] for row in rows}
    await _append_events(connection, [(0, a, ts) for a, ts in opened if a.incident_id in new])
    return new


async def incidents_answered_by(connection: AsyncConnection, *, message_id: str) -> list[Incident]:
    """The incidents a message of the city's answered at the source, locked."""
    answered = select(incident_events.c.incident_id).where(
        incident_events.c.type == EventType.ANSWERED.value,
        incident_events.c.data["message_id"].as_string() == message_id,
    )
    rows = await connection.execute(
        select(incidents)
        .where(incidents.c.incident_id.in_(answered))
        .order_by(incidents.c.incident_id)
        .with_for_update()
    )
    return [_incident_from_row(row) for row in rows]


async def status_left_by_deletion(
    connection: AsyncConnection, *, incident_id: str
) -> Status | None:
    """The status the incident's last deletion at the source recorded (None before it did)."""
    value = await connection.scalar(
        select(incident_events.c.data["from"].as_string())
        .where(
            incident_events.c.incident_id == incident_id,
            incident_events.c.type == EventType.SOURCE_DELETED.value,
        )
        .order_by(incident_events.c.seq.desc())
        .limit(1)
    )
    return Status(value) if value in set(Status) else None


async def answer_texts(connection: AsyncConnection, *, incident_id: str) -> set[str]:
    """The texts of every answer recorded for the incident (stripped)."""
    rows = await connection.execute(
        select(incident_events.c.data["text"].as_string()).where(
            incident_events.c.incident_id == incident_id,
            incident_events.c.type == EventType.ANSWERED.value,
        )
    )
    return {text.strip() for (text,) in rows if text}


async def save_transitions(
    connection: AsyncConnection,
    before: Incident,
    after: Incident,
    transitions: list[Transition],
    now: datetime,
) -> list[IncidentEvent]:
    """Update the incident (guarded by its seq), append its events and put them in the outbox."""
    result = await connection.execute(
        update(incidents)
        .where(incidents.c.incident_id == after.incident_id, incidents.c.seq == before.seq)
        .values(updated_at=now, **_incident_values(after))
    )
    if result.rowcount != 1:
        raise RuntimeError(f"incident {after.incident_id} changed concurrently")
    return await _append_events(connection, [(before.seq, after, transitions)])


async def _append_events(
    connection: AsyncConnection, changes: Sequence[tuple[int, Incident, list[Transition]]]
) -> list[IncidentEvent]:
    """Append each change's transitions after its seq as events, and put them in the outbox."""
    events = [
        IncidentEvent(
            event_id=f"{after.incident_id}:{seq + offset}",
            incident_id=after.incident_id,
            message_id=after.message_id,
            seq=seq + offset,
            type=transition.type.value,
            status=transition.status.value,
            actor=transition.actor,
            at=transition.at,
            reason=transition.reason,
            municipality=after.municipality,
            department=after.department,
            data=dict(transition.data),
        )
        for seq, after, transitions in changes
        for offset, transition in enumerate(transitions, start=1)
    ]
    if events:
        await insert_rows(
            connection,
            incident_events,
            [event.model_dump(include=EVENT_COLUMNS) for event in events],
        )
        await enqueue_many(
            connection, Topic.INCIDENT_EVENTS, [(event.incident_id, event) for event in events]
        )
    return events


async def save_label(connection: AsyncConnection, label: ModeratorLabel) -> None:
    """Store the decision with the message's current text; one row per message, the latest
    decision wins (an older one, e.g. from a history file, never overwrites a newer one)."""
    text = await connection.scalar(
        select(messages.c.text).where(messages.c.message_id == label.message_id)
    )
    values = {**asdict(label), "text": text or ""}
    statement = insert(moderator_labels).values(**values)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[moderator_labels.c.message_id],
            set_={k: statement.excluded[k] for k in values if k != "message_id"},
            where=moderator_labels.c.decided_at <= statement.excluded.decided_at,
        )
    )
