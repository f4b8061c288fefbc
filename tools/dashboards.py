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
    found = _LABEL_VALUES.match(variable["definition"].strip())
    if found is None:
        raise ValueError(f"variable {variable['name']}: only label_values(selector, label) is used")
    selector = interpolate(found["selector"], earlier, 3600)
    label = found["label"]
    series = prometheus.query(f"group by ({label}) ({selector})")
    values = sorted({s["metric"][label] for s in series if label in s["metric"]})
    return values[::-1] if variable.get("sort") in {2, 4, 6} else values


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend format: {{label}} replaced by the series' value of that label."""
    if template in {"", "__auto"}:
        shown = {k: v for k, v in labels.items() if k != "__name__"}
        return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or labels.get("__name__", "")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
