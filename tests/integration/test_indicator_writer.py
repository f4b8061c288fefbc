"""The aggregator is the one writer of indicator revisions (docs/indicators.md, Revisions): two
publishers of the same month never collide (advisory lock), a round writes only the months
that can have changed, the close is its own step, and only the policy's municipalities are
published — on a real PostgreSQL, with times fixed by the test."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from kernel.contracts.indicators import IndicatorRecord
from kernel.db.schema import indicator_values, messages
from kernel.observability import Metrics
from sla.replay import replay_history
from sla.stage import SlaContext, open_sla
from sla.storage.aggregation import publish_month
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
M = "severogorsk"
ZONE_NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)  # October closed (5 Nov), November open


def line(at: str, event: str, message_id: str, **fields: Any) -> bytes:
    return json.dumps({"at": at, "event": event, "message_id": message_id, **fields}).encode()


def incident(at: str, message_id: str) -> list[bytes]:
    return [
        line(at, "message", message_id, municipality=M, text="жалоба", sentiment="negative"),
        line(at, "assigned", message_id),
    ]


HISTORY = [
    *incident("2026-10-06T10:00:00+03:00", "o1"),
    line("2026-10-06T11:00:00+03:00", "answered", "o1", actor="anna", text="Сделано"),
    *incident("2026-10-07T10:00:00+03:00", "o2"),  # unanswered when October closes
    *incident("2026-11-02T10:00:00+03:00", "n1"),
]


class Now:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def sla(
    settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[tuple[SlaContext, Now]]:
    now = Now(ZONE_NOW)
    context = await open_sla(settings_factory(database_url=database_url), Metrics(), clock=now)
    await replay_history(context.db, context.service, HISTORY)
    yield context, now
    await context.db.close()


async def revisions(context: SlaContext) -> list[tuple[str, str, int]]:
    async with context.db.engine.connect() as connection:
        rows = await connection.execute(
            select(
                indicator_values.c.municipality,
                indicator_values.c.month,
                indicator_values.c.revision,
            ).order_by(indicator_values.c.month, indicator_values.c.revision)
        )
        return [(row.municipality, row.month, row.revision) for row in rows]


async def test_two_publishers_of_one_month_write_one_revision(
    sla: tuple[SlaContext, Now], settings_factory: SettingsFactory, database_url: str
) -> None:
    context, now = sla

    async def publish() -> IndicatorRecord | None:
        async with context.db.transaction() as connection:
            return await publish_month(
                connection, M, "2026-11", zone=context.policy.timezone(M), threshold_t=150,
                now=now(), closed=False,
            )  # fmt: skip

    # The first holds its transaction open: the second waits on the month's lock, then sees
    # the first's revision (same digest) and writes nothing; without the lock both would
    # insert revision 1 and the second would fail on the primary key.
    async with context.db.transaction() as connection:
        first = await publish_month(
            connection, M, "2026-11", zone=context.policy.timezone(M), threshold_t=150,
            now=now(), closed=False,
        )  # fmt: skip
        second = asyncio.create_task(publish())
        await asyncio.sleep(0.5)
        assert not second.done()
    assert first is not None and first.revision == 1
    assert await second is None

    # Two aggregators' rounds at once (the service and `otklik aggregate --once`): no error,
    # each month written once.
    other = await open_sla(settings_factory(database_url=database_url), Metrics(), clock=now)
    try:
        rounds = await asyncio.gather(context.aggregator.run_once(), other.aggregator.run_once())
    finally:
        await other.db.close()
    assert sorted((r.month, r.revision) for r in rounds[0] + rounds[1]) == [("2026-10", 1)]
    assert await revisions(context) == [(M, "2026-10", 1), (M, "2026-11", 1)]


async def test_a_round_writes_open_months_closes_in_time_and_revisits_closed_ones_only_on_change(
    sla: tuple[SlaContext, Now],
) -> None:
    context, now = sla
    computed: list[tuple[str, str, bool]] = []
    publish = context.aggregator._publish

    async def counted(municipality: str, month: str, closed: bool) -> IndicatorRecord | None:
        computed.append((municipality, month, closed))
        return await publish(municipality, month, closed)

    context.aggregator._publish = counted  # type: ignore[method-assign]
    # Without the safety margin for late commits (CHANGE_OVERLAP), which would have the
    # rounds within minutes of a change revisit its month: the test's rows are seconds old.
    context.aggregator.change_overlap = timedelta(0)
    now.at += timedelta(minutes=1)

    first = await context.aggregator.run_once()  # October is past its close: closed at once
    assert [(r.month, r.revision, r.closed) for r in first] == [
        ("2026-10", 1, True),
        ("2026-11", 1, False),
    ]
    computed.clear()
    now.at += timedelta(minutes=1)
    assert await context.aggregator.run_once() == []
    assert computed == [(M, "2026-11", False)]  # the open month only: October is closed, unchanged

    # A late answer in closed October: the incident's updated_at moves, October is revisited
    # and gets revision 2, still closed, with the new number.
    now.at += timedelta(hours=1)
    answer = line("2026-11-10T13:00:00+03:00", "answered", "o2", actor="anna", text="Поздно")
    await replay_history(context.db, context.service, [answer])
    computed.clear()
    late = await context.aggregator.run_once()
    assert [(r.month, r.revision, r.closed, r.n_assigned) for r in late] == [
        ("2026-10", 2, True, 2)
    ]
    assert (M, "2026-10", True) in computed
    # A resident's message of October stored late (a replayed import): revisited again.
    now.at += timedelta(hours=1)
    async with context.db.transaction() as connection:
        await connection.execute(insert(messages).values(**_message("late", M)))
    later = await context.aggregator.run_once()
    assert [(r.month, r.revision, r.n_messages) for r in later] == [("2026-10", 3, 3)]

    # November closes when its close time has passed (5 Dec 10:00 Moscow), by close_month.
    now.at = datetime(2026, 12, 5, 7, 1, tzinfo=UTC)
    computed.clear()
    closing = await context.aggregator.run_once()
    assert [(r.month, r.revision, r.closed) for r in closing] == [("2026-11", 2, True)]
    assert computed == [(M, "2026-11", True)]
    with pytest.raises(ValueError, match="месяц закрывается"):
        await context.aggregator.close_month(M, "2026-12")


async def test_a_municipality_the_policy_does_not_name_is_published_and_counted(
    sla: tuple[SlaContext, Now],
) -> None:
    context, _ = sla
    async with context.db.transaction() as connection:
        await connection.execute(insert(messages).values(**_message("other", "nepolicy")))
    published = await context.aggregator.run_once()
    assert {r.municipality for r in published} == {M, "nepolicy"}
    gauge = context.metrics.registry.get_sample_value("otklik_indicators_unknown_municipalities")
    assert gauge == 1


def _message(message_id: str, municipality: str) -> dict[str, Any]:
    at = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    return {
        "message_id": f"test:{message_id}",
        "source_kind": "vk_comment",
        "channel": "vk",
        "source_id": "vk:-1",
        "thread_key": f"test:{message_id}",
        "text": "поздно пришло",
        "attachments": [],
        "is_official": False,
        "created_at": at,
        "received_at": at,
        "municipality": municipality,
        "sentiment": "negative",
    }
