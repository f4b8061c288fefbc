"""The report_deliveries table: written with a closed revision (in its transaction), claimed one
row at a time by the sender, read back as the delivery log."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import report_deliveries
from sla.domain.report_mail import WEBHOOK_PREFIXES

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class Delivery:
    id: int
    municipality: str
    month: str
    revision: int
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


async def record_deliveries(
    connection: AsyncConnection,
    municipality: str,
    month: str,
    revision: int,
    recipients: Sequence[str],
    now: datetime,
) -> None:
    """One row per recipient of the revision; a row already there stays as it is (the unique
    key is what makes a revision's e-mail to one address exist once)."""
    if not recipients:
        return
    rows = [
        {
            "municipality": municipality,
            "month": month,
            "revision": revision,
            "recipient": recipient,
            "created_at": now,
            "next_attempt_at": now,
        }
        for recipient in recipients
    ]
    await connection.execute(insert(report_deliveries).values(rows).on_conflict_do_nothing())


async def claim_due(
    connection: AsyncConnection, now: datetime, *, mail: bool = True, webhooks: bool = True
) -> Delivery | None:
    """The oldest unsent delivery whose time has come, among e-mails (``mail``) and webhooks
    (``webhooks``: a recipient that is a URL), locked until the caller's transaction ends; one
    that another sender holds is skipped, so two senders never send the same row."""
    url = or_(*(report_deliveries.c.recipient.startswith(p) for p in WEBHOOK_PREFIXES))
    kinds = [kind for kind, wanted in ((~url, mail), (url, webhooks)) if wanted]
    row = (
        await connection.execute(
            select(report_deliveries)
            .where(
                report_deliveries.c.status != SENT,
                report_deliveries.c.next_attempt_at <= now,
                or_(false(), *kinds),
            )
            .order_by(report_deliveries.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    return None if row is None else _delivery(row)


async def mark_sent(connection: AsyncConnection, delivery_id: int, now: datetime) -> None:
    await _attempted(connection, delivery_id, status=SENT, last_error=None, sent_at=now)


async def mark_failed(
    connection: AsyncConnection, delivery_id: int, error: str, retry_at: datetime
) -> None:
    await _attempted(
        connection, delivery_id, status=FAILED, last_error=error, next_attempt_at=retry_at
    )


async def _attempted(connection: AsyncConnection, delivery_id: int, **values: object) -> None:
    await connection.execute(
        update(report_deliveries)
        .where(report_deliveries.c.id == delivery_id)
        .values(attempts=report_deliveries.c.attempts + 1, **values)
    )


async def recent_deliveries(
    connection: AsyncConnection, municipalities: Collection[str] | None, limit: int = 20
) -> list[Delivery]:
    """The latest deliveries, newest first; ``municipalities`` None: all of them."""
    query = select(report_deliveries).order_by(report_deliveries.c.id.desc()).limit(limit)
    if municipalities is not None:
        query = query.where(report_deliveries.c.municipality.in_(list(municipalities)))
    return [_delivery(row) for row in await connection.execute(query)]


def _delivery(row: object) -> Delivery:
    return Delivery(**{name: getattr(row, name) for name in Delivery.__dataclass_fields__})
