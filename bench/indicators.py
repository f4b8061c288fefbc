"""Indicators benchmark: one month's indicators for every municipality over N incidents.

An embedded PostgreSQL (pgserver) is started in a temporary directory, migrated, and loaded with
one month (2026-09) of N incidents across M municipalities with their messages
(``bench.indicators_data``). The otklik run is the aggregator's own path,
``Aggregator.run_once(month)``: find the months with data, then ``publish_month`` per
municipality, each in its own transaction. Its rows for the month are deleted before every run,
so each run writes (and enqueues) a full set of revisions; one more run over unchanged inputs
shows the cost when nothing is new. The baselines read the same rows in the same run:
``SELECT count(*) FROM incidents`` and ``... GROUP BY municipality``. Best of 3 (the unchanged
run once), in seconds and in buffer accesses, which a busy machine does not distort; then the
plans of the aggregator's queries for the largest municipality. The server is stopped and its
directory removed at the end, also on error. Figures are printed, never asserted.

    .venv/bin/python -m bench.indicators [--incidents N] [--municipalities M] [--explain]
"""

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import delete, event, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.indicators_data import Loaded, load_month
from kernel.contracts.topics import Topic
from kernel.db.embedded import start_embedded_postgres
from kernel.db.engine import Database, sqlalchemy_url
from kernel.db.migrate import upgrade
from kernel.db.schema import indicator_values, outbox
from kernel.settings import Settings
from sla.aggregator import Aggregator
from sla.storage.aggregation import month_bounds, months_with_data

MONTH = "2026-09"
ZONE = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 10, 5, 5, 0, tzinfo=UTC)
THRESHOLD_T = int(Settings.model_fields["indicator_threshold_t"].default)
RUNS = 3
COUNT = "SELECT count(*) FROM incidents"
GROUP_COUNT = "SELECT municipality, count(*) FROM incidents GROUP BY municipality"


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: list[float]
    written: list[int]  # revisions written by each run (empty where nothing is written)
    buffers: int  # 8 kB buffer accesses to incidents and messages (heap, indexes) in the last run

    @property
    def best(self) -> float:
        return min(self.seconds)


@dataclass(frozen=True)
class Measured:
    timings: list[Timing]  # in print order: computation first, the two baselines last
    plans: list[tuple[str, list[str]]]
    load_average: tuple[float, float]  # 1-minute load before and after: the machine is shared


def aggregator(db: Database) -> Aggregator:
    return Aggregator(db, lambda _municipality: ZONE, THRESHOLD_T, lambda: NOW)


async def forget_month(db: Database) -> None:
    """Drop the month's revisions and their outbox events, so the next run starts at revision 1."""
    async with db.transaction() as connection:
        await connection.execute(delete(indicator_values).where(indicator_values.c.month == MONTH))
        await connection.execute(delete(outbox).where(outbox.c.topic == Topic.MONTHLY_INDICATORS))


async def buffers_touched(db: Database) -> int:
    """Buffer accesses to incidents and messages so far (hits and reads, heap and indexes, as
    EXPLAIN's BUFFERS counts them): unlike seconds, they do not move with the load of a shared
    machine. The engine has one connection (see ``measure``); forcing its statistics out first
    makes them visible here at once."""
    async with db.engine.connect() as connection:
        await connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    async with await psycopg.AsyncConnection.connect(db.url, autocommit=True) as reader:
        cursor = await reader.execute(
            "SELECT sum(heap_blks_read + heap_blks_hit"
            " + coalesce(idx_blks_read, 0) + coalesce(idx_blks_hit, 0))"
            " FROM pg_statio_user_tables WHERE relname IN ('incidents', 'messages')"
        )
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


async def time_runs(
    db: Database, name: str, run: Callable[[], Awaitable[int]], *, fresh: bool
) -> Timing:
    """Best of RUNS; with ``fresh`` the month is forgotten before each run (outside the clock)."""
    seconds, written, buffers = [], [], 0
    for _ in range(RUNS):
        if fresh:
            await forget_month(db)
        buffers = await buffers_touched(db)
        started = time.perf_counter()
        written.append(await run())
        seconds.append(time.perf_counter() - started)
        buffers = await buffers_touched(db) - buffers
    return Timing(name, seconds, written if fresh else [], buffers)


async def measure_aggregator(db: Database) -> tuple[Timing, Timing]:
    """(full runs writing revision 1 each time, one run over unchanged inputs)."""
    job = aggregator(db)

    async def run_once() -> int:
        return len(await job.run_once(MONTH))

    full = await time_runs(db, "Aggregator.run_once", run_once, fresh=True)
    buffers = await buffers_touched(db)
    started = time.perf_counter()
    unchanged = await run_once()  # the inputs equal those of the last run: no revision expected
    seconds = time.perf_counter() - started
    buffers = await buffers_touched(db) - buffers
    return full, Timing("  unchanged inputs", [seconds], [unchanged], buffers)


