"""The state of incidents, sources and indicators as gauges, refreshed from PostgreSQL.

Counters tell what one process did since it started; the PR department asks what is open and
overdue *now*, which only the database knows. The SLA process refreshes the incident gauges every
watcher round and the source gauges every tenth (they scan messages of the last 90 days); the
aggregator exports the latest indicator revision of the most recent months. Labels stay bounded:
municipality, department, status, clock, the configured source id, the month.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, and_, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.incidents import OPEN_STATUSES, Status
from kernel.db.engine import Database
from kernel.db.schema import incidents, indicator_values, messages
from kernel.observability import Labels, Metrics
from sla.domain.policy import SlaPolicy
from sla.storage.aggregation import current_records

log = logging.getLogger(__name__)

CLOCKS = {
    "first_response": (incidents.c.first_response_at, incidents.c.first_response_due),
    "final_answer": (incidents.c.final_answer_at, incidents.c.final_answer_due),
}
INDICATOR_MONTHS = 13  # a year back and the current month: enough for year-on-year panels
SOURCE_WINDOW = timedelta(days=90)
USUAL_GAP_WINDOW = timedelta(days=14)
USUAL_GAP_MIN_GAPS = 5
SOURCE_EVERY_ROUNDS = 10
RESPONSE_QUANTILES = (0.5, 0.9)
OUTCOMES = ("on_time", "late", "pending")


def _place(row: Row[Any]) -> Labels:
    return (row.municipality, row.department or "none")


async def open_incident_gauges(
    connection: AsyncConnection, metrics: Metrics, now: datetime, lead: timedelta
) -> None:
    """Open incidents by status; overdue and due-soon by clock for every place with any open."""
    counts: list[Any] = [func.count().label("n")]
    for clock, (met, due) in CLOCKS.items():
        pending = met.is_(None)
        counts.append(func.count().filter(pending, due < now).label(f"overdue_{clock}"))
        coming = and_(pending, due >= now, due < now + lead)
        counts.append(func.count().filter(coming).label(f"soon_{clock}"))
    rows = (
        await connection.execute(
            select(incidents.c.status, incidents.c.municipality, incidents.c.department, *counts)
            .where(incidents.c.status.in_([s.value for s in OPEN_STATUSES]))
            .group_by(incidents.c.status, incidents.c.municipality, incidents.c.department)
        )
    ).all()
    by_status: dict[Labels, float] = {}
    overdue: dict[Labels, float] = {}
    soon: dict[Labels, float] = {}
    for row in rows:
        by_status[(row.status, *_place(row))] = row.n
        for clock in CLOCKS:
            key = (clock, *_place(row))
            overdue[key] = overdue.get(key, 0) + row._mapping[f"overdue_{clock}"]
            soon[key] = soon.get(key, 0) + row._mapping[f"soon_{clock}"]
    metrics.incidents_open.replace(by_status)
    metrics.incidents_overdue.replace(overdue)
    metrics.incidents_due_soon.replace(soon)


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def this_month_gauges(
    connection: AsyncConnection, metrics: Metrics, now: datetime, policy: SlaPolicy
) -> None:
    """Outcome of the incidents assigned this month, counted as N_назн is (rejected excluded),
    each municipality's month taken in its own time zone."""
    default = month_start(now, ZoneInfo(policy.spec.defaults.timezone))
    starts = {m: month_start(now, policy.timezone(m)) for m in policy.spec.municipalities}
    start: ColumnElement[datetime] | datetime = default
    if starts:
        start = case(starts, value=incidents.c.municipality, else_=default)
    late = (incidents.c.first_response_at.is_(None) & (incidents.c.first_response_due < now)) | (
        incidents.c.final_answer_at.is_(None) & (incidents.c.final_answer_due < now)
    )
    outcome = case(
        (incidents.c.on_time.is_(True), "on_time"),
        (incidents.c.on_time.is_(False) | late, "late"),
        else_="pending",
    ).label("outcome")
    rows = await connection.execute(
        select(outcome, incidents.c.municipality, incidents.c.department, func.count().label("n"))
        .where(
            incidents.c.assigned_at >= start,
            incidents.c.assigned_at <= now,
            incidents.c.status != Status.REJECTED.value,
        )
        .group_by(literal_column("outcome"), incidents.c.municipality, incidents.c.department)
    )
    counts = {(row.outcome, *_place(row)): float(row.n) for row in rows}
    # Every outcome of every place, 0 included: a place with nothing on time must show 0 %,
    # not vanish from the share (a missing numerator drops the series in PromQL).
    places = {key[1:] for key in counts}
    metrics.incidents_this_month.replace(
        {(o, *p): counts.get((o, *p), 0.0) for o in OUTCOMES for p in places}
    )
    await response_time_gauges(connection, metrics, start, now)


