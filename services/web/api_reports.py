"""The programme's plan/fact report over HTTP: JSON by default, XLSX, printable HTML or PDF (that
HTML printed by WeasyPrint) with ``?format=``. Protected like /api/indicators: any signed-in role
that may read, and only the municipalities of the user's scope (one outside it is refused as an
unknown one). The report deliveries' log likewise (``/reports/deliveries``)."""

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel

from services.auth.roles import Action
from services.auth.store import User
from services.web.security import WebState, reach_of, requires, web_state
from sla.domain.plan_fact import PERIOD_PATTERN, PlanFactReport
from sla.domain.plans import PlansError
from sla.domain.report_mail import recipient_label
from sla.reports.exports import (
    MEDIA_TYPES,
    ReportError,
    collect_report,
    load_plans_file,
    render_report,
)
from sla.storage.deliveries import recent_deliveries


class DeliveryView(BaseModel):
    municipality: str
    month: str
    revision: int
    recipient: Annotated[str, AfterValidator(recipient_label)]  # a webhook without its query
    status: str  # pending, sent, failed (retried later)
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def reports_router(plans_file: Path) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get(
        "/reports/plan-fact",
        response_model=PlanFactReport,
        responses={200: {"content": {MEDIA_TYPES[fmt]: {} for fmt in ("xlsx", "html", "pdf")}}},
    )
    async def plan_fact(
        state: Annotated[WebState, Depends(web_state)],
        user: Annotated[User, Depends(requires(Action.READ))],
        period: Annotated[str, Query(pattern=PERIOD_PATTERN, description="2026, 2026-Q3, …")],
        municipality: str | None = None,
        fmt: Annotated[Literal["json", "xlsx", "html", "pdf"], Query(alias="format")] = "json",
    ) -> PlanFactReport | Response:
        """Отчёт план/факт программы за год, полугодие, квартал или месяц."""
        policy = state.context.policy
        try:
            plans = load_plans_file(plans_file, policy.spec.municipalities)
        except PlansError as error:
            # The file is the server's configuration, not the caller's mistake.
            raise HTTPException(500, str(error)) from error
        async with state.context.db.engine.connect() as connection:
            try:
                report = await collect_report(
                    connection, plans, policy, period, municipality, state.context.clock(),
                    reach_of(user, policy),
                )  # fmt: skip
            except ReportError as error:
                raise HTTPException(422, str(error)) from error
        if fmt == "json":
            return report
        filename = f"plan-fact-{report.period.code}.{fmt}"
        disposition = "inline" if fmt in ("html", "pdf") else "attachment"
        # WeasyPrint lays the pages out on the CPU for a second or so: off the event loop.
        data = await run_in_threadpool(render_report, report, fmt)
        return Response(
            data,
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
        )

    @router.get("/reports/deliveries", response_model=list[DeliveryView])
    async def deliveries(
        state: Annotated[WebState, Depends(web_state)],
        user: Annotated[User, Depends(requires(Action.READ))],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[DeliveryView]:
        """Журнал рассылки отчётов по e-mail: последние письма, новые первыми."""
        reach = reach_of(user, state.context.policy)
        async with state.context.db.engine.connect() as connection:
            found = await recent_deliveries(connection, reach.municipalities, limit)
        return [DeliveryView.model_validate(item, from_attributes=True) for item in found]

    return router
