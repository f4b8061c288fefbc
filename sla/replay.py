"""Loading a history file: every event through the same service code as live traffic, with the
clock taken from the events, in time order. All or nothing: one transaction, and the first
refused event rolls everything back and names its line.

As live: the deadlines start at the resident's message, not at the ``assigned`` event (a lag in
routing is the administration's, not the resident's); a reassignment restarts them when the
policy says so; ids the policy does not know are refused. A message already stored before the
replay is skipped with all its events, so loading the same file twice changes nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.classification import Decision, Sentiment
from kernel.contracts.messages import Author, Channel, RawMessage, SourceKind
from kernel.db.engine import Database
from kernel.db.schema import messages
from sla.domain.history import HistoryError, HistoryEvent, in_time_order, parse_history
from sla.domain.lifecycle import (
    Answer,
    Claim,
    Close,
    Command,
    IllegalTransitionError,
    Incident,
    Reassign,
    Reject,
    Reopen,
)
from sla.service import DeadlinePolicy, IncidentService, Opening
from sla.storage import repository

_KINDS = {
    "vk": SourceKind.VK_COMMENT,
    "web": SourceKind.APPEAL_WEB,
    "email": SourceKind.APPEAL_EMAIL,
    "import": SourceKind.APPEAL_IMPORT,
}


@dataclass
class ReplayReport:
    applied: int = 0
    skipped_messages: set[str] = field(default_factory=set)


async def replay_history(
    db: Database, service: IncidentService, lines: Iterable[bytes]
) -> ReplayReport:
    events = in_time_order(parse_history(lines))
    report = ReplayReport()
    async with db.transaction() as connection:
        for number, event in events:
            if event.message_id in report.skipped_messages:
                continue
            try:
                _check_ids(service.policy, event)
                await _apply(connection, service, event, report)
            except (IllegalTransitionError, LookupError, ValueError) as refused:
                raise HistoryError(f"строка {number}: {refused}") from refused
    return report


def _check_ids(policy: DeadlinePolicy, event: HistoryEvent) -> None:
    if event.municipality is not None:
        policy.require_municipality(event.municipality)
    policy.require_department(event.department)


async def _apply(
    connection: AsyncConnection, service: IncidentService, event: HistoryEvent, report: ReplayReport
) -> None:
    if event.event == "message":
        if not await repository.insert_message(connection, _message(event), _decision(event)):
            report.skipped_messages.add(event.message_id)
            return
        report.applied += 1
        return
    stored = await _flag(connection, event)
    if event.event == "assigned":
        await _open(connection, service, event, stored, assign=True)
    elif event.event in ("source_deleted", "source_restored"):
        await _source_change(connection, service, event)
    else:
        incident = await repository.load_incident(connection, message_id=event.message_id)
        if incident is None and event.event == "rejected":  # flagged, rejected before routing
            incident = await _open(connection, service, event, stored, assign=False)
        if incident is None:
            raise LookupError(f"нет инцидента для сообщения {event.message_id}: нужен assigned")
        await service.act_in(connection, incident, _command(event), event.at, override_claim=True)
    report.applied += 1


async def _flag(connection: AsyncConnection, event: HistoryEvent) -> Row[Any]:
    """The stored message an event concerns (one of an earlier file too), marked an incident
    when the event makes it one; an event dated before the message is refused."""
    columns = (
        messages.c.channel,
        messages.c.municipality,
        messages.c.department,
        messages.c.created_at,
    )
    query: Executable = select(*columns).where(messages.c.message_id == event.message_id)
    if event.event in ("assigned", "rejected"):
        query = (
            update(messages)
            .where(messages.c.message_id == event.message_id)
            .values(is_incident=True, **({"category": event.category} if event.category else {}))
            .returning(*columns)
        )
    stored = (await connection.execute(query)).first()
    if stored is None:
        raise LookupError(f"сообщение {event.message_id} не загружено: нужно событие message")
    if event.at < stored.created_at:
        raise ValueError(
            f"{event.event} в {event.at.isoformat()} раньше самого сообщения "
            f"{event.message_id} ({stored.created_at.isoformat()})"
        )
    return stored


async def _open(
    connection: AsyncConnection,
    service: IncidentService,
    event: HistoryEvent,
    stored: Row[Any],
    *,
    assign: bool,
) -> Incident:
    opened = await service.open_in(
        connection,
        Opening(
            message_id=event.message_id,
            channel=stored.channel,
            category=event.category,
            municipality=event.municipality or stored.municipality,
            department=event.department or stored.department,
            start=stored.created_at,  # as live: the clock starts when the resident wrote
            data={"source": "history", "routed_at": event.at.isoformat()},
            actor=event.actor,
            assign=assign,
        ),
    )
    if opened is None:
        raise ValueError(f"инцидент для {event.message_id} уже открыт")
    return opened


async def _source_change(
    connection: AsyncConnection, service: IncidentService, event: HistoryEvent
) -> None:
    """As a deletion or restoration from VK: the message is marked, and its incident (if any)
    leaves or rejoins the queue; one already rejected or closed stays as it is."""
    deleted = event.event == "source_deleted"
    await connection.execute(
        update(messages)
        .where(messages.c.message_id == event.message_id)
        .values(deleted_at=event.at if deleted else None)
    )
    incident = await repository.load_incident(connection, message_id=event.message_id)
    if incident is None:
        return
    try:
        await service.source_changed_in(connection, incident, deleted=deleted, at=event.at)
    except IllegalTransitionError:
        return


def _command(event: HistoryEvent) -> Command:
    reason = event.reason or ""
    match event.event:
        case "claimed":
            return Claim(event.actor, event.at)
        case "answered":
            return Answer(event.actor, event.text or "", event.final)
        case "rejected":
            return Reject(event.actor, reason)
        case "reassigned":
            return Reassign(event.actor, event.municipality or "", event.department, reason)
        case "closed":
            return Close(event.actor)
        case _:
            return Reopen(event.actor, reason)


def _message(event: HistoryEvent) -> RawMessage:
    return RawMessage(
        message_id=event.message_id,
        source_kind=_KINDS[event.channel],
        channel=Channel(event.channel),
        source_id=f"history:{event.channel}",
        thread_key=f"history:{event.message_id}",
        author=Author(ref=event.actor) if event.actor != "history" else None,
        text=event.text or "",
        created_at=event.at,
        municipality=event.municipality or "",
        department=event.department,
        received_at=event.at,
    )


def _decision(event: HistoryEvent) -> Decision | None:
    """Only the sentiment is known from a previous system; without it the message is left out
    of the shares of negative messages rather than counted as neutral."""
    if event.sentiment is None:
        return None
    return Decision(
        is_incident=False,
        score=0.0,
        threshold=1.0,
        sentiment=Sentiment(event.sentiment),
        model_version="history",
    )
