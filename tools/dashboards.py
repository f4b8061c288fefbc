"""The Grafana dashboards and Prometheus alert rules of deploy/, read as data: every panel query,
the template variables resolved the way Grafana resolves them, every alert expression. Used by the
test that evaluates them against a real Prometheus and by the dashboard renderer."""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.prometheus import DEPLOY, RULES, PromClient

DASHBOARDS = DEPLOY / "grafana" / "dashboards"
DATASOURCE_UID = "otklik-prometheus"  # deploy/grafana/provisioning/datasources/prometheus.yml
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$", re.S)
_QUERY_RESULT = re.compile(r"^query_result\((?P<query>.+)\)$", re.S)


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # uid
    panel: str  # title
    kind: str  # panel type
    ref: str
    expr: str
    legend: str


@dataclass(frozen=True)
class AlertRule:
    group: str
    name: str
    expr: str


def load_dashboards(directory: Path = DASHBOARDS) -> dict[str, dict[str, Any]]:
    """Dashboards by uid."""
    boards = [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))
    ]
    return {board["uid"]: board for board in boards}


def panel_queries(board: dict[str, Any]) -> list[PanelQuery]:
    return [
        PanelQuery(
            board["uid"],
            panel["title"],
            panel["type"],
            t["refId"],
            t["expr"],
            t.get("legendFormat", ""),
        )
        for panel in board["panels"]
        for t in panel.get("targets", [])
    ]


def alert_rules(directory: Path = RULES) -> list[AlertRule]:
    rules = []
    for path in sorted(directory.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules += [
                AlertRule(group["name"], rule["alert"], rule["expr"].strip())
                for rule in group["rules"]
                if "alert" in rule
            ]
    return rules


def interpolate(expr: str, variables: dict[str, str], range_seconds: int, step: int = 15) -> str:
    """Grafana's substitution: the built-in intervals, then $name / ${name} of the variables."""
    # Grafana's $__rate_interval is at least four scrape intervals; a minute is safe down to 15 s.
    builtins = {
        "__rate_interval": f"{max(4 * step, 60)}s",
        "__range": f"{range_seconds}s",
        "__interval": f"{step}s",
    }
    values = {**builtins, **variables}
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr


def resolve_variables(board: dict[str, Any], prometheus: PromClient) -> dict[str, str]:
    """Each query variable as Grafana would set it on first load: "All" (its allValue) for a
    multi-value variable, else the first value in the variable's sort order."""
    resolved: dict[str, str] = {}
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("includeAll"):
            resolved[variable["name"]] = variable.get("allValue") or ".*"
            continue
        options = variable_options(variable, resolved, prometheus)
        resolved[variable["name"]] = options[0] if options else ""
    return resolved


def variable_options(
    variable: dict[str, Any], earlier: dict[str, str], prometheus: PromClient
) -> list[str]:
    """The values of a query variable's options, in Grafana's order."""
    return [value for _, value in variable_choices(variable, earlier, prometheus)]


def variable_choices(
    variable: dict[str, Any], earlier: dict[str, str], prometheus: PromClient
) -> list[tuple[str, str]]:
    """(text shown, value) of each option, as Grafana lists them: ``label_values(selector,
    label)`` gives each value as its own text; ``query_result(query)`` gives each series as
    ``name{label="value",…} value timestamp``, which the variable's regex filters and, with its
    named groups ``text`` and ``value``, splits (Grafana 7.4+). Sorted by text (sort 1, 2 desc)."""
    definition = variable["definition"].strip()
    if found := _QUERY_RESULT.match(definition):
        series = prometheus.query(interpolate(found["query"], earlier, 3600))
        choices = _filtered(variable.get("regex", ""), [_result_line(s) for s in series])
    elif found := _LABEL_VALUES.match(definition):
        selector = interpolate(found["selector"], earlier, 3600)
        label = found["label"]
        series = prometheus.query(f"group by ({label}) ({selector})")
        choices = [(s["metric"][label],) * 2 for s in series if label in s["metric"]]
    else:
        raise ValueError(
            f"variable {variable['name']}: only label_values(selector, label) and "
            "query_result(query) are used"
        )
    ordered = sorted(set(choices))
    return ordered[::-1] if variable.get("sort") in {2, 4, 6} else ordered


def _result_line(series: dict[str, Any]) -> str:
    labels = dict(series["metric"])
    name = labels.pop("__name__", "")
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    at, value = series["value"]
    return f"{name}{{{inner}}} {value} {int(float(at) * 1000)}"


def _filtered(regex: str, lines: list[str]) -> list[tuple[str, str]]:
    """Grafana's variable regex, written for JavaScript (/…/ and (?<name>…)) and run here."""
    if not regex:
        return [(line, line) for line in lines]
    body = regex[1 : regex.rindex("/")] if regex.startswith("/") else regex
    pattern = re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", body))
    choices = []
    for line in lines:
        found = pattern.search(line)
        if found is None:
            continue
        named = found.groupdict()
        if named.get("text") or named.get("value"):
            text, value = named.get("text"), named.get("value")
            choices.append((text or value or "", value or text or ""))
        else:
            picked = found.group(1) if pattern.groups else line
            choices.append((picked, picked))
    return choices


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend format: {{label}} replaced by the series' value of that label."""
    if template in {"", "__auto"}:
        shown = {k: v for k, v in labels.items() if k != "__name__"}
        return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or labels.get("__name__", "")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
