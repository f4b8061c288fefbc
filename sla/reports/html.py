"""The plan/fact report as a printable HTML page (A4 landscape), rendered with Jinja2; the PDF is
this page printed by WeasyPrint (sla.reports.pdf).

Autoescape is on for every template: municipality names come from the policy file and ids from
stored data and request parameters, and none of them may become markup in the page.
"""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from sla.domain.plan_fact import PlanFactReport
from sla.reports.printed import (
    ACHIEVEMENT_DIGITS,
    REPORT_TITLE,
    SIGNATURE,
    covers,
    digits_of,
    russian,
)

TEMPLATES = Path(__file__).with_name("templates")


def local(moment: datetime | None, zone: str) -> str:
    return "—" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M")


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def value(amount: float | None, unit: str) -> str:
        return russian(amount, digits_of(unit))

    def percent(amount: float | None) -> str:
        return russian(amount, ACHIEVEMENT_DIGITS)

    environment.filters.update(local=local, value=value, percent=percent, number=russian)
    return environment


def plan_fact_html(report: PlanFactReport) -> str:
    template = _environment().get_template("plan_fact.html")
    return template.render(
        report=report, title=REPORT_TITLE, covers=covers(report), signature=SIGNATURE
    )
