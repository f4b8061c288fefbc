"""Every dashboard panel query and every alert expression of deploy/, evaluated by a real
Prometheus (Debian's package) that scraped the real services during a scenario.

All six stages run as their own processes on real Kafka and PostgreSQL (tests/e2e/
observability_scenario.py); Prometheus scrapes each /metrics every second with the rules of
deploy/prometheus. Then: every panel query parses and returns data, key numbers equal what the
database says, the alerts the scenario provokes fire and the others stay quiet with their inputs
present, every rule is loaded and healthy, and each dashboard is rendered from the same data
(set OTKLIK_DASHBOARD_IMAGES=docs/img to refresh the README's pictures).
"""

import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from kernel.clock import Clock
from kernel.contracts.incidents import OPEN_STATUSES
from kernel.db.engine import sqlalchemy_url
from kernel.db.schema import incidents, messages
from sla.domain.calendar import last_year
from tests.conftest import unavailable
from tests.e2e import observability_scenario as sc
from tests.e2e.processes import scalar, wait_until
from tests.moments import every_moment
from tools.dashboard_render import render
from tools.dashboards import (
    DASHBOARDS,
    alert_rules,
    interpolate,
    load_dashboards,
    panel_queries,
    resolve_variables,
    variable_choices,
)
from tools.fake_vk import FakeVkServer
from tools.kafka import KafkaServer
from tools.prometheus import (
    INSTALL_HINT,
    PromClient,
    PrometheusServer,
    PromQueryError,
    missing_tools,
)

pytestmark = pytest.mark.e2e
FIRING = {
    "OtklikIncidentsAboutToBeOverdue",  # the residents' comments: first response due tomorrow
    "OtklikIncidentsOverdue",  # the old appeals
    "OtklikSourceSilent",  # the appeal channel: hourly, then silent for days
    "OtklikVkTokenInvalid",  # the revoked token
    "OtklikDeadLetters",  # the unreadable callback events
}
QUIET = {
    "OtklikConsumerLagGrowing",
    "OtklikOutboxBacklogGrowing",
    "OtklikProcessDown",
    "OtklikVkSourceInaccessible",  # the polled group stays readable
    "OtklikCalendarEndsSoon",  # the calendar's last year is not over (Prometheus' own date)
}
METRIC_NAME = re.compile(r"\b((?:otklik|faststream)_\w+|up)\b(?!\s*\()")


@pytest.fixture
def vk(clock: Clock) -> Iterator[FakeVkServer]:
    with FakeVkServer(clock=clock) as server:
        yield server


@pytest.fixture
def scenario(
    kafka_server: KafkaServer, database_url: str, model_dir: Path, tmp_path: Path, vk: FakeVkServer
) -> Iterator[sc.Scenario]:
    missing = missing_tools()
    if missing:
        unavailable(f"{', '.join(missing)} missing. {INSTALL_HINT}")
    running = sc.prepare(kafka_server, database_url, model_dir, tmp_path, vk)
    yield running
    running.pipeline.stop_all()


def prometheus_now() -> float:
    """Prometheus runs on the system clock, not on the test's: the time range of its queries
    and pictures is read from the system clock."""
    return time.time()


def value(prometheus: PromClient, expr: str) -> float | None:
    result = prometheus.query(expr)
    return float(result[0]["value"][1]) if result else None


def open_incidents(engine: Engine) -> int:
    statuses = [s.value for s in OPEN_STATUSES]
    return scalar(
        engine, select(func.count()).select_from(incidents).where(incidents.c.status.in_(statuses))
    )


def play(scenario: sc.Scenario, engine: Engine, prometheus: PromClient) -> None:
    """Two waves of input and moderators' work, with scrapes in between (a counter's first
    appearance is invisible to increase(); the second wave is what rates and alerts see)."""
    sc.send_old_appeals(scenario)
    sc.send_comments(scenario, 12)
    with sc.sign_in(scenario) as moderator:
        wait_until(lambda: len(sc.open_vk_incidents(moderator)) >= 8, 120, "VK incidents")
        sc.answer(scenario, moderator, 3)
        time.sleep(3)
        sc.send_comments(scenario, 4)
        sc.answer(scenario, moderator, 2)
        rejected, *_ = sc.open_vk_incidents(moderator)
        sc.act(moderator, rejected, "reject", {"reason": "не инцидент: благодарность"})
        sc.act(moderator, scenario.answered[0], "close", {})
    posted = 'sum(otklik_vk_replies_total{result="posted"})'
    settled: list[tuple[Callable[[], bool], str]] = [
        (lambda: value(prometheus, posted) == len(scenario.answered), "answers posted to VK"),
        (lambda: bool(prometheus.query("otklik_source_usual_gap_seconds")), "source gauges"),
        (lambda: bool(prometheus.query("otklik_indicator_a2")), "the exported indicators"),
        (
            lambda: value(prometheus, "sum(otklik_incidents_open)") == open_incidents(engine),
            "the incident gauges to agree with the database",
        ),
    ]
    for condition, what in settled:
        wait_until(condition, 90, what)
    time.sleep(3)  # a few more scrapes and rule evaluations after the last change


