"""Golden scenario for the month's indicators beyond A_2 itself (expected numbers by hand): the
production calendar inside a deadline, reassignment and rejection, response-time percentiles,
the month's close, T = 150 and T = 250, the region's rollup and ranking, and the drill-down
behind each number — on a real PostgreSQL, through the same domain code as live incidents."""

import asyncio
import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from kernel.observability import Metrics
from services.cli import app as cli_app
from sla.replay import replay_history
from sla.reports.indicator_views import UnknownIdError, drill_down_of, region_of
from sla.stage import SlaContext, open_sla
from sla.storage.drilldown import Measure
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
S, Z = "severogorsk", "zarechny"  # region "demo" in the bundled policy; Z works 08:00-17:00


def line(at: str, event: str, message_id: str, **fields: Any) -> bytes:
    return json.dumps({"at": at, "event": event, "message_id": message_id, **fields}).encode()


def incident(at: str, message_id: str, municipality: str = S) -> list[bytes]:
    """A resident's negative VK message and its assignment at the same moment."""
    return [
        line(at, "message", message_id, municipality=municipality, text="жалоба",
             sentiment="negative"),
        line(at, "assigned", message_id),
    ]  # fmt: skip


NOVEMBER = [
    # Tue 3 Nov is a shortened pre-holiday day (closes 17:00) and Wed 4 Nov a holiday: 8 working
    # hours from 17:30 on the 3rd end on Thu 5 Nov at 17:00. Answered 16:48: on time, 47.3 h.
    *incident("2026-11-03T17:30:00+03:00", "n1"),
    line("2026-11-05T16:48:00+03:00", "answered", "n1", actor="anna", text="Отремонтировали"),
    *incident("2026-11-02T10:00:00+03:00", "n2"),  # answered in 1 h: on time
    line("2026-11-02T11:00:00+03:00", "answered", "n2", actor="anna", text="Сделано"),
    *incident("2026-11-02T10:00:00+03:00", "n3"),  # reassigned: counts for Z, not S
    line("2026-11-02T11:00:00+03:00", "reassigned", "n3", municipality=Z, reason="их район"),
    line("2026-11-02T12:00:00+03:00", "answered", "n3", actor="oleg", text="Приняли"),
    *incident("2026-11-02T12:00:00+03:00", "n4"),  # «не инцидент»: not counted
    line("2026-11-02T13:00:00+03:00", "rejected", "n4", actor="anna", reason="реклама"),
    *incident("2026-11-27T15:00:00+03:00", "n5"),  # never answered: not on time
    line("2026-11-20T12:00:00+03:00", "message", "n6", municipality=S, text="Спасибо",
         sentiment="positive"),
]  # fmt: skip


def sla_at(
    settings_factory: SettingsFactory, database_url: str, now: datetime, threshold_t: int = 150
) -> Callable[[], Any]:
    settings = settings_factory(database_url=database_url, indicator_threshold_t=threshold_t)
    return lambda: open_sla(settings, Metrics(), clock=lambda: now)


