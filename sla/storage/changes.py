"""Which incidents changed recently: the feed behind the live queue (server-sent events).

Polled, not pushed: ``incidents.updated_at`` is set by every transition, and the incident's
latest event says who made the change and what it was (a page shows the «changed» banner only
for what others did). A transaction that commits after a later one can carry an earlier
``updated_at``, so callers ask with an overlap and drop what they have already seen
(``ChangeCursor``)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import incident_events, incidents

OVERLAP = timedelta(seconds=10)
BATCH = 500


@dataclass(frozen=True)
class Change:
    incident_id: str
    status: str
    updated_at: datetime
    # Where the incident is now, so each page is told only of its reader's incidents; a change
    # of unknown place ("") is outside every limited scope.
    municipality: str = ""
    department: str | None = None
    actor: str = ""  # who made the latest change ("" when unknown)
    event: str = ""  # its event type
    seq: int = 0  # the incident's revision after it (a page knows the one it shows)


async def changed_since(connection: AsyncConnection, since: datetime) -> list[Change]:
    rows = await connection.execute(
        select(
            incidents.c.incident_id,
            incidents.c.status,
            incidents.c.updated_at,
            incidents.c.municipality,
            incidents.c.department,
            incident_events.c.actor,
            incident_events.c.type,
            incidents.c.seq,
        )
        .select_from(
            incidents.outerjoin(
                incident_events,
                (incident_events.c.incident_id == incidents.c.incident_id)
                & (incident_events.c.seq == incidents.c.seq),
            )
        )
        .where(incidents.c.updated_at > since)
        .order_by(incidents.c.updated_at)
        .limit(BATCH)
    )
    return [_change(row) for row in rows]


def _change(row: Any) -> Change:
    return Change(
        row.incident_id, row.status, row.updated_at, row.municipality, row.department,
        row.actor or "", row.type or "", row.seq,
    )  # fmt: skip


@dataclass
class ChangeCursor:
    """Where the feed stands, and what it has already reported within the overlap."""

    position: datetime
    seen: dict[tuple[str, datetime], datetime] = field(default_factory=dict)

    @property
    def query_from(self) -> datetime:
        return self.position - OVERLAP

    def take(self, changes: list[Change]) -> list[Change]:
        """The changes not reported yet; moves the cursor and forgets what fell out of reach."""
        fresh = [c for c in changes if (c.incident_id, c.updated_at) not in self.seen]
        for change in fresh:
            self.seen[(change.incident_id, change.updated_at)] = change.updated_at
            self.position = max(self.position, change.updated_at)
        horizon = self.query_from
        self.seen = {key: at for key, at in self.seen.items() if at > horizon}
        return fresh
