"""What the pages show, read through the existing services (queue, incident detail, thread,
plan/fact report, drill-down). Views call these and render; nothing here knows about HTTP.
Each takes the reader's ``Reach`` and shows nothing outside it."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel.contracts.categories import DEPARTMENTS
from kernel.contracts.indicators import IndicatorRecord
from kernel.contracts.messages import Attachment
from services.auth.store import display_names
from services.web.ui.charts import Chart, line_chart
from services.web.ui.labels import CATEGORIES, CHANNELS, FILTER_STATUSES, STATUSES
from sla.domain.numbers import with_number
from sla.domain.plan_fact import PlanFactReport, parse_period
from sla.domain.policy import SlaPolicy
from sla.reports.exports import collect_report, load_plans_file
from sla.reports.indicator_views import (
    drill_down_of,
    months_without_revision,
    no_revision_hint,
    within,
)
from sla.stage import SlaContext
from sla.storage.aggregation import current_records, published_months
from sla.storage.attachments import as_attachments, attachments_of
from sla.storage.drilldown import Measure
from sla.storage.numbers import incident_id_of
from sla.storage.queue import QueueFilter, Reach, incident_detail, list_incidents
from sla.storage.resident import Resident, resident_of
from sla.storage.thread import root_of, thread_of

SHORT_MONTHS = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")


@dataclass(frozen=True)
class Options:
    """Choices of the filters and forms: (code, Russian name)."""

    statuses: list[tuple[str, str]]
    municipalities: list[tuple[str, str]]
    departments: list[str]
    categories: list[tuple[str, str]]
    channels: list[tuple[str, str]]


def options(context: SlaContext, reach: Reach) -> Options:
    """The municipalities offered (filters, reassignment) are those of the reader's reach."""
    known = context.policy.spec.municipalities
    places = [(key, spec.name) for key, spec in known.items() if reach.covers_place(key)]
    return Options(
        statuses=[(code, STATUSES[code]) for code in FILTER_STATUSES],
        municipalities=sorted(places, key=_by_name),
        departments=sorted({*DEPARTMENTS.values(), *context.policy.spec.departments}),
        categories=sorted(((c, CATEGORIES.get(c, c)) for c in DEPARTMENTS), key=_by_name),
        channels=list(CHANNELS.items()),
    )


def municipality_names(policy: SlaPolicy) -> dict[str, str]:
    return policy.municipality_names()


def _by_name(pair: tuple[str, str]) -> str:
    return pair[1]


async def queue(
    context: SlaContext, flt: QueueFilter, now: datetime
) -> tuple[int, list[dict[str, Any]]]:
    async with context.db.engine.connect() as connection:
        total, rows = await list_incidents(connection, flt, now)
        people = await display_names(connection, {r["claimed_by"] for r in rows if r["claimed_by"]})
    return total, [
        {**with_number(row, context.policy.number_prefix),
         "claimed_by_name": people.get(row["claimed_by"], row["claimed_by"])}
        for row in rows
    ]  # fmt: skip


async def incident_id_by_number(context: SlaContext, wanted: str, reach: Reach) -> str | None:
    """The id of the incident numbered ``wanted`` («СЕВ-2026-000123»); None if there is none
    within ``reach``."""
    async with context.db.engine.connect() as connection:
        found = await incident_id_of(connection, wanted, context.policy.municipality_of_prefix)
        if found == wanted or await incident_detail(connection, found, reach) is None:
            return None
    return found


@dataclass(frozen=True)
class IncidentView:
    incident: dict[str, Any]
    thread_total: int
    thread: list[dict[str, Any]]
    root: dict[str, Any] | None  # the post a comment was written under
    resident: Resident | None = None  # who wrote the message, and their other messages
    attachments: list[Attachment] = field(default_factory=list)  # the message's own
    people: dict[str, str] = field(default_factory=dict)  # login -> name, of those it names


