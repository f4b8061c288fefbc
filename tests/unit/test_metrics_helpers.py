"""Pure helpers of the metrics and dashboards: snapshot gauges, Grafana's variable and legend
substitution as the dashboard test and renderer use it, the renderer's number formats."""

import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from kernel.observability import Metrics, SnapshotGauge
from tools.dashboard_render import fmt, threshold_colour
from tools.dashboards import interpolate, legend


def test_a_snapshot_gauge_is_replaced_as_a_whole() -> None:
    registry = CollectorRegistry()
    gauge = SnapshotGauge("otklik_test_open", "Open now", ["municipality"], registry)
    gauge.replace({("a",): 3, ("b",): 1})
    gauge.replace({("b",): 2})  # "a" has nothing open any more: its series disappears
    text = generate_latest(registry).decode()
    assert 'otklik_test_open{municipality="b"} 2.0' in text
    assert 'municipality="a"' not in text
    with pytest.raises(ValueError, match="labels"):
        gauge.replace({("a", "extra"): 1})


def test_every_metric_of_a_process_registers_once_per_registry() -> None:
    first, second = Metrics(), Metrics()  # one registry per process: no global collisions
    names = {family.name for family in first.registry.collect()}
    assert {"otklik_incidents_open", "otklik_consumer_lag", "otklik_indicator_a2"} <= names
    assert names == {family.name for family in second.registry.collect()}


def test_interpolate_fills_grafanas_built_ins_and_the_longest_variable_name_first() -> None:
    expr = 'rate(x{m=~"$municipality", mo="${month}"}[$__rate_interval]) + y[$__range]'
    filled = interpolate(expr, {"municipality": ".*", "month": "2026-11", "m": "no"}, 600, 15)
    assert filled == 'rate(x{m=~".*", mo="2026-11"}[60s]) + y[600s]'


def test_legend_replaces_labels_and_falls_back_to_the_label_set() -> None:
    labels = {"__name__": "up", "municipality": "zarechye", "department": "ЖКХ"}
    assert legend("{{municipality}} · {{ department }}", labels) == "zarechye · ЖКХ"
    assert legend("__auto", labels) == "department=ЖКХ, municipality=zarechye"


def test_numbers_are_shown_in_the_panels_unit() -> None:
    assert fmt(0.35, "s") == "350 мс"
    assert fmt(42, "s") == "42 с"
    assert fmt(90, "s") == "1.5 мин"
    assert fmt(7200, "s") == "2 ч"
    assert fmt(3 * 86400, "s") == "3 дн"
    assert fmt(17.857, "percent", 1) == "17.9%"
    assert fmt(math.nan, "short") == "NaN"
    steps = {"thresholds": {"steps": [
        {"color": "red", "value": None}, {"color": "orange", "value": 80},
        {"color": "green", "value": 95},
    ]}}  # fmt: skip
    assert [threshold_colour(v, steps) for v in (10, 80, 99)] == ["#f2495c", "#ff9830", "#73bf69"]
