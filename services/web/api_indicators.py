"""The month's indicators beyond the municipal records: the region's totals with the ranking by
A_2, and the drill-down behind each number. Any signed-in role that may read."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from kernel.contracts.indicators import RegionRollup
from services.auth.roles import Action
from services.auth.store import User
from services.web.security import WebState, requires, web_state
from sla.reports.indicator_views import drill_down_of, region_of
from sla.storage.drilldown import Measure

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
router = APIRouter(prefix="/api/indicators")
State = Annotated[WebState, Depends(web_state)]
Reader = Annotated[User, Depends(requires(Action.READ))]
Month = Annotated[str, Query(pattern=MONTH)]


@router.get("/region", response_model=RegionRollup)
async def region(state: State, user: Reader, month: Month, region: str | None = None) -> Any:
    """Свод по региону (все муниципалитеты без ``region``) и рейтинг по A_2."""
    rollup = await region_of(state.context, month, region)
    if rollup is None:
        raise HTTPException(404, f"За {month} нет показателей")
    return rollup


@router.get("/drill-down")
async def drill_down(
    state: State, user: Reader, month: Month, municipality: str, measure: Measure
) -> dict[str, Any]:
    """Инциденты (или сообщения), из которых сложилось число, и ревизия, которую они дают."""
    record, rows = await drill_down_of(state.context, month, municipality, measure)
    return {
        "municipality": municipality,
        "month": month,
        "measure": measure.value,
        "revision": None if record is None else record.revision,
        "count": len(rows),
        "items": rows,
    }