async def test_november_numbers_percentiles_close_region_and_drill_down(
    settings_factory: SettingsFactory, database_url: str
) -> None:
    before_close: SlaContext = await sla_at(
        settings_factory, database_url, datetime(2026, 12, 1, tzinfo=UTC)
    )()
    try:
        await replay_history(before_close.db, before_close.service, NOVEMBER)
        s = await before_close.aggregator.publish_month(S, "2026-11")
        z = await before_close.aggregator.publish_month(Z, "2026-11")
    finally:
        await before_close.db.close()
    assert s is not None and z is not None
    assert (s.n_assigned, s.n_handled_on_time, s.a2, s.closed) == (3, 2, 0.666667, False)
    assert s.share_processed == pytest.approx(66.6667)
    # Messages stay where they were written (n3 too) and a rejected one is still a negative
    # message: six residents' messages, five negative.
    assert (s.n_messages, s.n_negative, s.n_positive_neutral) == (6, 5, 1)
    assert (s.first_response_median_hours, s.first_response_p90_hours) == (24.15, 42.67)
    assert (z.n_assigned, z.n_handled_on_time, z.ratio, z.k_ob, z.a2) == (1, 1, 1.0, 1.0, 1.0)

    # 5 Dec 10:00 Moscow is the close: close_month, the explicit step, publishes a new revision
    # marked closed, with the same numbers; the aggregator's round closes the other one.
    context: SlaContext = await sla_at(
        settings_factory, database_url, datetime(2026, 12, 5, 7, 1, tzinfo=UTC)
    )()
    try:
        closed = await context.aggregator.close_month(S, "2026-11")
        assert closed is not None
        assert (closed.revision, closed.closed, closed.a2) == (2, True, 0.666667)
        assert await context.aggregator.publish_month(S, "2026-11") is None
        round_ = await context.aggregator.run_once()
        assert [(r.municipality, r.revision, r.closed) for r in round_] == [(Z, 2, True)]

        region = await region_of(context, "2026-11", "demo")
        assert region is not None and region.municipalities == 2
        assert (region.n_assigned, region.n_handled_on_time, region.a2) == (4, 3, 0.75)
        assert region.mean_a2 == pytest.approx((1.0 + 0.666667) / 2, abs=1e-6)
        assert [(r.place, r.municipality, r.revision) for r in region.ranking] == [
            (1, Z, 2),
            (2, S, 2),
        ]
        with pytest.raises(UnknownIdError, match="неизвестный регион «nowhere»; известны: demo"):
            await region_of(context, "2026-11", "nowhere")

        drilled = {m: await drill_down_of(context, "2026-11", S, m) for m in Measure}
    finally:
        await context.db.close()
    ids = {
        m: [row.get("incident_id") or row["message_id"] for row in rows]
        for m, (_, rows) in drilled.items()
    }
    record = drilled[Measure.ASSIGNED][0]
    assert record is not None and record.revision == 2
    assert len(ids[Measure.ASSIGNED]) == record.n_assigned == 3
    assert len(ids[Measure.ON_TIME]) == record.n_handled_on_time == 2
    [late] = drilled[Measure.NOT_ON_TIME][1]
    assert late["message_id"].endswith("n5") and late["on_time"] is not True
    assert late["final_answer_due"] is not None and late["policy_version"] is not None
    [rejected] = drilled[Measure.EXCLUDED][1]
    assert rejected["message_id"].endswith("n4") and rejected["status"] == "rejected"
    assert len(ids[Measure.PROCESSED]) == 2 and len(ids[Measure.NEGATIVE]) == record.n_negative
    on_time = {row["message_id"][-2:]: row for row in drilled[Measure.ON_TIME][1]}
    assert on_time["n1"]["first_response_due"] == datetime(2026, 11, 5, 14, 0, tzinfo=UTC)


async def test_threshold_t_decides_the_volume_bonus_and_a_change_of_t_is_a_new_revision(
    settings_factory: SettingsFactory, database_url: str
) -> None:
    history: list[bytes] = []
    for n in range(151):  # 151 incidents, each answered ten minutes after it was written
        at = f"2026-10-{1 + n % 28:02d}T10:{n % 50:02d}:00+03:00"
        history += incident(at, f"o{n}", Z)
        answered = at.replace("T10:", "T11:")
        history.append(line(answered, "answered", f"o{n}", actor="oleg", text="Готово"))
    now = datetime(2026, 11, 10, tzinfo=UTC)
    t150: SlaContext = await sla_at(settings_factory, database_url, now, threshold_t=150)()
    try:
        await replay_history(t150.db, t150.service, history)
        first = await t150.aggregator.publish_month(Z, "2026-10")
    finally:
        await t150.db.close()
    t250: SlaContext = await sla_at(settings_factory, database_url, now, threshold_t=250)()
    try:
        second = await t250.aggregator.publish_month(Z, "2026-10")
    finally:
        await t250.db.close()
    assert first is not None and second is not None
    assert (first.n_assigned, first.n_handled_on_time) == (second.n_assigned, 151) == (151, 151)
    assert (first.threshold_t, first.k_ob, first.a2, first.revision) == (150, 1.2, 1.2, 1)
    assert (second.threshold_t, second.k_ob, second.a2, second.revision) == (250, 1.0, 1.0, 2)


