"""What the CLI and the web app show of a month's indicators: the municipal records (the latest
revision or an earlier one), the region's totals with the ranking by A_2, and the drill-down
behind each number.

Reads only: the aggregator is the one writer of revisions (sla/aggregator.py). A read that finds
no revision for a month that has data says so (``NoRevisionError``, with how to get one) instead of
computing it; an id the SLA policy does not know is refused (``UnknownIdError``), so a typo can
neither look like "no data" nor leave a phantom revision behind.

Every read takes the reader's ``Reach``: a municipality outside it is refused exactly as an
unknown one (the same message, listing only what the reader may see), a region shows only its
municipalities within it, and lists leave the others out (docs/web-ui.md, «Security»)."""

from collections.abc import Callable, Iterable
from datetime import tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.indicators import IndicatorRecord, RegionRollup
from kernel.settings import Settings
from sla.domain.local_time import local_text
from sla.domain.numbers import with_number
from sla.domain.policy import SlaPolicy
from sla.stage import SlaContext, sla_for_command
from sla.storage.aggregation import (
    current_records,
    has_any_data,
    record_at,
    revisions_of,
    with_data,
)
from sla.storage.drilldown import Measure, drill_down
from sla.storage.queue import EVERYWHERE, Reach
from sla.storage.rollup import region_rollup


class IndicatorReadError(LookupError):
    """A read that cannot answer; the message (Russian) says why."""


class UnknownIdError(IndicatorReadError):
    """A municipality or region the SLA policy does not name (CLI exit 2, HTTP 404)."""


class UnknownRevisionError(IndicatorReadError):
    """A revision that was never stored (CLI exit 2, HTTP 404)."""


class NoDataError(IndicatorReadError):
    """Nothing happened in the month: no data, hence no revision (CLI exit 1, HTTP 404)."""


class NoRevisionError(IndicatorReadError):
    """The month has data but no revision yet (CLI exit 1, HTTP 404, the pages show the hint)."""


def no_revision_hint(month: str) -> str:
    return (
        f"за {month} нет опубликованной ревизии: её пишет агрегатор (otklik aggregate), "
        f"либо запустите otklik aggregate --once --month {month}"
    )


async def check_municipality(
    connection: AsyncConnection, policy: SlaPolicy, municipality: str, reach: Reach = EVERYWHERE
) -> None:
    """Refuse an id that is neither in the SLA policy nor ever had data: a typo. (A municipality
    the sources map to but the policy does not list is governed by the policy's defaults and
    its data are published, so it stays readable.) One outside ``reach`` is refused with the
    very message of a typo, which then lists only the reach."""
    known = sorted(policy.spec.municipalities if reach.municipalities is None
                   else reach.municipalities)  # fmt: skip
    if reach.covers_place(municipality) and (
        municipality in policy.spec.municipalities or await has_any_data(connection, municipality)
    ):
        return
    listed = ", ".join(known)
    raise UnknownIdError(f"неизвестный муниципалитет «{municipality}»; известны: {listed}")


def places_within(reach: Reach, municipality: str | None) -> list[str] | None:
    """The municipalities a read of ``municipality`` (None: every one) covers within ``reach``;
    None for every municipality."""
    if municipality is not None:
        return [municipality]
    return None if reach.municipalities is None else sorted(reach.municipalities)


def regions(policy: SlaPolicy, reach: Reach = EVERYWHERE) -> list[str]:
    """The policy's regions with at least one municipality within ``reach``."""
    return sorted(
        {m.region for key, m in policy.spec.municipalities.items()
         if m.region is not None and reach.covers_place(key)}
    )  # fmt: skip


def check_region(policy: SlaPolicy, region: str, reach: Reach = EVERYWHERE) -> None:
    known = regions(policy, reach)
    if region not in known:
        listed = ", ".join(known) if known else "в файле политики регионов нет"
        raise UnknownIdError(f"неизвестный регион «{region}»; известны: {listed}")


async def months_without_revision(
    connection: AsyncConnection,
    policy: SlaPolicy,
    months: Iterable[str],
    municipality: str | None,
    stored: Iterable[IndicatorRecord],
    reach: Reach = EVERYWHERE,
) -> list[str]:
    """The ``months`` with data for the municipality (or any of the policy's within ``reach``)
    but no revision among ``stored`` (the records read for them)."""
    have = {record.month for record in stored}
    scope = places_within(reach, municipality)
    return [
        month
        for month in months
        if month not in have and await with_data(connection, month, scope, policy.timezone)
    ]


