"""Plan/fact report of the municipal programme (pure; rules in docs/indicators.md).

Fact of a period: the mean of the monthly values for A_2 and the shares (months with no data
left out, as the methodology averages monthly values), the sum for counts. Achievement is
fact / plan, or plan / fact where lower is better (the share of negative messages), so that
100 % always means "exactly the plan" and more is always better; >= 95 % is «эффективно».
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from kernel.contracts.indicators import IndicatorRecord
from sla.domain.indicators import EFFECTIVE_ACHIEVEMENT, achievement, is_effective, period_mean
from sla.domain.plans import IndicatorPlans, Plans

# Years 1900-2999: year 0 has no dates and 9999-12 no next month; each was a 500 on a page.
YEAR_PATTERN = r"(19|2\d)\d{2}"
PERIOD_PATTERN = rf"^{YEAR_PATTERN}(-(Q[1-4]|H[12]|0[1-9]|1[0-2]))?$"
MONTH_PATTERN = rf"^{YEAR_PATTERN}-(0[1-9]|1[0-2])$"
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}
_MONTHS = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip


class Verdict(StrEnum):
    EFFECTIVE = "эффективно"
    INEFFECTIVE = "неэффективно"
    NO_DATA = "нет данных"
    NO_PLAN = "план не задан"


class Aggregate(StrEnum):
    MEAN = "mean"
    SUM = "sum"


@dataclass(frozen=True)
class IndicatorSpec:
    key: str  # the field of IndicatorRecord and of IndicatorPlans
    title: str
    unit: str
    lower_is_better: bool
    aggregate: Aggregate


INDICATORS = (
    IndicatorSpec(
        "a2", "Коэффициент отработки негативных сообщений (A_2)", "балл", False, Aggregate.MEAN
    ),
    IndicatorSpec("share_processed", "Доля обработанных сообщений", "%", False, Aggregate.MEAN),
    IndicatorSpec("share_negative", "Доля негативных сообщений", "%", True, Aggregate.MEAN),
    IndicatorSpec(
        "n_positive_neutral",
        "Количество позитивных и нейтральных сообщений",
        "шт.",
        False,
        Aggregate.SUM,
    ),
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Period(_Frozen):
    code: str
    year: int
    months: tuple[str, ...]
    label: str


class ReportRow(_Frozen):
    indicator: str
    title: str
    unit: str
    lower_is_better: bool
    plan: float | None
    fact: float | None
    achievement: float | None
    effective: bool | None
    verdict: Verdict


class MonthSource(_Frozen):
    """Which revision of a month the facts were taken from (None: no data for that month)."""

    month: str
    revision: int | None
    computed_at: AwareDatetime | None
    record: IndicatorRecord | None


class MunicipalityReport(_Frozen):
    municipality: str
    name: str
    timezone: str  # the municipality's own (the policy's default unless it has one)
    rows: tuple[ReportRow, ...]
    months: tuple[MonthSource, ...]


class PlanFactReport(_Frozen):
    period: Period
    generated_at: AwareDatetime
    timezone: str
    plans_version: str
    effective_threshold: float
    municipalities: tuple[MunicipalityReport, ...]


def parse_period(code: str) -> Period:
    """``2026``, ``2026-Q3``, ``2026-H2`` or ``2026-09``; ValueError otherwise."""
    if not re.fullmatch(PERIOD_PATTERN, code):
        raise ValueError(f"период {code!r}: ожидается 2026, 2026-Q3, 2026-H2 или 2026-09")
    year, _, part = code.partition("-")
    if not part:
        first, count, label = 1, 12, f"{year} год"
    elif part[0] == "Q":
        first, count = 3 * int(part[1]) - 2, 3
        label = f"{_ROMAN[part[1]]} квартал {year} г."
    elif part[0] == "H":
        first, count = 6 * int(part[1]) - 5, 6
        label = f"{_ROMAN[part[1]]} полугодие {year} г."
    else:
        first, count, label = int(part), 1, f"{_MONTHS[int(part) - 1]} {year} г."
    months = tuple(f"{year}-{number:02d}" for number in range(first, first + count))
    return Period(code=code, year=int(year), months=months, label=label)


def period_fact(spec: IndicatorSpec, records: Sequence[IndicatorRecord]) -> float | None:
    values: list[float | None] = [getattr(record, spec.key) for record in records]
    if spec.aggregate is Aggregate.MEAN:
        return period_mean(values)
    present = [value for value in values if value is not None]
    return float(sum(present)) if present else None


def period_plan(spec: IndicatorSpec, plans: IndicatorPlans, period: Period) -> float | None:
    """Counts are planned per year: a shorter period gets its share by months (plan · n / 12)."""
    value: float | None = getattr(plans, spec.key)
    if value is None or spec.aggregate is Aggregate.MEAN:
        return value
    return round(value * len(period.months) / 12, 2)


def evaluate(
    spec: IndicatorSpec, plan: float | None, fact: float | None
) -> tuple[float | None, bool | None, Verdict]:
    """(achievement %, effective, verdict). Plans are validated to be > 0."""
    if plan is None:
        return None, None, Verdict.NO_PLAN
    if fact is None:
        return None, None, Verdict.NO_DATA
    if spec.lower_is_better and fact == 0:
        # No negative messages at all beats any plan; plan / 0 has no value to print.
        return None, True, Verdict.EFFECTIVE
    value = achievement(plan, fact) if spec.lower_is_better else achievement(fact, plan)
    effective = is_effective(value)
    return value, effective, Verdict.EFFECTIVE if effective else Verdict.INEFFECTIVE


def report_rows(
    plans: IndicatorPlans, period: Period, records: Sequence[IndicatorRecord]
) -> tuple[ReportRow, ...]:
    rows = []
    for spec in INDICATORS:
        plan, fact = period_plan(spec, plans, period), period_fact(spec, records)
        value, effective, verdict = evaluate(spec, plan, fact)
        row = ReportRow(
            indicator=spec.key, title=spec.title, unit=spec.unit,
            lower_is_better=spec.lower_is_better, plan=plan, fact=fact,
            achievement=value, effective=effective, verdict=verdict,
        )  # fmt: skip
        rows.append(row)
    return tuple(rows)


def month_sources(period: Period, records: Sequence[IndicatorRecord]) -> tuple[MonthSource, ...]:
    by_month = {record.month: record for record in records}
    sources = []
    for month in period.months:
        found = by_month.get(month)
        sources.append(
            MonthSource(
                month=month,
                revision=None if found is None else found.revision,
                computed_at=None if found is None else found.computed_at,
                record=found,
            )
        )
    return tuple(sources)


def build_report(
    plans: Plans,
    period: Period,
    records: Iterable[IndicatorRecord],
    *,
    names: Mapping[str, str],
    generated_at: datetime,
    timezone: str,
    municipality: str | None = None,
    zones: Mapping[str, str] | None = None,
) -> PlanFactReport:
    """``records``: the latest revision of each municipality's months of the period.

    Without ``municipality`` the report has a section for every municipality with data in the
    period or with its own plan for the year, so a municipality with a plan and no data shows
    as «нет данных» instead of disappearing. ``zones``: the municipalities' own time zones
    (``timezone`` for one not in it), which their printed times are shown in.
    """
    grouped: dict[str, list[IndicatorRecord]] = {}
    for record in records:
        if record.month in period.months and municipality in (None, record.municipality):
            grouped.setdefault(record.municipality, []).append(record)
    wanted = (
        [municipality]
        if municipality is not None
        else sorted(set(grouped) | set(plans.named_municipalities(period.year)))
    )
    sections = []
    for name in wanted:
        own = sorted(grouped.get(name, []), key=lambda record: record.month)
        sections.append(
            MunicipalityReport(
                municipality=name,
                name=names.get(name, name),
                timezone=(zones or {}).get(name, timezone),
                rows=report_rows(plans.for_year(period.year, name), period, own),
                months=month_sources(period, own),
            )
        )
    return PlanFactReport(
        period=period, generated_at=generated_at, timezone=timezone,
        plans_version=plans.version, effective_threshold=EFFECTIVE_ACHIEVEMENT,
        municipalities=tuple(sections),
    )  # fmt: skip
