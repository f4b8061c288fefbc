"""Monthly indicators from stored incidents and messages, published as revisions.

Month boundaries are taken in each municipality's time zone. An incident counts in the month it
was assigned (N_назн); it counts in N_отр when its stored on-time decision is true; incidents
rejected as «не инцидент» are not counted; see docs/indicators.md for every rule.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts.indicators import IndicatorRecord
from services.contracts.topics import Topic
from services.db.outbox import enqueue
from services.db.schema import incidents, indicator_values, messages
from sla.domain import Status
from sla.indicators import a2, share_percent

EXCLUDED = (Status.REJECTED.value,)


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def municipalities(connection: AsyncConnection) -> list[str]:
    rows = await connection.execute(select(messages.c.municipality).distinct())
    return sorted(row[0] for row in rows)


async def month_inputs(
    connection: AsyncConnection, municipality: str, month: str, zone: ZoneInfo
) -> dict[str, int]:
    start, end = month_bounds(month, zone)
    counted = and_(
        incidents.c.municipality == municipality,
        incidents.c.assigned_at >= start,
        incidents.c.assigned_at < end,
        incidents.c.status.not_in(EXCLUDED),
    )
    assigned, on_time, processed = (
        await connection.execute(
            select(
                func.count(),
                func.count().filter(incidents.c.on_time.is_(True)),
                func.count().filter(incidents.c.first_response_at.is_not(None)),
            ).where(counted)
        )
    ).one()
    in_month = and_(
        messages.c.municipality == municipality,
        messages.c.created_at >= start,
        messages.c.created_at < end,
        messages.c.is_official.is_(False),
        messages.c.sentiment.is_not(None),
    )
    total, negative = (
        await connection.execute(
            select(
                func.count(), func.sum(case((messages.c.sentiment == "negative", 1), else_=0))
            ).where(in_month)
        )
    ).one()
    return {
        "n_assigned": int(assigned),
        "n_on_time": int(on_time),
        "n_processed": int(processed),
        "n_messages": int(total),
        "n_negative": int(negative or 0),
    }


def build_record(
    municipality: str,
    month: str,
    revision: int,
    inputs: dict[str, int],
    threshold_t: int,
    now: datetime,
) -> IndicatorRecord:
    value = a2(inputs["n_assigned"], inputs["n_on_time"], threshold_t)
    return IndicatorRecord(
        municipality=municipality,
        month=month,
        revision=revision,
        computed_at=now,
        n_assigned=value.n_assigned,
        n_handled_on_time=value.n_on_time,
        ratio=value.ratio,
        k_ob=value.k_ob,
        a2=value.value,
        threshold_t=threshold_t,
        share_processed=share_percent(inputs["n_processed"], inputs["n_assigned"]),
        share_negative=share_percent(inputs["n_negative"], inputs["n_messages"]),
        n_messages=inputs["n_messages"],
        n_negative=inputs["n_negative"],
        n_positive_neutral=inputs["n_messages"] - inputs["n_negative"],
    )


async def latest_revision(
    connection: AsyncConnection, municipality: str, month: str
) -> tuple[int, str] | None:
    row = (
        await connection.execute(
            select(indicator_values.c.revision, indicator_values.c.inputs_digest)
            .where(
                indicator_values.c.municipality == municipality, indicator_values.c.month == month
            )
            .order_by(indicator_values.c.revision.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (int(row.revision), str(row.inputs_digest))


async def publish_month(
    connection: AsyncConnection,
    municipality: str,
    month: str,
    *,
    zone: ZoneInfo,
    threshold_t: int,
    now: datetime,
) -> IndicatorRecord | None:
    """Store and publish a new revision when the inputs changed; None when nothing changed."""
    inputs: dict[str, Any] = {
        **await month_inputs(connection, municipality, month, zone),
        "threshold_t": threshold_t,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    latest = await latest_revision(connection, municipality, month)
    if latest is not None and latest[1] == digest:
        return None
    revision = 1 if latest is None else latest[0] + 1
    record = build_record(municipality, month, revision, inputs, threshold_t, now)
    await connection.execute(
        insert(indicator_values).values(
            municipality=municipality,
            month=month,
            revision=revision,
            computed_at=now,
            inputs_digest=digest,
            record=json.loads(record.model_dump_json()),
            inputs=inputs,
        )
    )
    await enqueue(connection, Topic.MONTHLY_INDICATORS, f"{municipality}:{month}", record)
    return record


async def current_records(
    connection: AsyncConnection, month: str, municipality: str | None = None
) -> list[IndicatorRecord]:
    """The latest revision of every municipality's month."""
    latest = (
        select(
            indicator_values.c.municipality, func.max(indicator_values.c.revision).label("revision")
        )
        .where(indicator_values.c.month == month)
        .group_by(indicator_values.c.municipality)
        .subquery()
    )
    query = select(indicator_values.c.record).join(
        latest,
        and_(
            indicator_values.c.municipality == latest.c.municipality,
            indicator_values.c.revision == latest.c.revision,
            indicator_values.c.month == month,
        ),
    )
    if municipality is not None:
        query = query.where(indicator_values.c.municipality == municipality)
    rows = await connection.execute(query.order_by(indicator_values.c.municipality))
    return [IndicatorRecord.model_validate(row.record) for row in rows]


async def months_with_data(
    connection: AsyncConnection, zone_of: Callable[[str], ZoneInfo]
) -> list[tuple[str, str]]:
    """(municipality, YYYY-MM) pairs that have messages, in each municipality's zone."""
    rows = await connection.execute(
        select(
            messages.c.municipality,
            func.min(messages.c.created_at),
            func.max(messages.c.created_at),
        ).group_by(messages.c.municipality)
    )
    pairs = []
    for municipality, first, last in rows:
        zone = zone_of(municipality)
        cursor, end = first.astimezone(zone), last.astimezone(zone)
        year, month = cursor.year, cursor.month
        while (year, month) <= (end.year, end.month):
            pairs.append((municipality, f"{year:04d}-{month:02d}"))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return pairs


async def published_months(connection: AsyncConnection) -> list[str]:
    rows = await connection.execute(select(indicator_values.c.month).distinct())
    return sorted(row[0] for row in rows)
