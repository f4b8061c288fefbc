"""A resident writes at each of the chosen moments (tests/moments.py), in Moscow and in
Vladivostok: the deadlines, the warnings, the overdue marks and the month the incident counts in
are what the official production calendar gives. The expected deadlines are worked out by hand
from that calendar (consultant.ru «Производственный календарь» 2025 and 2026–2027), not by otklik.
"""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kernel.db.schema import incident_events, incidents
from kernel.observability import Metrics
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message
from tests.moments import MOMENTS, MOSCOW, every_moment

pytestmark = pytest.mark.integration
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
POLICY = """version: "moments-test"
defaults: {timezone: Europe/Moscow, working_hours: "09:00-18:00", warning_lead: "1d"}
municipalities:
  testgrad: {name: "Тестград"}
  vostok: {name: "Восток", timezone: Asia/Vladivostok}
rules:
  - match: {}
    first_response: {working_hours: 8}
    final_answer: {calendar_days: 1}
"""
LEAD = timedelta(days=1)


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


# moment -> municipality -> (first response due, final answer due, month of the incident)
EXPECTED = {
    # Friday 19:30, after hours: eight working hours from Monday 09:00; one calendar day lands on
    # Saturday and moves to the end of Monday. In Vladivostok it is already Saturday 02:30.
    "friday-evening": {
        "testgrad": (at(MOSCOW, 2026, 11, 30, 17), at(MOSCOW, 2026, 11, 30, 18), "2026-11"),
        "vostok": (at(VLADIVOSTOK, 2026, 11, 30, 17), at(VLADIVOSTOK, 2026, 11, 30, 18), "2026-11"),
    },
    # 31 December 2026 (a day off moved from 4 January) and 1–10 January 2027 are off: both
    # clocks run on Monday 11 January.
    "eve-of-new-year-holidays": {
        "testgrad": (at(MOSCOW, 2027, 1, 11, 17), at(MOSCOW, 2027, 1, 11, 18), "2026-12"),
        "vostok": (at(VLADIVOSTOK, 2027, 1, 11, 17), at(VLADIVOSTOK, 2027, 1, 11, 18), "2026-12"),
    },
    "new-years-eve": {
        "testgrad": (at(MOSCOW, 2027, 1, 11, 17), at(MOSCOW, 2027, 1, 11, 18), "2026-12"),
        "vostok": (at(VLADIVOSTOK, 2027, 1, 11, 17), at(VLADIVOSTOK, 2027, 1, 11, 18), "2027-01"),
    },
    # Saturday 1 November 2025 works, one hour shorter (until 17:00): six hours that day; 2 and
    # 3 November are off (3 November moved from this Saturday), 4 November is a holiday, so the
    # last two hours are on Wednesday the 5th. In Vladivostok the short day is already over.
    "working-saturday": {
        "testgrad": (at(MOSCOW, 2025, 11, 5, 11), at(MOSCOW, 2025, 11, 5, 18), "2025-11"),
        "vostok": (at(VLADIVOSTOK, 2025, 11, 5, 17), at(VLADIVOSTOK, 2025, 11, 5, 18), "2025-11"),
    },
    # Monday 20:30 in Moscow, Tuesday 03:30 (1 December) in Vladivostok: one calendar day ends
    # on a working day and stays as it is.
    "month-end-in-moscow": {
        "testgrad": (at(MOSCOW, 2026, 12, 1, 17), at(MOSCOW, 2026, 12, 1, 20, 30), "2026-11"),
        "vostok": (
            at(VLADIVOSTOK, 2026, 12, 1, 17), at(VLADIVOSTOK, 2026, 12, 2, 3, 30), "2026-12"
        ),
    },
}  # fmt: skip


class MovingClock:
    """Starts at the moment; the test moves it on to watch the deadlines pass."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sla(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path, moment: datetime
) -> AsyncIterator[tuple[SlaContext, MovingClock]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    clock = MovingClock(moment)
    settings = settings_factory(database_url=database_url, policy_file=policy)
    context = await open_sla(settings, Metrics(), clock=clock)
    yield context, clock
    await context.db.close()


def test_every_moment_has_its_expectations() -> None:
    assert set(EXPECTED) == set(MOMENTS)


@every_moment
async def test_deadlines_warnings_overdue_and_month_follow_the_official_calendar(
    sla: tuple[SlaContext, MovingClock], moment: datetime, request: pytest.FixtureRequest
) -> None:
    context, clock = sla
    expected = EXPECTED[request.node.callspec.id]
    for item, municipality in enumerate(expected, start=1):
        message = raw_message(item, created_at=moment).model_copy(
            update={"municipality": municipality}
        )
        await context.service.on_classified(classified(message))
    await context.service.watch_deadlines()

    async with context.db.engine.connect() as connection:
        rows = {row.municipality: row for row in await connection.execute(select(incidents))}
    for municipality, (first_due, final_due, _) in expected.items():
        row = rows[municipality]
        assert (row.first_response_due, row.final_answer_due) == (first_due, final_due)
        assert row.warned_first_response == (moment >= first_due - LEAD), municipality
        assert row.warned_final_answer == (moment >= final_due - LEAD), municipality
        assert not row.overdue_first_response and not row.overdue_final_answer

    published = await context.aggregator.run_once()
    assert {(r.municipality, r.month) for r in published} == {
        (municipality, month) for municipality, (_, _, month) in expected.items()
    }

    clock.now = max(final for _, final, _ in expected.values()) + timedelta(minutes=1)
    await context.service.watch_deadlines()
    async with context.db.engine.connect() as connection:
        overdue = (
            await connection.execute(
                select(incident_events.c.incident_id).where(incident_events.c.type == "overdue")
            )
        ).all()
    assert len(overdue) == 2 * len(expected)  # both clocks of every incident, once each