def test_cli_ranking_and_drill_down(settings_factory: SettingsFactory, database_url: str) -> None:
    async def load() -> None:
        context: SlaContext = await sla_at(
            settings_factory, database_url, datetime(2026, 12, 1, tzinfo=UTC)
        )()
        try:
            await replay_history(context.db, context.service, NOVEMBER)
        finally:
            await context.db.close()

    asyncio.run(load())
    env = {
        "OTKLIK_DATABASE_URL": database_url,
        "OTKLIK_DATA_DIR": str(settings_factory.tmp_path),
        "OTKLIK_CLOCK_OFFSET": str(settings_factory.clock.offset.total_seconds()),
        "OTKLIK_KAFKA_BOOTSTRAP": "127.0.0.1:9",  # nothing listens: --once writes all the same
    }
    runner = CliRunner()
    hint = (
        "за 2026-11 нет опубликованной ревизии: её пишет агрегатор (otklik aggregate), "
        "либо запустите otklik aggregate --once --month 2026-11"
    )
    for command in (
        ["ranking", "--month", "2026-11", "--region", "demo"],
        ["drill-down", "--month", "2026-11", "--municipality", S],
        ["indicators", "--month", "2026-11"],
        ["report", "--period", "2026-11", "--format", "json"],
    ):  # reads never compute: the month has data but the aggregator has not run yet
        unread = runner.invoke(cli_app, command, env=env)
        assert (unread.exit_code, unread.stdout) == (1, ""), unread.output
        assert hint in unread.stderr
    for command in (
        ["ranking", "--month", "2026-11", "--region", "dem"],
        ["drill-down", "--month", "2026-11", "--municipality", "severogrsk"],
        ["indicators", "--month", "2026-11", "--municipality", "severogrsk"],
        ["report", "--period", "2026-11", "--municipality", "severogrsk", "--format", "json"],
    ):
        refused = runner.invoke(cli_app, command, env=env)
        assert refused.exit_code == 2, refused.output
        assert "«dem»; известны: demo" in refused.stderr or (
            "неизвестный муниципалитет «severogrsk»; известны: " in refused.stderr
            and f"{S}, " in refused.stderr
        )

    computed = runner.invoke(cli_app, ["aggregate", "--once", "--month", "2026-11"], env=env)
    assert computed.exit_code == 0, computed.output
    assert "новых ревизий: 2" in computed.stderr
    assert "записи остаются в outbox" in computed.stderr
    again = runner.invoke(cli_app, ["aggregate", "--once", "--month", "2026-11"], env=env)
    assert "новых ревизий: 0" in again.stderr

    ranked = runner.invoke(cli_app, ["ranking", "--month", "2026-11", "--region", "demo"], env=env)
    assert ranked.exit_code == 0, ranked.output
    assert [r["municipality"] for r in json.loads(ranked.stdout)["ranking"]] == [Z, S]
    drilled = runner.invoke(
        cli_app,
        ["drill-down", "--month", "2026-11", "--municipality", S, "--measure", "not_on_time",
         "--format", "csv"],
        env=env,
    )  # fmt: skip
    assert drilled.exit_code == 0, drilled.output
    [row] = list(csv.DictReader(io.StringIO(drilled.stdout)))
    assert row["message_id"].endswith("n5") and row["assigned_at"].startswith("2026-11-27T12:00")
    assert f"{S} 2026-11 ревизия 1 от " in drilled.stderr
    assert drilled.stderr.rstrip().endswith(": not_on_time = 1")
    earlier = runner.invoke(
        cli_app, ["indicators", "--month", "2026-11", "--municipality", S, "--revision", "1"],
        env=env,
    )  # fmt: skip
    assert earlier.exit_code == 0, earlier.output
    assert [(r["municipality"], r["revision"]) for r in json.loads(earlier.stdout)] == [(S, 1)]
    unknown = runner.invoke(
        cli_app, ["indicators", "--month", "2026-11", "--municipality", S, "--revision", "7"],
        env=env,
    )  # fmt: skip
    assert unknown.exit_code == 2
    assert f"у «{S}» за 2026-11 нет ревизии 7; есть: 1" in unknown.stderr
    bad = runner.invoke(cli_app, ["ranking", "--month", "2026-13"], env=env)
    assert bad.exit_code == 2
