"""History replay through the domain code on a real PostgreSQL, and the month's indicators for a
hand-computed scenario (expected numbers written by hand)."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from kernel.db.schema import incidents, messages
from kernel.observability import Metrics
from sla.domain.history import HistoryError
from sla.replay import replay_history
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
M = "severogorsk"


def line(at: str, event: str, message_id: str, **fields: Any) -> bytes:
    return json.dumps({"at": at, "event": event, "message_id": message_id, **fields}).encode()


def msg(at: str, message_id: str, sentiment: str = "negative") -> bytes:
    return line(at, "message", message_id, municipality=M, text="текст", sentiment=sentiment)


# Default policy, channel vk: first response in 8 working hours, final answer in 7 working days,
# 09:00–18:00 Moscow.
SEPTEMBER = [
    msg("2026-09-01T10:00:00+03:00", "m1"),
    line("2026-09-01T10:00:00+03:00", "assigned", "m1", category="roads"),
    line("2026-09-01T12:00:00+03:00", "answered", "m1", actor="anna", text="Сделано"),  # on time
    msg("2026-09-02T10:00:00+03:00", "m2"),
    line("2026-09-02T10:00:00+03:00", "assigned", "m2"),
    line(
        "2026-09-03T19:00:00+03:00", "answered", "m2", actor="anna", text="Поздно"
    ),  # due Wed 18:00
    msg("2026-09-03T10:00:00+03:00", "m3"),
    line("2026-09-03T10:00:00+03:00", "assigned", "m3"),
    line("2026-09-03T11:00:00+03:00", "rejected", "m3", actor="anna", reason="реклама"),
    msg("2026-09-30T17:00:00+03:00", "m4"),  # first response due Thu 1 Oct 16:00
    line("2026-09-30T17:00:00+03:00", "assigned", "m4"),
    msg("2026-09-15T12:00:00+03:00", "m6", sentiment="positive"),
    msg("2026-10-05T10:00:00+03:00", "m5"),
    line("2026-10-05T10:00:00+03:00", "assigned", "m5"),
]
LATE_ANSWER = [line("2026-10-01T15:00:00+03:00", "answered", "m4", actor="boris", text="Готово")]


@pytest.fixture
async def sla(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[SlaContext]:
    context = await open_sla(
        settings_factory(database_url=database_url),
        Metrics(),
        clock=lambda: datetime(2026, 11, 1, tzinfo=UTC),
    )
    yield context
    await context.db.close()


async def test_scenario_indicators_and_a_late_answer_revision(sla: SlaContext) -> None:
    await replay_history(sla.db, sla.service, SEPTEMBER)
    first = await sla.aggregator.publish_month(M, "2026-09")
    assert first is not None
    assert (first.revision, first.n_assigned, first.n_handled_on_time) == (1, 3, 1)
    assert first.ratio == pytest.approx(1 / 3)
    assert (first.k_ob, first.a2) == (1.0, 0.333333)
    assert first.share_processed == pytest.approx(66.6667)  # m1, m2 answered of 3
    assert (first.n_messages, first.n_negative, first.share_negative) == (5, 4, 80.0)
    assert await sla.aggregator.publish_month(M, "2026-09") is None  # unchanged: no new revision

    await replay_history(sla.db, sla.service, LATE_ANSWER)  # m4 answered in October, in time
    second = await sla.aggregator.publish_month(M, "2026-09")
    assert second is not None
    assert (second.revision, second.n_assigned, second.n_handled_on_time) == (2, 3, 2)
    assert second.a2 == 0.666667
    october = await sla.aggregator.publish_month(M, "2026-10")
    assert october is not None
    assert (october.n_assigned, october.n_handled_on_time, october.a2) == (1, 0, 0.0)
    assert [second.revision, october.revision] == [2, 1]


async def test_month_without_assignments_is_no_data(sla: SlaContext) -> None:
    record = await sla.aggregator.publish_month(M, "2026-07")
    assert record is not None
    assert (record.n_assigned, record.ratio, record.k_ob, record.a2) == (0, None, None, None)


async def test_loading_the_same_history_twice_changes_nothing(sla: SlaContext) -> None:
    first = await replay_history(sla.db, sla.service, SEPTEMBER)
    again = await replay_history(sla.db, sla.service, SEPTEMBER)
    assert first.applied == len(SEPTEMBER)
    assert again.applied == 0 and again.skipped_messages == {"m1", "m2", "m3", "m4", "m5", "m6"}


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (
            [*SEPTEMBER[:3], b"{not json", line("2026-09-01T10:00:00", "claimed", "m1")],
            ["строка 4: не JSON", "строка 5: at"],
        ),
        (
            [
                msg("2026-09-01T10:00:00+03:00", "x"),
                line("2026-09-01T11:00:00+03:00", "closed", "x"),
            ],
            ["строка 2: нет инцидента"],
        ),
        (
            [*SEPTEMBER[:3], line("2026-09-01T13:00:00+03:00", "reopened", "m1")],
            ["строка 4", "reason"],
        ),
        (
            [*SEPTEMBER[:2], line("2026-09-01T13:00:00+03:00", "closed", "m1")],
            ["строка 3: Нельзя закрыть"],
        ),
    ],
)
async def test_invalid_history_names_lines_and_applies_nothing(
    sla: SlaContext, bad: list[bytes], expected: list[str]
) -> None:
    with pytest.raises(HistoryError) as raised:
        await replay_history(sla.db, sla.service, bad)
    for text in expected:
        assert text in str(raised.value)
    async with sla.db.engine.connect() as connection:
        counts = [
            await connection.scalar(select(func.count()).select_from(t))
            for t in (messages, incidents)
        ]
    assert counts == [0, 0]