async def response_time_gauges(
    connection: AsyncConnection,
    metrics: Metrics,
    start: ColumnElement[datetime] | datetime,
    now: datetime,
) -> None:
    """Median and 90th percentile of the wall-clock time from assignment to the first response
    and to the final answer, over this month's incidents that have one (as the indicators do).
    Histograms give the trend; these are exact and survive restarts."""
    values: dict[Labels, float] = {}
    for clock, (met, _) in CLOCKS.items():
        seconds = func.extract("epoch", met - incidents.c.assigned_at)
        quantiles = [
            func.percentile_cont(q).within_group(seconds).label(f"q{n}")
            for n, q in enumerate(RESPONSE_QUANTILES)
        ]
        rows = await connection.execute(
            select(incidents.c.municipality, incidents.c.department, *quantiles)
            .where(
                incidents.c.assigned_at >= start,
                incidents.c.assigned_at <= now,
                incidents.c.status != Status.REJECTED.value,
                met.is_not(None),
            )
            .group_by(incidents.c.municipality, incidents.c.department)
        )
        for row in rows:
            for n, q in enumerate(RESPONSE_QUANTILES):
                values[(clock, str(q), *_place(row))] = float(row._mapping[f"q{n}"])
    metrics.response_this_month.replace(values)


async def source_gauges(connection: AsyncConnection, metrics: Metrics, now: datetime) -> None:
    """How long each source has been silent, and its usual gap between two residents' messages."""
    recent = (
        select(
            messages.c.source_id,
            messages.c.channel,
            messages.c.municipality,
            messages.c.created_at,
            (
                func.extract(
                    "epoch",
                    messages.c.created_at
                    - func.lag(messages.c.created_at).over(
                        partition_by=messages.c.source_id, order_by=messages.c.created_at
                    ),
                )
            ).label("gap"),
        )
        .where(
            messages.c.created_at >= now - SOURCE_WINDOW,
            messages.c.created_at <= now,
            messages.c.is_official.is_(False),
        )
        .subquery()
    )
    in_window = recent.c.created_at >= now - USUAL_GAP_WINDOW
    rows = await connection.execute(
        select(
            recent.c.source_id,
            recent.c.channel,
            func.min(recent.c.municipality).label("municipality"),
            func.max(recent.c.created_at).label("last"),
            func.count(recent.c.gap).filter(in_window).label("gaps"),
            # percentile_cont skips NULLs: gaps outside the window become NULL
            func.percentile_cont(0.9).within_group(case((in_window, recent.c.gap))).label("p90"),
        ).group_by(recent.c.source_id, recent.c.channel)
    )
    silence: dict[Labels, float] = {}
    usual: dict[Labels, float] = {}
    for row in rows:
        key = (row.source_id, row.channel, row.municipality)
        silence[key] = (now - row.last).total_seconds()
        if row.gaps >= USUAL_GAP_MIN_GAPS and row.p90 is not None:
            usual[key] = float(row.p90)
    metrics.source_silence.replace(silence)
    metrics.source_usual_gap.replace(usual)


