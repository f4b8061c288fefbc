"""Dashboards' legends are what a person reads: municipality names, not ids (the indicator
gauges carry the name, other series join otklik_municipality_info), and statuses and event types
in Russian. (Whether the
queries return data is tests/e2e/test_observability.py, against a real Prometheus.)"""

import re

from kernel.contracts.incidents import OPEN_STATUSES
from tools.dashboards import load_dashboards, panel_queries

QUERIES = [q for board in load_dashboards().values() for q in panel_queries(board)]
RENAMED = re.compile(r', "(\w+)", "([^"]+)", "\1", "(\w+)"\)')


def renamed(expr: str, label: str) -> dict[str, str]:
    """code -> Russian name of the ``label_replace`` chain around a query."""
    pairs = RENAMED.findall(expr)
    assert len(pairs) == expr.count("label_replace("), expr
    return {code: name for target, name, code in pairs if target == label}


def test_legends_name_the_municipality_from_a_metric_that_carries_the_name() -> None:
    named = [q for q in QUERIES if "{{municipality_name}}" in q.legend]
    assert any("otklik_indicator_" in q.expr for q in named)
    assert any("otklik_municipality_info" in q.expr for q in named)
    for query in QUERIES:
        assert "{{municipality}}" not in query.legend, (query.panel, query.legend)
    for query in named:  # the indicator gauges carry it; other series join the names
        joined = "group_left (municipality_name) otklik_municipality_info" in query.expr
        assert joined or query.expr.startswith("otklik_indicator_"), query.panel


def test_status_and_event_type_series_are_named_in_russian() -> None:
    by_status = [q for q in QUERIES if "{{status}}" in q.legend]
    by_type = [q for q in QUERIES if "{{type}}" in q.legend]
    assert by_status and by_type
    for query in by_status:
        names = renamed(query.expr, "status")
        assert set(names) == {status.value for status in OPEN_STATUSES}, query.panel
        assert names["answered"] == "отвечено" and names["assigned"] == "назначено"
    for query in by_type:
        shown = re.search(r'type=~"([^"]+)"', query.expr)
        assert shown is not None
        assert set(renamed(query.expr, "type")) == set(shown.group(1).split("|")), query.panel
