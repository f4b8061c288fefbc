"""History replay through the domain code on a real PostgreSQL, and the month's indicators for a
hand-computed scenario (expected numbers written by hand)."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
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


def msg(at: str, message_id: str, sentiment: str = "negative", municipality: str = M) -> bytes:
    fields = {"municipality": municipality, "text": "текст", "sentiment": sentiment}
    return line(at, "message", message_id, **fields)


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


async def _incident(sla: SlaContext, message_id: str) -> dict[str, Any]:
    async with sla.db.engine.connect() as connection:
        row = (
            await connection.execute(select(incidents).where(incidents.c.message_id == message_id))
        ).one()
    return dict(row._mapping)


async def test_the_clock_starts_at_the_message_however_late_it_was_routed(sla: SlaContext) -> None:
    # Written Friday 17:00, routed on Monday: the first response was due Monday 16:00 (8 working
    # hours from the message), so an answer at Monday 17:00 is late, though 1 hour after routing.
    await replay_history(
        sla.db,
        sla.service,
        [
            msg("2026-09-04T17:00:00+03:00", "late"),
            line("2026-09-07T16:30:00+03:00", "assigned", "late", category="roads"),
            line("2026-09-07T17:00:00+03:00", "answered", "late", actor="anna", text="Ответ"),
        ],
    )
    incident = await _incident(sla, "late")
    assert incident["assigned_at"] == datetime(2026, 9, 4, 14, 0, tzinfo=UTC)
    assert incident["first_response_due"] == datetime(2026, 9, 7, 13, 0, tzinfo=UTC)
    assert incident["on_time"] is False


@pytest.fixture
async def restarting(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> AsyncIterator[SlaContext]:
    policy = tmp_path / "policy.yaml"
    default = (Path(__file__).parents[2] / "sla" / "default_policy.yaml").read_text()
    policy.write_text(
        default.replace("reassignment_restarts_clock: false", "reassignment_restarts_clock: true")
    )
    context = await open_sla(
        settings_factory(database_url=database_url, policy_file=policy),
        Metrics(),
        clock=lambda: datetime(2026, 11, 1, tzinfo=UTC),
    )
    yield context
    await context.db.close()


async def test_a_reassignment_restarts_the_final_deadline_when_the_policy_says_so(
    restarting: SlaContext,
) -> None:
    # An intermediate reply on Tuesday, a reassignment on Wednesday 10:00: the final answer is due
    # 7 working days after the reassignment (in zarechny's hours, 08:00-17:00), the first
    # response keeps the deadline it was given under; the incident stays in its month.
    await replay_history(
        restarting.db,
        restarting.service,
        [
            msg("2026-09-01T10:00:00+03:00", "moved"),
            line("2026-09-01T10:00:00+03:00", "assigned", "moved", category="roads"),
            line("2026-09-01T11:00:00+03:00", "answered", "moved", actor="anna",
                 text="Взяли в работу", final=False),
            line("2026-09-02T10:00:00+03:00", "reassigned", "moved", actor="boss",
                 municipality="zarechny", reason="не наш район"),
        ],
    )  # fmt: skip
    incident = await _incident(restarting, "moved")
    assert incident["status"] == "assigned" and incident["municipality"] == "zarechny"
    assert incident["assigned_at"] == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    assert incident["first_response_due"] == datetime(2026, 9, 1, 15, 0, tzinfo=UTC)
    assert incident["final_answer_due"] == datetime(2026, 9, 11, 14, 0, tzinfo=UTC)


async def test_histories_real_systems_have(sla: SlaContext) -> None:
    """A rejection before any routing, and a deletion at the source and its restoration."""
    await replay_history(
        sla.db,
        sla.service,
        [
            msg("2026-09-01T10:00:00+03:00", "spam"),
            line("2026-09-01T10:30:00+03:00", "rejected", "spam", actor="anna", reason="реклама"),
            msg("2026-09-02T10:00:00+03:00", "gone"),
            line("2026-09-02T10:00:00+03:00", "assigned", "gone"),
            line("2026-09-02T11:00:00+03:00", "claimed", "gone", actor="anna"),
            line("2026-09-02T12:00:00+03:00", "source_deleted", "gone"),
            msg("2026-09-03T10:00:00+03:00", "back"),
            line("2026-09-03T10:00:00+03:00", "assigned", "back"),
            line("2026-09-03T12:00:00+03:00", "source_deleted", "back"),
            line("2026-09-03T13:00:00+03:00", "source_restored", "back"),
        ],
    )
    spam, gone, back = [await _incident(sla, m) for m in ("spam", "gone", "back")]
    assert (spam["status"], spam["assigned_at"]) == ("rejected", None)
    assert gone["status"] == "source_deleted"
    assert back["status"] == "assigned"  # back in the queue, unclaimed


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (  # an answer before the message, out of order in the file as well
            [
                line("2026-09-01T09:00:00+03:00", "answered", "x", actor="a", text="Ответ"),
                msg("2026-09-01T10:00:00+03:00", "x"),
                line("2026-09-01T10:00:00+03:00", "assigned", "x"),
            ],
            "строка 1: answered в 2026-09-01T09:00:00+03:00 раньше самого сообщения x",
        ),
        (
            [msg("2026-09-01T10:00:00+03:00", "x"), msg("2026-09-01T11:00:00+03:00", "x")],
            "строка 2: сообщение x уже есть (строка 1)",
        ),
        (
            [msg("2026-09-01T10:00:00+03:00", "x", municipality="severogorks")],
            "строка 1: неизвестный муниципалитет «severogorks»; в политике SLA: severogorsk, zar",
        ),
        (
            [
                msg("2026-09-01T10:00:00+03:00", "x"),
                line("2026-09-01T10:00:00+03:00", "assigned", "x", department="Дороги"),
            ],
            "строка 2: неизвестное подразделение «Дороги»",
        ),
        (
            [
                msg("2026-09-01T10:00:00+03:00", "x"),
                line("2026-09-01T10:00:00+03:00", "assigned", "x", category="potholes"),
            ],
            "строка 2: category: неизвестная категория «potholes»",
        ),
        (
            [
                line("2026-09-01T10:00:00+03:00", "message", "x", municipality=M, final="да"),
                line("2026-09-01T10:00:00+03:00", "message", "y", municipality=M),
            ],
            "строка 1: final: нужно true или false\nстрока 2: событию message нужны поля: text",
        ),
    ],
    ids=[
        "answer-before-message",
        "message-twice",
        "municipality",
        "department",
        "category",
        "russian-messages",
    ],
)
async def test_impossible_histories_are_refused_with_their_line(
    sla: SlaContext, history: list[bytes], expected: str
) -> None:
    with pytest.raises(HistoryError) as raised:
        await replay_history(sla.db, sla.service, history)
    assert expected in str(raised.value)


async def test_an_event_before_a_message_of_an_earlier_file_is_refused(sla: SlaContext) -> None:
    await replay_history(sla.db, sla.service, SEPTEMBER)
    late = [line("2026-08-31T10:00:00+03:00", "answered", "m4", actor="a", text="Ответ")]
    with pytest.raises(HistoryError, match="строка 1: answered в 2026-08-31T10:00:00"):
        await replay_history(sla.db, sla.service, late)


async def test_the_readme_example_loads(sla: SlaContext) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Loading a history", 1)[1]
    example = section.split("```json\n", 1)[1].split("```", 1)[0]
    report = await replay_history(sla.db, sla.service, example.encode().splitlines())
    assert report.applied == 6
    incident = await _incident(sla, "old-1")
    assert (incident["status"], incident["municipality"], incident["on_time"]) == (
        "closed",
        "zarechny",
        True,
    )
