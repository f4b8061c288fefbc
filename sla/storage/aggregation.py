"""Monthly indicators from stored incidents and messages, published as revisions.

Month boundaries are taken in each municipality's time zone. An incident counts in the month it
was assigned (N_назн); it counts in N_отр when its stored on-time decision is true; incidents
rejected as «не инцидент» are not counted; see docs/indicators.md for every rule.
"""

import hashlib
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Label, and_, case, func, select, union_all
from sqlalchemy.dialects.postgresql import distinct_on, insert
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


@dataclass(frozen=True)
class Revision:
    """The latest stored revision of a municipality's month, as the aggregator needs it."""

    revision: int
    digest: str
    closed: bool


async def latest_revision(
    connection: AsyncConnection, municipality: str, month: str
) -> Revision | None:
    row = (
        await connection.execute(
            select(
                indicator_values.c.revision,
                indicator_values.c.inputs_digest,
                indicator_values.c.inputs["closed"].as_boolean().label("closed"),
            )
            .where(
                indicator_values.c.municipality == municipality, indicator_values.c.month == month
            )
            .order_by(indicator_values.c.revision.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return Revision(int(row.revision), str(row.inputs_digest), bool(row.closed))


async def latest_revisions(connection: AsyncConnection) -> dict[tuple[str, str], Revision]:
    """The latest revision of every (municipality, month) stored: one index scan of the primary
    key, so the aggregator knows which months are closed without reading their inputs."""
    rows = await connection.execute(
        select(
            indicator_values.c.municipality,
            indicator_values.c.month,
            indicator_values.c.revision,
            indicator_values.c.inputs_digest,
            indicator_values.c.inputs["closed"].as_boolean().label("closed"),
        )
        .order_by(
            indicator_values.c.municipality,
            indicator_values.c.month,
            indicator_values.c.revision.desc(),
        )
        .ext(distinct_on(indicator_values.c.municipality, indicator_values.c.month))
    )
    return {
        (row.municipality, row.month): Revision(
            int(row.revision), str(row.inputs_digest), bool(row.closed)
        )
        for row in rows
    }


def lock_key(municipality: str, month: str) -> int:
    """The advisory-lock key of a municipality's month: the first 8 bytes of a SHA-256, signed,
    stable across processes and versions (Python's hash() is salted per process)."""
    digest = hashlib.sha256(f"otklik.indicators:{municipality}:{month}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def publish_month(
    connection: AsyncConnection,
    municipality: str,
    month: str,
    *,
    zone: ZoneInfo,
    threshold_t: int,
    now: datetime,
    closed: bool,
) -> IndicatorRecord | None:
    """Store and publish a new revision when the inputs changed; None when nothing changed.

    Runs inside the caller's transaction and first takes the month's transaction-level advisory
    lock, so two aggregators (the service and `otklik aggregate --once`) never write the same
    month at once: the second waits for the first to commit, then reads its revision (READ
    COMMITTED: each statement sees what committed before it), finds the same digest and writes
    nothing. ``closed`` (whether the month's close time has passed) is one of the inputs: the
    aggregator's ``close_month`` is the step that first sets it.
    """
    await connection.execute(select(func.pg_advisory_xact_lock(lock_key(municipality, month))))
    inputs: dict[str, Any] = {
        **await month_inputs(connection, municipality, month, zone),
        "threshold_t": threshold_t,
        "closed": closed,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    latest = await latest_revision(connection, municipality, month)
    if latest is not None and latest.digest == digest:
        return None
    revision = 1 if latest is None else latest.revision + 1
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


async def record_at(
    connection: AsyncConnection, municipality: str, month: str, revision: int
) -> IndicatorRecord | None:
    """An earlier (or the latest) revision of a municipality's month, as it was published."""
    found = await connection.scalar(
        select(indicator_values.c.record).where(
            indicator_values.c.municipality == municipality,
            indicator_values.c.month == month,
            indicator_values.c.revision == revision,
        )
    )
    return None if found is None else IndicatorRecord.model_validate(found)


async def revisions_of(connection: AsyncConnection, municipality: str, month: str) -> list[int]:
    rows = await connection.execute(
        select(indicator_values.c.revision)
        .where(indicator_values.c.municipality == municipality, indicator_values.c.month == month)
        .order_by(indicator_values.c.revision)
    )
    return [int(row.revision) for row in rows]


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


async def has_any_data(connection: AsyncConnection, municipality: str) -> bool:
    """Whether anything was ever stored for ``municipality`` (a message or an incident)."""
    found = await connection.scalar(
        select(
            select(messages.c.message_id).where(messages.c.municipality == municipality).exists()
            | select(incidents.c.incident_id)
            .where(incidents.c.municipality == municipality)
            .exists()
        )
    )
    return bool(found)


async def with_data(
    connection: AsyncConnection,
    month: str,
    municipalities: Iterable[str] | None,
    zone_of: Callable[[str], ZoneInfo],
) -> list[str]:
    """Which of ``municipalities`` (None: any) have messages or assigned incidents in ``month``
    (each in its own zone): the reads use it to tell "no revision yet" from "nothing
    happened"."""
    if municipalities is None:
        # A day either side covers every zone; each candidate is then checked in its own.
        start, end = month_bounds(month, ZoneInfo("UTC"))
        start, end = start - timedelta(days=1), end + timedelta(days=1)
        rows = await connection.execute(
            union_all(
                select(messages.c.municipality).where(
                    messages.c.created_at >= start, messages.c.created_at < end
                ),
                select(incidents.c.municipality).where(
                    incidents.c.assigned_at >= start, incidents.c.assigned_at < end
                ),
            )
        )
        municipalities = {row[0] for row in rows}
    by_zone: dict[str, list[str]] = {}
    for municipality in municipalities:
        by_zone.setdefault(zone_of(municipality).key, []).append(municipality)
    found: set[str] = set()
    for key, members in by_zone.items():
        start, end = month_bounds(month, ZoneInfo(key))
        rows = await connection.execute(
            union_all(
                select(messages.c.municipality).where(
                    messages.c.municipality.in_(members),
                    messages.c.created_at >= start,
                    messages.c.created_at < end,
                ),
                select(incidents.c.municipality).where(
                    incidents.c.municipality.in_(members),
                    incidents.c.assigned_at >= start,
                    incidents.c.assigned_at < end,
                ),
            )
        )
        found.update(row[0] for row in rows)
    return sorted(found)


async def changed_months(
    connection: AsyncConnection,
    *,
    incidents_since: datetime,
    messages_since: datetime,
    zones: Collection[ZoneInfo],
) -> set[str]:
    """The months (YYYY-MM in any of ``zones``) whose inputs may have changed: those of the
    incidents touched since ``incidents_since`` (``updated_at``: every transition, reassignment
    and on-time decision sets it, from the same clock as ``computed_at``) and of the messages
    stored since ``messages_since`` (``stored_at``, the database's clock: stored messages are
    never changed in a way the indicators read, so a late one is the only change). A month is
    named for every municipality, so an incident reassigned away is seen by the one it left.
    Times are grouped by hour (first and last of each), which keeps the answer small."""
    hour_i = func.date_trunc("hour", incidents.c.assigned_at)
    hour_m = func.date_trunc("hour", messages.c.created_at)
    spans = union_all(
        select(func.min(incidents.c.assigned_at), func.max(incidents.c.assigned_at))
        .where(incidents.c.updated_at >= incidents_since, incidents.c.assigned_at.is_not(None))
        .group_by(hour_i),
        select(func.min(messages.c.created_at), func.max(messages.c.created_at))
        .where(messages.c.stored_at >= messages_since)
        .group_by(hour_m),
    )
    months: set[str] = set()
    for first, last in await connection.execute(spans):
        for at in (first, last):
            months.update(f"{at.astimezone(zone):%Y-%m}" for zone in zones)
    return months


async def database_now(connection: AsyncConnection) -> datetime:
    """The database's own clock (``stored_at`` is set by it), read outside any long transaction."""
    found = await connection.scalar(select(func.clock_timestamp()))
    assert isinstance(found, datetime)
    return found


async def published_months(connection: AsyncConnection) -> list[str]:
    rows = await connection.execute(select(indicator_values.c.month).distinct())
    return sorted(row[0] for row in rows)
