"""The plan/fact report as a printable HTML page (A4), rendered with Jinja2.

Autoescape is on for every template: municipality names come from the policy file and ids from
stored data and request parameters, and none of them may become markup in the page.
"""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from sla.domain.plan_fact import PlanFactReport

TEMPLATES = Path(__file__).with_name("templates")
_DIGITS = {"балл": 3, "%": 2, "шт.": 2}


def number(value: float | None, digits: int = 2) -> str:
    """Russian notation: decimal comma, no-break space between thousands, no trailing zeros."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}".replace(",", "\u00a0").replace(".", ",")
    return text.rstrip("0").rstrip(",") if "," in text else text


def _environment(zone: ZoneInfo) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def local(moment: datetime | None) -> str:
        return "—" if moment is None else moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")

    def value(amount: float | None, unit: str) -> str:
        return number(amount, _DIGITS.get(unit, 2))

    environment.filters.update(local=local, value=value, number=number)
    return environment


def plan_fact_html(report: PlanFactReport) -> str:
    template = _environment(ZoneInfo(report.timezone)).get_template("plan_fact.html")
    return template.render(report=report)