async def incident(context: SlaContext, incident_id: str, reach: Reach) -> IncidentView | None:
    """None when the incident is missing or outside ``reach`` alike."""
    async with context.db.engine.connect() as connection:
        stored = await incident_detail(connection, incident_id, reach)
        if stored is None:
            return None
        found = with_number(stored, context.policy.number_prefix)
        total, thread = await thread_of(connection, message_id=found["message_id"])
        root = await root_of(connection, message_id=found["message_id"])
        resident = await resident_of(connection, message_id=found["message_id"], reach=reach)
        attachments = await attachments_of(connection, found["message_id"])
        people = await display_names(connection, _logins_in(found))
    if root is not None:
        root = {**root, "attachments": as_attachments(root["attachments"])}
    return IncidentView(found, total, thread, root, resident, attachments, people)


def _logins_in(incident: dict[str, Any]) -> set[str]:
    """Who the page names: the claim's holder, each event's actor and assignee."""
    named = {incident["claimed_by"]}
    for event in incident["history"]:
        named |= {event["actor"], event["data"].get("assignee")}
    return {login for login in named if isinstance(login, str)}


@dataclass(frozen=True)
class Overview:
    """The programme page: plan/fact of the period, the year's months, two charts."""

    report: PlanFactReport
    records: list[IndicatorRecord]
    charts: tuple[Chart, Chart]
    hints: list[str]  # months of the period with data but no revision yet: how to get one


async def latest_month(context: SlaContext) -> str | None:
    async with context.db.engine.connect() as connection:
        months = await published_months(connection)
    return months[-1] if months else None


async def overview(
    context: SlaContext,
    plans_file: Path,
    period: str,
    municipality: str | None,
    now: datetime,
    reach: Reach,
) -> Overview:
    """PlansError (the server's file) and ReportError (the period, a municipality unknown or
    outside ``reach``) are left to the caller."""
    policy = context.policy
    plans = load_plans_file(plans_file, policy.spec.municipalities)
    year = parse_period(period).year
    months = [f"{year}-{number:02d}" for number in range(1, 13)]
    async with context.db.engine.connect() as connection:
        report = await collect_report(connection, plans, policy, period, municipality, now, reach)
        records = [
            r
            for m in months
            for r in within(reach, await current_records(connection, m, municipality))
        ]
        missing = await months_without_revision(
            connection, policy, parse_period(period).months, municipality, records, reach
        )
    names = municipality_names(policy)
    wanted = sorted({r.municipality for r in records}, key=lambda key: names.get(key, key))
    by_key = {(r.municipality, r.month): r for r in records}

    def series(field: str) -> list[tuple[str, list[float | None]]]:
        return [
            (names.get(m, m), [_value(by_key.get((m, month)), field) for month in months])
            for m in wanted
        ]

    def common_plan(field: str) -> float | None:
        found = {getattr(plans.for_year(year, m), field) for m in wanted}
        return found.pop() if len(found) == 1 else None

    a2 = line_chart("A_2 по месяцам", SHORT_MONTHS, series("a2"), plan=common_plan("a2"))
    processed = line_chart(
        "Доля обработанных сообщений по месяцам, %", SHORT_MONTHS, series("share_processed"),
        unit="%", y_max=100.0, plan=common_plan("share_processed"),
    )  # fmt: skip
    return Overview(
        report,
        sorted(records, key=lambda r: (r.month, r.municipality)),
        (a2, processed),
        [no_revision_hint(month) for month in missing],
    )


def _value(record: IndicatorRecord | None, field: str) -> float | None:
    value: float | None = None if record is None else getattr(record, field)
    return value


async def drill_down(
    context: SlaContext, month: str, municipality: str, measure: Measure, reach: Reach
) -> tuple[IndicatorRecord | None, list[dict[str, Any]]]:
    """IndicatorReadError (a municipality unknown or outside ``reach``, no revision yet) is left
    to the caller."""
    return await drill_down_of(context, month, municipality, measure, reach=reach)
