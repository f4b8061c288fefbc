"""What the CLI and the web app show of a month beyond the municipal records: the region's
totals with the ranking by A_2, and the drill-down behind each number. Each recomputes the month
first (a new revision only when its inputs changed), so what is listed is what the latest
revision counts."""

from typing import Any

from kernel.contracts.indicators import IndicatorRecord, RegionRollup
from kernel.settings import Settings
from sla.stage import SlaContext, sla_for_command
from sla.storage.aggregation import current_records
from sla.storage.drilldown import Measure, drill_down
from sla.storage.rollup import region_rollup


async def region_of(
    context: SlaContext, month: str, region: str | None = None
) -> RegionRollup | None:
    """The region's month (a region of the policy file), or every municipality's."""
    await context.aggregator.run_once(month)
    members = None if region is None else context.policy.municipalities_of(region)
    async with context.db.engine.connect() as connection:
        return await region_rollup(connection, month, region, members)


async def drill_down_of(
    context: SlaContext, month: str, municipality: str, measure: Measure
) -> tuple[IndicatorRecord | None, list[dict[str, Any]]]:
    """The municipality's latest record of the month and the rows behind ``measure``."""
    await context.aggregator.publish_month(municipality, month)
    zone = context.policy.timezone(municipality)
    async with context.db.engine.connect() as connection:
        records = await current_records(connection, month, municipality)
        rows = await drill_down(connection, municipality, month, zone, measure)
    return (records[0] if records else None), rows


async def region_view(settings: Settings, month: str, region: str | None) -> RegionRollup | None:
    async with sla_for_command(settings) as context:
        return await region_of(context, month, region)


async def drill_down_view(
    settings: Settings, month: str, municipality: str, measure: Measure
) -> tuple[IndicatorRecord | None, list[dict[str, Any]]]:
    async with sla_for_command(settings) as context:
        return await drill_down_of(context, month, municipality, measure)