async def measure_months_with_data(db: Database) -> Timing:
    """The part of run_once before any publish_month: which (municipality, month) pairs exist."""

    async def search() -> int:
        async with db.engine.connect() as connection:
            return len(await months_with_data(connection, lambda _municipality: ZONE))

    return await time_runs(db, "  months_with_data", search, fresh=False)


async def measure_sql(db: Database, name: str, sql: str) -> Timing:
    async def query() -> int:
        async with db.engine.connect() as connection:
            return len((await connection.execute(text(sql))).all())

    return await time_runs(db, name, query, fresh=False)


async def explain_month(db: Database, municipality: str) -> list[tuple[str, list[str]]]:
    """EXPLAIN ANALYZE of every SELECT the aggregator runs for one municipality, captured from the
    engine as it runs them — so the plans stay those of the code under test when it changes."""
    captured: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await aggregator(db).publish_month(municipality, MONTH)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with db.engine.connect() as connection:
        for statement, parameters in captured:
            rows = await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
            )
            plans.append((" ".join(statement.split()), [row[0] for row in rows]))
    return plans


def report(loaded: Loaded, measured: Measured) -> None:
    timings = measured.timings
    fewest, most = loaded.per_municipality
    print(f"rows loaded: {loaded.incidents:,} incidents, {loaded.messages:,} messages")
    print(f"  incidents per municipality: {fewest:,} to {most:,} ({loaded.largest} largest)")
    print(
        f"load: {loaded.load_seconds:.1f} s, then VACUUM (ANALYZE): {loaded.analyze_seconds:.1f} s"
    )
    print(f"{'run':<22}{'best s':>8}   {'all runs, s':<22}{'buffers/run':>11}   revisions written")
    for t in timings:
        runs = " ".join(f"{s:.3f}" for s in t.seconds)
        written = " ".join(str(w) for w in t.written) or "-"
        print(f"{t.name:<22}{t.best:>8.3f}   {runs:<22}{t.buffers:>11,}   {written}")
    full, count, group = timings[0], timings[-2], timings[-1]
    for name, base in (("count(*)", count), ("group-by count", group)):
        print(f"ratio computation / {name}: {full.best / base.best:.1f} in seconds,", end="")
        print(f" {full.buffers / max(base.buffers, 1):.0f} in buffer accesses")
    before, after = measured.load_average
    print(f"1-minute load average before / after measuring: {before:.1f} / {after:.1f}", end="")
    print(f" on {os.cpu_count()} cores")


def print_plans(plans: list[tuple[str, list[str]]], full: bool) -> None:
    """The aggregator's queries for the largest municipality: whole plans, or top node and time."""
    print(f"\nqueries of one publish_month ({'plans' if full else '--explain for plans'}):")
    for statement, lines in plans:
        print(f"\n{statement[:160]}")
        shown = lines if full else [lines[0], *(line for line in lines if "Execution" in line)]
        print("\n".join(f"    {line}" for line in shown))


async def measure(url: str, largest: str) -> Measured:
    # One connection, as the aggregator uses them one after another anyway: buffers_touched needs
    # the connection that did the work to be the one it flushes.
    engine = create_async_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0)
    db = Database(engine=engine, url=url)
    before = os.getloadavg()[0]
    try:
        full, unchanged = await measure_aggregator(db)
        search = await measure_months_with_data(db)
        count = await measure_sql(db, "count(*)", COUNT)
        group = await measure_sql(db, "group-by count", GROUP_COUNT)
        plans = await explain_month(db, largest)
    finally:
        await db.close()
    timings = [full, unchanged, search, count, group]
    return Measured(timings, plans, (before, os.getloadavg()[0]))


async def bench(incidents: int, towns: int, explain: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="otk-bench-", dir="/tmp") as tmp:
        handle, url = start_embedded_postgres(Path(tmp) / "pg")
        try:
            await asyncio.to_thread(upgrade, url)
            start, end = month_bounds(MONTH, ZONE)
            loaded = await asyncio.to_thread(load_month, url, incidents, towns, start, end)
            measured = await measure(url, loaded.largest)
            report(loaded, measured)
            print_plans(measured.plans, full=explain)
        finally:
            handle.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, default=1_000_000, help="incidents in the month")
    parser.add_argument("--municipalities", type=int, default=60, help="municipalities")
    parser.add_argument("--explain", action="store_true", help="print the full query plans")
    args = parser.parse_args()
    if args.incidents < 1 or args.municipalities < 1:
        parser.error("--incidents and --municipalities must be at least 1")
    asyncio.run(bench(args.incidents, args.municipalities, args.explain))


if __name__ == "__main__":
    main()
