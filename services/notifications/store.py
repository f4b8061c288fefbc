"""The notification tables: each user's preferences, and the outbox of notifications — planned
from the incident events (one row per user, incident, kind and channel; a row already there
stays as it is, so looking at the same events again notifies nobody twice), claimed by the
sender under a row lock, marked sent or failed."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.incidents import OPEN_STATUSES
from kernel.db.schema import (
    TZ,
    incident_events,
    incidents,
    notification_preferences,
    notifications,
    users,
)
from services.auth.roles import Role
from services.auth.scopes import Scope
from services.notifications.preferences import Preferences
from services.notifications.texts import ANSWER_FAILED, EMAIL, KINDS, TELEGRAM, next_digest

PENDING, SENT, FAILED = "pending", "sent", "failed"
# How far back the planner looks at the events each round, by when each was recorded (a deadline
# event is timed when it became due, so a watcher that was down would write old times: its
# ``noticed_at`` says when). Long enough for a notifier that was down; the unique key keeps a
# second look harmless; short enough that a new user is not told of last month.
LOOKBACK = timedelta(days=2)
_RECORDED = func.coalesce(
    cast(incident_events.c.data.op("->>")("noticed_at"), TZ), incident_events.c.at
)
NOTIFIED_ROLES = (Role.MODERATOR.value, Role.SUPERVISOR.value)


@dataclass(frozen=True)
class Notification:
    id: int
    login: str
    incident_id: str
    kind: str
    channel: str
    address: str
    digest: bool
    attempts: int


async def preferences(connection: AsyncConnection, login: str) -> Preferences:
    """The user's preferences; none stored: the defaults (no address, so nothing is sent)."""
    row = (
        await connection.execute(
            select(notification_preferences).where(notification_preferences.c.login == login)
        )
    ).first()
    if row is None:
        return Preferences()
    return Preferences.model_validate({k: getattr(row, k) for k in Preferences.model_fields})


async def save_preferences(
    connection: AsyncConnection, login: str, chosen: Preferences, now: datetime
) -> None:
    values = {**chosen.model_dump(), "updated_at": now}
    statement = insert(notification_preferences).values(login=login, **values)
    await connection.execute(statement.on_conflict_do_update(index_elements=["login"], set_=values))


def recent_events(now: datetime) -> Select[tuple[str, str, str, str | None]]:
    """The open incidents' events of the notified kinds recorded within LOOKBACK. Read every
    round: the kinds' partial index (ix_incident_events_notified, migration 0016) keeps it to
    those events instead of the whole history."""
    return (
        select(
            incident_events.c.incident_id,
            incident_events.c.type,
            incidents.c.municipality,
            incidents.c.department,
        )
        .join(incidents, incidents.c.incident_id == incident_events.c.incident_id)
        .where(
            incident_events.c.type.in_(KINDS),
            now - LOOKBACK < _RECORDED,
            incidents.c.status.in_([status.value for status in OPEN_STATUSES]),
        )
        .distinct()
    )


async def plan(
    connection: AsyncConnection,
    now: datetime,
    members_of: Callable[[str], Iterable[str]],
    default_zone: ZoneInfo,
) -> int:
    """Outbox rows for the recent events of the notified kinds, for every moderator and
    supervisor whose scope covers the incident and who wants that kind; returns how many rows
    are new."""
    events = (await connection.execute(recent_events(now))).all()
    if not events:
        return 0
    people = (
        await connection.execute(
            select(
                users.c.login,
                users.c.scope,
                notification_preferences.c.email,
                notification_preferences.c.telegram_chat,
                notification_preferences.c.kinds,
                notification_preferences.c.digest,
                notification_preferences.c.digest_hour,
                notification_preferences.c.timezone,
            )
            .join(notification_preferences, notification_preferences.c.login == users.c.login)
            .where(users.c.role.in_(NOTIFIED_ROLES), users.c.disabled.is_(False))
        )
    ).all()
    rows = []
    for person in people:
        scope = Scope.from_json(person.scope)
        channels = [
            (c, a) for c, a in ((EMAIL, person.email), (TELEGRAM, person.telegram_chat)) if a
        ]
        zone = ZoneInfo(person.timezone) if person.timezone else default_zone
        due = next_digest(now, person.digest_hour, zone) if person.digest else now
        for event in events:
            if event.type not in person.kinds:
                continue
            if not scope.covers(event.municipality, event.department, members_of):
                continue
            rows += [
                {
                    "login": person.login, "incident_id": event.incident_id, "kind": event.type,
                    "channel": channel, "address": address, "digest": person.digest,
                    "created_at": now, "next_attempt_at": due,
                }
                for channel, address in channels
            ]  # fmt: skip
    if not rows:
        return 0
    result = await connection.execute(
        insert(notifications).values(rows).on_conflict_do_nothing().returning(notifications.c.id)
    )
    return len(result.all())


