"""Who is looking at an incident now: every open incident page reports itself every
``HEARTBEAT_SECONDS`` (and says goodbye when it closes); a viewer not heard of for ``TTL`` is gone.

Kept in PostgreSQL (table incident_viewers), on the app's clock, so every web replica sees every
page. It is a hint for working together, never a lock: the claim is the lock."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import incident_viewers

HEARTBEAT_SECONDS = 10
TTL = timedelta(seconds=3 * HEARTBEAT_SECONDS)


@dataclass(frozen=True, order=True)
class Viewer:
    name: str
    login: str


async def report(
    connection: AsyncConnection,
    incident_id: str,
    viewer: Viewer,
    now: datetime,
    *,
    leaving: bool,
) -> None:
    """``viewer`` has the incident open at ``now`` (or has just closed it). Rows older than the
    TTL go at the same time: the table holds only open pages."""
    await connection.execute(delete(incident_viewers).where(incident_viewers.c.seen_at < now - TTL))
    if leaving:
        await connection.execute(
            delete(incident_viewers).where(
                incident_viewers.c.incident_id == incident_id,
                incident_viewers.c.login == viewer.login,
            )
        )
        return
    row = {"incident_id": incident_id, "login": viewer.login, "name": viewer.name, "seen_at": now}
    upsert = insert(incident_viewers).values(row)
    await connection.execute(
        upsert.on_conflict_do_update(
            index_elements=[incident_viewers.c.incident_id, incident_viewers.c.login],
            set_={"name": upsert.excluded.name, "seen_at": upsert.excluded.seen_at},
        )
    )


async def viewers(connection: AsyncConnection, incident_id: str, now: datetime) -> list[Viewer]:
    """Who has been heard of within the TTL, by name."""
    rows = await connection.execute(
        select(incident_viewers.c.name, incident_viewers.c.login).where(
            incident_viewers.c.incident_id == incident_id,
            incident_viewers.c.seen_at >= now - TTL,
        )
    )
    return sorted(Viewer(row.name, row.login) for row in rows)
