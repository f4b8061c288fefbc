"""Exports at the edge: the month's indicators (JSON, CSV, XLSX) and the programme's plan/fact
report (JSON, XLSX, HTML, PDF). The report itself is built by the pure sla.plan_fact; here the plans
file and the stored revisions are read and the bytes are written."""

import json
import sys
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.indicators import IndicatorRecord
from kernel.settings import Settings
from kernel.yaml_files import read_text
from kernel.yaml_text import ConfigFileError
from sla.domain.plan_fact import PlanFactReport, build_report, parse_period
from sla.domain.plans import Plans, PlansError, load_plans
from sla.domain.policy import SlaPolicy
from sla.policy_file import load_policy_file
from sla.reports.html import plan_fact_html
from sla.reports.indicator_views import (
    NoRevisionError,
    UnknownIdError,
    check_municipality,
    months_without_revision,
    no_revision_hint,
    within,
)
from sla.reports.spreadsheet import csv_bytes
from sla.reports.xlsx import indicators_xlsx, plan_fact_xlsx
from sla.stage import sla_for_command
from sla.storage.aggregation import current_records
from sla.storage.queue import EVERYWHERE, Reach

INDICATOR_FORMATS = ("json", "csv", "xlsx")
REPORT_FORMATS = ("json", "xlsx", "html", "pdf")
BINARY_FORMATS = frozenset({"xlsx", "pdf"})
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class ReportError(ValueError):
    """A report cannot be produced; the message (Russian) says why."""


def load_plans_file(source: Path, known_municipalities: Collection[str]) -> Plans:
    """Read on every report, so the programme team's edits apply without a restart."""
    try:
        text = read_text(source, "файл планов")  # its size and encoding checked
    except ConfigFileError as error:
        raise PlansError(str(error)) from error
    try:
        return load_plans(text, known_municipalities)
    except PlansError as error:
        raise PlansError(f"{source}: {error}") from error


def render_indicators(records: Sequence[IndicatorRecord], fmt: str) -> bytes:
    if fmt == "xlsx":
        return indicators_xlsx(records)
    return render_rows([json.loads(record.model_dump_json()) for record in records], fmt)


def render_rows(rows: Sequence[Mapping[str, object]], fmt: str) -> bytes:
    """Plain rows as a JSON array or as CSV (a header, then a line per row); times in ISO 8601.
    CSV through sla.reports.spreadsheet, which keeps residents' texts from being formulas."""
    if fmt == "json":
        plain = [{key: _plain(value) for key, value in row.items()} for row in rows]
        return (json.dumps(plain, ensure_ascii=False, indent=2) + "\n").encode()
    return csv_bytes(rows)


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def render_report(report: PlanFactReport, fmt: str) -> bytes:
    if fmt == "xlsx":
        return plan_fact_xlsx(report)
    if fmt == "html":
        return plan_fact_html(report).encode()
    if fmt == "pdf":
        # Imported here: WeasyPrint loads Pango when imported, and only the PDF needs it.
        from sla.reports.pdf import plan_fact_pdf

        return plan_fact_pdf(report)
    return (report.model_dump_json(indent=2) + "\n").encode()


def emit(data: bytes, output: Path | None) -> None:
    """To the file, or to stdout when none is given (text formats only; checked by callers)."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)


async def collect_report(
    connection: AsyncConnection,
    plans: Plans,
    policy: SlaPolicy,
    period_code: str,
    municipality: str | None,
    now: datetime,
    reach: Reach = EVERYWHERE,
) -> PlanFactReport:
    """The report from the latest stored revision of every month of the period (of the
    municipalities of the policy: an id it does not name is refused; one outside ``reach``
    likewise, and without ``municipality`` only the sections within ``reach``)."""
    try:
        period = parse_period(period_code)
    except ValueError as error:
        raise ReportError(str(error)) from error
    if municipality is not None:
        try:
            await check_municipality(connection, policy, municipality, reach)
        except UnknownIdError as error:
            raise ReportError(str(error)) from error
    records: list[IndicatorRecord] = []
    for month in period.months:
        records += within(reach, await current_records(connection, month, municipality))
    report = build_report(
        plans, period, records,
        names={key: known.name for key, known in policy.spec.municipalities.items()},
        generated_at=now, timezone=policy.spec.defaults.timezone, municipality=municipality,
        zones={key: policy.timezone(key).key for key in policy.spec.municipalities},
    )  # fmt: skip
    # A municipality with a plan of its own has a section even without data: not outside reach.
    sections = [s for s in report.municipalities if reach.covers_place(s.municipality)]
    return report.model_copy(update={"municipalities": tuple(sections)})


async def plan_fact_report(
    settings: Settings, plans_file: Path, period_code: str, municipality: str | None
) -> PlanFactReport:
    """The report from the stored revisions (the aggregator writes them; nothing is computed
    here). A month of the period that has data but no revision yet raises NoRevisionError: the
    report would otherwise leave it out without a word."""
    try:
        period = parse_period(period_code)
    except ValueError as error:
        raise ReportError(str(error)) from error
    policy = load_policy_file(settings.policy_file)
    # The plans are checked before the database is opened: a typo fails in a second.
    plans = load_plans_file(plans_file, policy.spec.municipalities)
    async with sla_for_command(settings) as context, context.db.engine.connect() as connection:
        report = await collect_report(
            connection, plans, context.policy, period_code, municipality, context.clock()
        )
        stored = [
            record
            for month in period.months
            for record in await current_records(connection, month, municipality)
        ]
        missing = await months_without_revision(
            connection, context.policy, period.months, municipality, stored
        )
    if missing:
        raise NoRevisionError("\n".join(no_revision_hint(month) for month in missing))
    return report
