"""A month across the municipalities of a region: totals from the latest revision of each
municipality's month (their stored inputs), and the ranking by A_2."""

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.indicators import RankEntry, RegionRollup
from kernel.db.schema import indicator_values
from sla.domain.indicators import a2, period_mean, rank_by_a2, share_percent

_ADDITIVE = ("n_assigned", "n_on_time", "n_processed", "n_messages", "n_negative")


async def region_rollup(
    connection: AsyncConnection, month: str, region: str | None, members: Collection[str] | None
) -> RegionRollup | None:
    """Totals of the latest revision of the month of every municipality in ``members`` (None:
    all) and the ranking by A_2; None when none of them has the month. Percentiles do not add
    up (a median of medians is not a median), so the region has none."""
    rows = (
        await connection.execute(
            select(indicator_values.c.municipality, indicator_values.c.revision,
                   indicator_values.c.inputs)
            .where(indicator_values.c.month == month)
            .order_by(indicator_values.c.municipality, indicator_values.c.revision.desc())
            .ext(distinct_on(indicator_values.c.municipality))
        )
    ).all()  # fmt: skip
    rows = [row for row in rows if members is None or row.municipality in members]
    if not rows:
        return None
    totals = {key: sum(int(row.inputs[key]) for row in rows) for key in _ADDITIVE}
    threshold_t = max(int(row.inputs["threshold_t"]) for row in rows)
    municipal = {
        row.municipality: a2(row.inputs["n_assigned"], row.inputs["n_on_time"], threshold_t)
        for row in rows
    }
    whole = a2(totals["n_assigned"], totals["n_on_time"], threshold_t)
    revisions = {row.municipality: int(row.revision) for row in rows}
    return RegionRollup(
        month=month,
        region=region,
        threshold_t=threshold_t,
        municipalities=len(rows),
        n_assigned=totals["n_assigned"],
        n_handled_on_time=totals["n_on_time"],
        ratio=whole.ratio,
        k_ob=whole.k_ob,
        a2=whole.value,
        mean_a2=period_mean(value.value for value in municipal.values()),
        share_processed=share_percent(totals["n_processed"], totals["n_assigned"]),
        share_negative=share_percent(totals["n_negative"], totals["n_messages"]),
        n_messages=totals["n_messages"],
        n_negative=totals["n_negative"],
        n_positive_neutral=totals["n_messages"] - totals["n_negative"],
        ranking=[
            RankEntry(place=r.place, municipality=r.municipality, a2=r.a2,
                      revision=revisions[r.municipality])
            for r in rank_by_a2([(m, value.value) for m, value in municipal.items()])
        ],
    )  # fmt: skip
