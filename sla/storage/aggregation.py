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

from sqlalchemy import ColumnElement, Label, and_, case, func, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.incidents import Status
from kernel.contracts.indicators import IndicatorRecord
from kernel.contracts.topics import Topic
from kernel.db.outbox import enqueue
from kernel.db.schema import incidents, indicator_values, messages
from sla.domain.indicators import a2, share_percent

EXCLUDED = (Status.REJECTED.value,)


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def assigned_in(municipality: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    """Incidents assigned to ``municipality`` in [start, end): N_назн before exclusions."""
    return and_(
        incidents.c.municipality == municipality,
        incidents.c.assigned_at >= start,
        incidents.c.assigned_at < end,
    )


def residents_messages_in(municipality: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    """Residents' messages of the period that have a sentiment: the base of the negative share."""
    return and_(
        messages.c.municipality == municipality,
        messages.c.created_at >= start,
        messages.c.created_at < end,
        messages.c.is_official.is_(False),
        messages.c.sentiment.is_not(None),
    )


async def month_inputs(
    connection: AsyncConnection, municipality: str, month: str, zone: ZoneInfo
) -> dict[str, Any]:
    """Everything the month's indicators follow from: one pass over its incidents, one over its
    messages (both read from covering indexes, see migration 0006)."""
    start, end = month_bounds(month, zone)
    counted = and_(assigned_in(municipality, start, end), incidents.c.status.not_in(EXCLUDED))
    row = (
        await connection.execute(
            select(
                func.count().label("n_assigned"),
                func.count().filter(incidents.c.on_time.is_(True)).label("n_on_time"),
                func.count()
                .filter(incidents.c.first_response_at.is_not(None))
                .label("n_processed"),
                *_response_hours(),
            ).where(counted)
        )
    ).one()
    total, negative = (
        await connection.execute(
            select(
                func.count(), func.sum(case((messages.c.sentiment == "negative", 1), else_=0))
            ).where(residents_messages_in(municipality, start, end))
        )
    ).one()
    inputs: dict[str, Any] = {
        "n_assigned": int(row.n_assigned),
        "n_on_time": int(row.n_on_time),
        "n_processed": int(row.n_processed),
        "n_messages": int(total),
        "n_negative": int(negative or 0),
    }
    for name in _HOURS:
        value = row._mapping[name]
        inputs[name] = None if value is None else round(float(value), 2)
    return inputs


_HOURS = (
    "first_response_median_hours",
    "first_response_p90_hours",
    "final_answer_median_hours",
    "final_answer_p90_hours",
)


def _response_hours() -> list[Label[Any]]:
    """Median and 90th percentile of the hours from the resident's message (the clock's start,
    ``assigned_at``) to the first reply and to the final answer; wall-clock hours, as residents
    wait them (the working-time deadlines are judged separately, in ``on_time``). Incidents
    without that reply yet give NULL, which ordered-set aggregates leave out."""
    columns = []
    for clock, column in (
        ("first_response", incidents.c.first_response_at),
        ("final_answer", incidents.c.final_answer_at),
    ):
        elapsed = func.extract("epoch", column - incidents.c.assigned_at) / 3600.0
        columns += [
            func.percentile_cont(0.5).within_group(elapsed).label(f"{clock}_median_hours"),
            func.percentile_cont(0.9).within_group(elapsed).label(f"{clock}_p90_hours"),
        ]
    return columns


def build_record(
    municipality: str, month: str, revision: int, inputs: dict[str, Any], now: datetime
) -> IndicatorRecord:
    """The record of one computation; everything in it follows from ``inputs`` (stored)."""
    threshold_t = int(inputs["threshold_t"])
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
        first_response_median_hours=inputs.get("first_response_median_hours"),
        first_response_p90_hours=inputs.get("first_response_p90_hours"),
        final_answer_median_hours=inputs.get("final_answer_median_hours"),
        final_answer_p90_hours=inputs.get("final_answer_p90_hours"),
        closed=bool(inputs.get("closed", False)),
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
    closes_at: datetime | None = None,
) -> IndicatorRecord | None:
    """Store and publish a new revision when the inputs changed; None when nothing changed.

    The month's close (``closes_at``) is an input too: the first computation after it is a new
    revision marked ``closed`` even when no number moved, so the month is published at its close.
    """
    inputs: dict[str, Any] = {
        **await month_inputs(connection, municipality, month, zone),
        "threshold_t": threshold_t,
        "closed": closes_at is not None and now >= closes_at,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    latest = await latest_revision(connection, municipality, month)
    if latest is not None and latest[1] == digest:
        return None
    revision = 1 if latest is None else latest[0] + 1
    record = build_record(municipality, month, revision, inputs, now)
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
    """(municipality, YYYY-MM) pairs that have messages or incidents, in each municipality's
    zone; incidents count too, since a municipality may hold only incidents reassigned to it."""
    spans = union_all(
        select(messages.c.municipality.label("m"), messages.c.created_at.label("at")),
        select(incidents.c.municipality, incidents.c.assigned_at).where(
            incidents.c.assigned_at.is_not(None)
        ),
    ).subquery()
    rows = await connection.execute(
        select(spans.c.m, func.min(spans.c.at), func.max(spans.c.at)).group_by(spans.c.m)
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
