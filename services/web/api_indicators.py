"""The month's indicators: the municipal records (latest revision or ``?revision=N``), the
region's totals with the ranking by A_2, and the drill-down behind each number. Any signed-in
role that may read. Reads only: the aggregator writes the revisions. An unknown municipality,
region or revision, and a month with data but no revision yet, are 404 with a Russian
``detail`` (docs/indicators.md). Each read is limited to the user's scope: a municipality or
region outside it is 404 like an unknown one; lists, totals and rankings hold only the
municipalities within it (indicators have no department: a department-limited user sees those
of their municipalities)."""

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException

from kernel.contracts.indicators import IndicatorRecord, RegionRollup
from services.auth.roles import Action
from services.auth.store import User
from services.web.security import WebState, reach_of, requires, web_state
from services.web.validation import Month, Revision, error_responses
from sla.reports.indicator_views import (
    IndicatorReadError,
    drill_down_of,
    month_records,
    region_of,
)
from sla.storage.drilldown import Measure

router = APIRouter(prefix="/api/indicators", responses=error_responses(404))
State = Annotated[WebState, Depends(web_state)]
Reader = Annotated[User, Depends(requires(Action.READ))]
T = TypeVar("T")


async def _found(reading: Awaitable[T]) -> T:
    try:
        return await reading
    except IndicatorReadError as error:
        raise HTTPException(404, str(error)) from error


# Registered with this router, before services/web/app.py adds its older route for the same
# path, so this one answers.
@router.get("", response_model=list[IndicatorRecord])
async def indicators(
    state: State,
    user: Reader,
    month: Month,
    municipality: str | None = None,
    revision: Revision = None,
) -> Any:
    """Последняя ревизия месяца каждого муниципалитета (или ``revision`` одного)."""
    if revision is not None and municipality is None:
        raise HTTPException(
            422, "ревизии нумеруются у каждого муниципалитета: укажите municipality"
        )
    reach = reach_of(user, state.context.policy)
    return await _found(month_records(state.context, month, municipality, revision, reach))


@router.get("/region", response_model=RegionRollup)
async def region(state: State, user: Reader, month: Month, region: str | None = None) -> Any:
    """Свод по региону (все муниципалитеты без ``region``) и рейтинг по A_2."""
    reach = reach_of(user, state.context.policy)
    return await _found(region_of(state.context, month, region, reach))


@router.get("/drill-down")
async def drill_down(
    state: State,
    user: Reader,
    month: Month,
    municipality: str,
    measure: Measure,
    revision: Revision = None,
) -> dict[str, Any]:
    """Инциденты (или сообщения), из которых сложилось число, и ревизия, которую они дают."""
    reach = reach_of(user, state.context.policy)
    record, rows = await _found(
        drill_down_of(state.context, month, municipality, measure, revision, reach)
    )
    return {
        "municipality": municipality,
        "month": month,
        "measure": measure.value,
        "revision": None if record is None else record.revision,
        "count": len(rows),
        "items": rows,
    }