async def claim_due(
    connection: AsyncConnection, now: datetime, channels: Sequence[str]
) -> list[Notification]:
    """The oldest due notification on one of ``channels`` — with, if it is a digest, every other
    due digest row of the same user and channel (one message lists them) — locked until the
    caller's transaction ends; rows another sender holds are skipped."""
    due = and_(
        notifications.c.status != SENT,
        notifications.c.next_attempt_at <= now,
        notifications.c.channel.in_(list(channels)),
    )
    query = select(notifications).where(due).order_by(notifications.c.id)
    first = (await connection.execute(query.limit(1).with_for_update(skip_locked=True))).first()
    if first is None:
        return []
    if not first.digest:
        return [_notification(first)]
    same = query.where(
        notifications.c.login == first.login,
        notifications.c.channel == first.channel,
        notifications.c.digest.is_(True),
    )
    return [
        _notification(row)
        for row in await connection.execute(same.with_for_update(skip_locked=True))
    ]


async def details(connection: AsyncConnection, incident_ids: Sequence[str]) -> dict[str, Any]:
    """What the messages say of each incident: its row by id."""
    found = await connection.execute(
        select(
            incidents.c.incident_id, incidents.c.municipality, incidents.c.category,
            incidents.c.final_answer_due, incidents.c.number_municipality,
            incidents.c.number_year, incidents.c.number,
        ).where(incidents.c.incident_id.in_(list(incident_ids)))
    )  # fmt: skip
    return {row.incident_id: row for row in found}


async def failure_reasons(
    connection: AsyncConnection, incident_ids: Sequence[str]
) -> dict[str, str]:
    """Why VK refused each incident's latest answer (its latest ``answer_failed`` event)."""
    reason = incident_events.c.data.op("->>")("reason")
    found = await connection.execute(
        select(incident_events.c.incident_id, reason.label("reason"))
        .where(
            incident_events.c.incident_id.in_(list(incident_ids)),
            incident_events.c.type == ANSWER_FAILED,
        )
        .order_by(incident_events.c.seq)
    )
    return {row.incident_id: row.reason for row in found if row.reason}  # the latest stays


async def mark_sent(connection: AsyncConnection, ids: Sequence[int], now: datetime) -> None:
    await _attempted(connection, ids, status=SENT, last_error=None, sent_at=now)


async def mark_failed(
    connection: AsyncConnection, ids: Sequence[int], error: str, retry_at: datetime | None
) -> None:
    """Failed with ``error``; tried again at ``retry_at``, or never (None: refused for good)."""
    await _attempted(connection, ids, status=FAILED, last_error=error, next_attempt_at=retry_at)


async def _attempted(connection: AsyncConnection, ids: Sequence[int], **values: object) -> None:
    await connection.execute(
        update(notifications)
        .where(notifications.c.id.in_(list(ids)))
        .values(attempts=notifications.c.attempts + 1, **values)
    )


def _notification(row: Any) -> Notification:
    return Notification(**{name: getattr(row, name) for name in Notification.__dataclass_fields__})
