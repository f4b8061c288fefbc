"""Loading a history file: every event through the same domain code as live traffic, with the
clock taken from the events. All or nothing: one transaction, and the first refused event
rolls everything back and names its line.

A message already stored before the replay is skipped with all its events, so loading the same
file twice changes nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.classification import Decision, Sentiment
from kernel.contracts.messages import Author, Channel, RawMessage, SourceKind
from kernel.db.engine import Database
from kernel.db.schema import messages
from sla.domain.history import HistoryError, HistoryEvent, parse_history
from sla.domain.lifecycle import (
    Answer,
    Claim,
    Close,
    Command,
    IllegalTransitionError,
    Reassign,
    Reject,
    Reopen,
)
from sla.service import IncidentService, Opening
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
    events = parse_history(lines)
    report = ReplayReport()
    async with db.transaction() as connection:
        for number, event in events:
            if event.message_id in report.skipped_messages:
                continue
            try:
                await _apply(connection, service, event, report)
            except (IllegalTransitionError, LookupError, ValueError) as refused:
                raise HistoryError(f"строка {number}: {refused}") from refused
    return report


async def _apply(
    connection: AsyncConnection, service: IncidentService, event: HistoryEvent, report: ReplayReport
) -> None:
    if event.event == "message":
        if not await repository.insert_message(connection, _message(event), _decision(event)):
            report.skipped_messages.add(event.message_id)
            return
    elif event.event == "assigned":
        await _assign(connection, service, event)
    else:
        incident = await repository.load_incident(connection, message_id=event.message_id)
        if incident is None:
            raise LookupError(f"нет инцидента для сообщения {event.message_id}: нужен assigned")
        await service.act_in(connection, incident, _command(event), event.at, override_claim=True)
    report.applied += 1


async def _assign(
    connection: AsyncConnection, service: IncidentService, event: HistoryEvent
) -> None:
    stored = (
        await connection.execute(
            update(messages)
            .where(messages.c.message_id == event.message_id)
            .values(is_incident=True, category=event.category)
            .returning(messages.c.channel, messages.c.municipality, messages.c.department)
        )
    ).first()
    if stored is None:
        raise LookupError(f"сообщение {event.message_id} не загружено: нужно событие message")
    opened = await service.open_in(
        connection,
        Opening(
            message_id=event.message_id,
            channel=stored.channel,
            category=event.category,
            municipality=event.municipality or stored.municipality,
            department=event.department or stored.department,
            start=event.at,
            data={"source": "history"},
            actor=event.actor,
        ),
    )
    if opened is None:
        raise ValueError(f"инцидент для {event.message_id} уже назначен")


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