async def month_records(
    context: SlaContext,
    month: str,
    municipality: str | None,
    revision: int | None = None,
    reach: Reach = EVERYWHERE,
) -> list[IndicatorRecord]:
    """The latest revision of the month of the municipality (or of every municipality of the
    policy within ``reach``), or its revision ``revision``."""
    policy = context.policy
    async with context.db.engine.connect() as connection:
        if municipality is not None:
            await check_municipality(connection, policy, municipality, reach)
        if revision is not None:
            if municipality is None:
                raise ValueError("a revision is one municipality's")
            return [await _revision(connection, municipality, month, revision)]
        records = within(reach, await current_records(connection, month, municipality))
        if not records and await months_without_revision(
            connection, policy, [month], municipality, records, reach
        ):
            raise NoRevisionError(no_revision_hint(month))
    return records


def within(reach: Reach, records: Iterable[IndicatorRecord]) -> list[IndicatorRecord]:
    return [record for record in records if reach.covers_place(record.municipality)]


async def _revision(
    connection: AsyncConnection, municipality: str, month: str, revision: int
) -> IndicatorRecord:
    record = await record_at(connection, municipality, month, revision)
    if record is None:
        stored = await revisions_of(connection, municipality, month)
        known = f"есть: {', '.join(map(str, stored))}" if stored else "ревизий нет"
        raise UnknownRevisionError(f"у «{municipality}» за {month} нет ревизии {revision}; {known}")
    return record


async def region_of(
    context: SlaContext, month: str, region: str | None = None, reach: Reach = EVERYWHERE
) -> RegionRollup:
    """The region's month (a region of the policy file), or every municipality's; only its
    municipalities within ``reach`` count, in the totals and in the ranking alike."""
    policy = context.policy
    if region is not None:
        check_region(policy, region, reach)
    members = places_within(reach, None)
    if region is not None:
        members = [m for m in policy.municipalities_of(region) if reach.covers_place(m)]
    async with context.db.engine.connect() as connection:
        rollup = await region_rollup(connection, month, region, members)
        if rollup is not None:
            return rollup
        if await with_data(connection, month, members, policy.timezone):
            raise NoRevisionError(no_revision_hint(month))
    raise NoDataError(f"за {month} нет показателей ни одного муниципалитета")


async def drill_down_of(
    context: SlaContext,
    month: str,
    municipality: str,
    measure: Measure,
    revision: int | None = None,
    reach: Reach = EVERYWHERE,
) -> tuple[IndicatorRecord | None, list[dict[str, Any]]]:
    """The municipality's record of the month (the latest, or revision ``revision``) and the
    rows behind ``measure`` as they are stored now (those within ``reach``); the record is None
    when the month has no data at all."""
    zone = context.policy.timezone(municipality)
    async with context.db.engine.connect() as connection:
        await check_municipality(connection, context.policy, municipality, reach)
        if revision is not None:
            record: IndicatorRecord | None = await _revision(
                connection, municipality, month, revision
            )
        else:
            records = await current_records(connection, month, municipality)
            record = records[0] if records else None
        rows = await drill_down(connection, municipality, month, zone, measure, reach)
        if measure is not Measure.NEGATIVE:
            prefix_of = context.policy.number_prefix
            rows = [readable_incident(row, prefix_of, zone) for row in rows]
        if record is None and await with_data(
            connection, month, [municipality], context.policy.timezone
        ):
            raise NoRevisionError(no_revision_hint(month))
    return record, rows


# The moments of a drill-down row that a person reads; each also gets a «…_local» column.
MOMENTS = (
    "assigned_at", "first_response_due", "first_response_at", "final_answer_due",
    "final_answer_at",
)  # fmt: skip


def readable_incident(
    row: dict[str, Any], prefix_of: Callable[[str], str], zone: tzinfo
) -> dict[str, Any]:
    """A drill-down row as exported: its number («СЕВ-2026-000123») first, then the stored
    columns (UTC ISO moments, for machines), then each moment in the municipality's zone."""
    shown = with_number(row, prefix_of)
    local = {f"{name}_local": local_text(row[name], zone) for name in MOMENTS}
    return {"number": shown.pop("number"), **shown, **local}


async def month_records_view(
    settings: Settings, month: str, municipality: str | None, revision: int | None
) -> list[IndicatorRecord]:
    async with sla_for_command(settings) as context:
        return await month_records(context, month, municipality, revision)


async def region_view(settings: Settings, month: str, region: str | None) -> RegionRollup:
    async with sla_for_command(settings) as context:
        return await region_of(context, month, region)


async def drill_down_view(
    settings: Settings, month: str, municipality: str, measure: Measure, revision: int | None
) -> tuple[IndicatorRecord | None, list[dict[str, Any]]]:
    async with sla_for_command(settings) as context:
        return await drill_down_of(context, month, municipality, measure, revision)