def check_numbers(scenario: sc.Scenario, engine: Engine, prometheus: PromClient) -> None:
    """Key panel numbers equal what the database and the scenario say."""
    stored = scalar(engine, select(func.count()).select_from(messages))
    overdue = scalar(
        engine,
        select(func.count())
        .select_from(incidents)
        .where(
            incidents.c.status.in_([s.value for s in OPEN_STATUSES]),
            incidents.c.first_response_at.is_(None),
            incidents.c.first_response_due < scenario.vk.clock(),
        ),
    )
    assert overdue > 0
    assert value(prometheus, "sum(otklik_incidents_open)") == open_incidents(engine)
    assert value(prometheus, 'sum(otklik_incidents_overdue{clock="first_response"})') == overdue
    assert value(prometheus, "sum(otklik_messages_ingested_total)") == stored
    assert value(prometheus, "sum(otklik_dead_letters_total)") == scenario.dead_letters_sent
    assert value(prometheus, "sum(otklik_vk_token_invalid)") == 1
    assert value(prometheus, "count(otklik_classifier_model_info == 1)") == 1
    assert value(prometheus, "max(otklik_calendar_last_year)") == last_year()


def check_panels(prometheus: PromClient, range_seconds: int) -> tuple[int, set[str]]:
    """Every panel query parses and returns a number (NaN alone is no data); returns how many
    were checked and the metrics they use."""
    failures, used, checked = [], set(), 0
    for board in load_dashboards().values():
        variables = resolve_variables(board, prometheus)
        assert all(variables.values()), f"{board['uid']}: a variable has no value: {variables}"
        for variable in board["templating"]["list"]:
            choices = variable_choices(variable, variables, prometheus)
            assert choices, f"{board['uid']}: ${variable['name']} offers nothing"
            if variable["name"] == "municipality":  # a person picks a name, panels get the id
                assert all(text != value for text, value in choices), choices
                assert "Тестград" in {text for text, _ in choices}, choices
        for query in panel_queries(board):
            expr = interpolate(query.expr, variables, range_seconds)
            used |= set(METRIC_NAME.findall(query.expr))
            checked += 1
            where = f"{query.dashboard} «{query.panel}» {query.ref}"
            try:
                result = prometheus.query(expr)
            except PromQueryError as error:
                failures.append(f"{where}: {error}")
                continue
            if not any(math.isfinite(float(sample["value"][1])) for sample in result):
                failures.append(f"{where}: no data: {expr} -> {result}")
    assert not failures, "\n".join(failures)
    return checked, used


def check_alerts(prometheus: PromClient) -> set[str]:
    rules = alert_rules()
    assert {rule.name for rule in rules} == FIRING | QUIET
    used: set[str] = set()
    for rule in rules:
        result = prometheus.query(rule.expr)
        used |= set(METRIC_NAME.findall(rule.expr))
        if rule.name in FIRING:
            assert result, f"{rule.name} should fire in this scenario: {rule.expr}"
        else:
            assert not result, f"{rule.name} fired: {result}"
    loaded = [r for group in prometheus.api("rules")["groups"] for r in group["rules"]]
    assert len(loaded) == len(rules)
    assert all(r["health"] == "ok" for r in loaded), [r.get("lastError") for r in loaded]
    return used


def render_all(prometheus: PromClient, window: tuple[float, float], directory: Path) -> None:
    """Each dashboard drawn from the data just checked (docs/img/ holds the README's copies)."""
    boards = load_dashboards()
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = boards[json.loads(path.read_text(encoding="utf-8"))["uid"]]
        report = render(board, prometheus, window, directory / f"dashboard-{path.stem}.png")
        assert all(report.series.values()), report.series


@every_moment  # the alerts on deadlines must fire before a weekend and a holiday as on a Tuesday
def test_every_panel_query_and_alert_expression_against_real_prometheus(
    scenario: sc.Scenario, database_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    engine = create_engine(sqlalchemy_url(database_url))
    sc.start_processes(scenario)
    targets = scenario.targets()
    (tmp_path / "prometheus").mkdir()
    with PrometheusServer(tmp_path / "prometheus", targets) as prometheus:
        everyone = f'sum(up{{job="otklik"}}) == {len(targets)}'

        def scraped() -> bool:
            scenario.pipeline.check_running()
            return bool(prometheus.query(everyone))

        try:
            wait_until(scraped, 300, "every process scraped")
        except TimeoutError:
            active = prometheus.api("targets")["activeTargets"]
            down = [(t["labels"]["process"], t["lastError"]) for t in active if t["health"] != "up"]
            raise AssertionError(f"not scraped: {down}") from None
        up_after = time.monotonic() - began
        window_start = prometheus_now() - 15  # the pictures start just before the first data
        play(scenario, engine, prometheus)
        check_numbers(scenario, engine, prometheus)
        checked, used = check_panels(prometheus, int(prometheus_now() - window_start) + 60)
        used |= check_alerts(prometheus)
        absent = [m for m in sorted(used) if not prometheus.query(f"count({m})")]
        assert not absent, f"metrics used by dashboards or alerts but never exported: {absent}"
        images = Path(os.environ.get("OTKLIK_DASHBOARD_IMAGES") or tmp_path)
        render_all(prometheus, (window_start, prometheus_now()), images)
    engine.dispose()
    print(
        f"\n{checked} panel queries and {len(FIRING | QUIET)} alert rules checked, "
        f"{len(used)} metrics; {time.monotonic() - began:.0f}s, {up_after:.0f}s of it until "
        "every process was scraped"
    )