async def indicator_gauges(
    connection: AsyncConnection, metrics: Metrics, names: Mapping[str, str]
) -> None:
    """The latest revision of the most recent months that have indicators, each labelled with
    its municipality's name from ``names`` too (the id where the policy does not name it)."""
    months = (
        await connection.scalars(
            select(indicator_values.c.month)
            .distinct()
            .order_by(indicator_values.c.month.desc())
            .limit(INDICATOR_MONTHS)
        )
    ).all()
    values: dict[str, dict[Labels, float]] = {name: {} for name in metrics.indicators}
    for month in months:
        for record in await current_records(connection, month):
            fields: Mapping[str, Any] = record.model_dump()
            for name, samples in values.items():
                if fields[name] is not None:  # "no data" stays absent, never 0
                    place = record.municipality
                    samples[(place, names.get(place, place), month)] = float(fields[name])
    for name, gauge in metrics.indicators.items():
        gauge.replace(values[name])


def municipality_info(metrics: Metrics, names: Mapping[str, str]) -> None:
    """The name of every municipality the incident gauges name, for the dashboards' legends."""
    seen = {
        key[-2]  # their labels end with municipality, department
        for gauge in (
            metrics.incidents_open,
            metrics.incidents_this_month,
            metrics.response_this_month,
        )
        for key in gauge.samples()
    }
    metrics.municipality_info.replace({(m, names.get(m, m)): 1.0 for m in {*names, *seen}})


async def seed_response_series(connection: AsyncConnection, metrics: Metrics) -> None:
    """Create the response-time histogram series of every place with open incidents, at zero,
    before its first answer: rate() and increase() see an observation only as a change between
    two scrapes, so a series born with its first observation would hide that observation."""
    rows = await connection.execute(
        select(incidents.c.municipality, incidents.c.department)
        .where(incidents.c.status.in_([s.value for s in OPEN_STATUSES]))
        .distinct()
    )
    for row in rows:
        place = {"municipality": row.municipality, "department": row.department or "none"}
        metrics.first_response.labels(**place)
        metrics.final_answer.labels(**place)


async def run_response_seeding(db: Database, metrics: Metrics, interval: float) -> None:
    """The loop of processes that record answers without refreshing the gauges (the web app)."""
    while True:
        try:
            async with db.engine.connect() as connection:
                await seed_response_series(connection, metrics)
        except Exception:
            log.exception("seeding the response-time series failed; retrying")
        await asyncio.sleep(interval)


class SlaGauges:
    """The SLA process's refresh loop (one round every ``interval`` seconds)."""

    def __init__(
        self, db: Database, policy: SlaPolicy, metrics: Metrics, clock: Callable[[], datetime]
    ) -> None:
        self._db, self._policy, self._metrics, self._clock = db, policy, metrics, clock
        self._rounds = 0

    async def refresh(self) -> None:
        now = self._clock()
        async with self._db.engine.connect() as connection:
            await open_incident_gauges(connection, self._metrics, now, self._policy.warning_lead)
            await this_month_gauges(connection, self._metrics, now, self._policy)
            await seed_response_series(connection, self._metrics)
            if self._rounds % SOURCE_EVERY_ROUNDS == 0:
                await source_gauges(connection, self._metrics, now)
        municipality_info(self._metrics, self._policy.municipality_names())
        self._rounds += 1

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing the SLA gauges failed; retrying")
            await asyncio.sleep(interval)


async def export_indicators(db: Database, metrics: Metrics, names: Mapping[str, str]) -> None:
    async with db.engine.connect() as connection:
        await indicator_gauges(connection, metrics, names)


async def run_indicator_export(
    db: Database, metrics: Metrics, interval: float, names: Mapping[str, str]
) -> None:
    """The aggregator's export loop: what is stored, so any replica's revisions show."""
    while True:
        try:
            await export_indicators(db, metrics, names)
        except Exception:
            log.exception("exporting the indicator gauges failed; retrying")
        await asyncio.sleep(interval)
