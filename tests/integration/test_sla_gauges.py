"""The gauges refreshed from PostgreSQL (sla/gauges.py) on a real database: open, overdue and
due-soon incidents, this month's outcomes, source silence, and the exported indicators."""

import itertools
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kernel.db.schema import incidents
from kernel.observability import Metrics
from sla.domain.lifecycle import Answer, Reject
from sla.gauges import INDICATOR_MONTHS, SlaGauges, export_indicators
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import GROUP, classified, raw_message

pytestmark = pytest.mark.integration
NOW = datetime(2026, 9, 15, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Moscow
POLICY = """version: "gauges-test"
defaults: {timezone: Europe/Moscow, warning_lead: "2d"}
municipalities: {testgrad: {name: "Тестград"}}
rules:
  - match: {}
    first_response: {calendar_days: 1}
    final_answer: {calendar_days: 3}
"""
PLACE = ("testgrad", "ЖКХ")
SOURCE = (f"vk:-{GROUP}", "vk", "testgrad")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sla(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[SlaContext, Clock]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    clock = Clock()
    settings = settings_factory(database_url=database_url, policy_file=policy)
    context = await open_sla(settings, Metrics(), clock=clock)
    yield context, clock
    await context.db.close()


async def incident_of(context: SlaContext, item: int) -> str:
    message_id = raw_message(item).message_id
    async with context.db.engine.connect() as connection:
        found = await connection.scalar(
            select(incidents.c.incident_id).where(incidents.c.message_id == message_id)
        )
    assert found is not None
    return str(found)


async def open_at(context: SlaContext, item: int, created: datetime, incident: bool = True) -> None:
    message = raw_message(item, created_at=created)
    await context.service.on_classified(classified(message, incident=incident))


async def test_incident_gauges_tell_open_overdue_due_soon_and_this_months_outcome(
    sla: tuple[SlaContext, Clock],
) -> None:
    context, clock = sla
    await open_at(context, 1, NOW - timedelta(days=5))  # both deadlines passed
    await open_at(context, 2, NOW - timedelta(hours=1))  # first response due within the lead
    await open_at(context, 3, NOW - timedelta(hours=2))  # answered in time below
    await open_at(context, 4, datetime(2026, 8, 20, 9, 0, tzinfo=UTC))  # last month
    await open_at(context, 5, NOW - timedelta(hours=3))  # rejected below: not counted
    clock.now = NOW - timedelta(minutes=30)
    await context.service.act(await incident_of(context, 3), Answer("anna", "Сделано"))
    await context.service.act(await incident_of(context, 5), Reject("anna", "не инцидент"))
    clock.now = NOW
    await SlaGauges(context.db, context.policy, context.metrics, clock).refresh()

    m = context.metrics
    assert m.incidents_open.value("assigned", *PLACE) == 3  # 1, 2 and last month's 4
    assert m.incidents_open.value("answered", *PLACE) == 1
    assert m.incidents_open.value("rejected", *PLACE) is None
    # 4 (August) is past both deadlines too
    assert m.incidents_overdue.value("first_response", *PLACE) == 2
    assert m.incidents_overdue.value("final_answer", *PLACE) == 2
    assert m.incidents_due_soon.value("first_response", *PLACE) == 1
    assert m.incidents_due_soon.value("final_answer", *PLACE) == 0  # 3 days away, lead 2
    assert m.incidents_this_month.value("on_time", *PLACE) == 1
    assert m.incidents_this_month.value("late", *PLACE) == 1
    assert m.incidents_this_month.value("pending", *PLACE) == 1
    assert len(m.incidents_this_month.samples()) == 3  # every outcome, 0 included
    for kind in ("first_response", "final_answer"):  # 3: answered 90 minutes after it was written
        for quantile in ("0.5", "0.9"):
            assert m.response_this_month.value(kind, quantile, *PLACE) == 90 * 60


async def test_source_gauges_give_the_silence_since_the_last_message_and_the_usual_gap(
    sla: tuple[SlaContext, Clock],
) -> None:
    context, clock = sla
    times = [NOW - timedelta(days=40)] + [NOW - timedelta(hours=3 * k + k * k) for k in range(8)]
    for item, created in enumerate(times, start=1):
        await open_at(context, item, created, incident=False)
    await open_at(context, 99, NOW + timedelta(days=1), incident=False)  # a clock in the future
    clock.now = NOW + timedelta(hours=5)
    await SlaGauges(context.db, context.policy, context.metrics, clock).refresh()

    ordered = sorted(times)
    gaps = [
        (later - earlier).total_seconds()
        for earlier, later in itertools.pairwise(ordered)
        if later >= NOW - timedelta(days=14)
    ]
    expected = statistics.quantiles(gaps, n=10, method="inclusive")[8]  # percentile_cont(0.9)
    assert context.metrics.source_silence.value(*SOURCE) == 5 * 3600
    usual = context.metrics.source_usual_gap.value(*SOURCE)
    assert usual is not None
    assert usual == pytest.approx(expected)
    assert usual > 40 * 3600  # the 40-day gap before the first recent message counts


async def test_indicators_of_the_most_recent_months_are_exported(
    sla: tuple[SlaContext, Clock],
) -> None:
    context, _ = sla
    months = [
        datetime(2025 + (n + 6) // 12, (n + 6) % 12 + 1, 10, 9, tzinfo=UTC) for n in range(15)
    ]
    for item, created in enumerate(months, start=1):
        await open_at(context, item, created)
    await context.aggregator.run_once()
    await export_indicators(context.db, context.metrics, context.policy.municipality_names())

    a2 = context.metrics.indicators["a2"]
    exported = sorted(month for (_, _, month) in a2.samples())
    assert exported == sorted(f"{m.year:04d}-{m.month:02d}" for m in months)[-INDICATOR_MONTHS:]
    latest = exported[-1]
    place = ("testgrad", "Тестград")  # the name for the dashboards' legends
    assert context.metrics.indicators["n_assigned"].value(*place, latest) == 1
    assert context.metrics.indicators["revision"].value(*place, latest) == 1
    assert a2.value(*place, latest) == 0.0  # assigned, never answered: none on time


async def test_response_series_exist_at_zero_before_the_first_answer(
    sla: tuple[SlaContext, Clock],
) -> None:
    """rate() sees an observation only as a change: the series must be there before it."""
    context, clock = sla
    await open_at(context, 1, NOW - timedelta(hours=1))
    labels = {"municipality": "testgrad", "department": "ЖКХ"}
    registry = context.metrics.registry
    assert registry.get_sample_value("otklik_time_to_first_response_seconds_count", labels) is None
    await SlaGauges(context.db, context.policy, context.metrics, clock).refresh()
    for name in ("first_response", "final_answer"):
        assert registry.get_sample_value(f"otklik_time_to_{name}_seconds_count", labels) == 0
    outcomes = context.metrics.incidents_this_month  # nothing on time yet: 0 %, not "no data"
    assert [outcomes.value(o, *PLACE) for o in ("on_time", "late", "pending")] == [0, 0, 1]


async def test_every_municipality_of_the_gauges_is_named_for_the_dashboards(
    sla: tuple[SlaContext, Clock],
) -> None:
    context, clock = sla
    await open_at(context, 1, NOW - timedelta(hours=1))
    await SlaGauges(context.db, context.policy, context.metrics, clock).refresh()
    assert context.metrics.municipality_info.samples() == {("testgrad", "Тестград"): 1.0}
