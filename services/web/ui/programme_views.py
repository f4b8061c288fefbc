"""The programme team's pages: the period's plan/fact per municipality with the year's months
and charts, and the drill-down list behind each number. Exports link to /api/reports/plan-fact.
Both show only the municipalities of the reader's scope; one outside it is «не найден», as an
unknown one. The programme page also lists the latest report deliveries (e-mails, webhooks) of
those municipalities."""

import re
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from services.web.security import WebState, reach_of, web_state
from services.web.ui import queries
from services.web.ui.labels import MEASURES
from services.web.ui.pages import PageSession, error_page, page_session, render
from services.web.ui.policy_text import basis
from sla.domain.plan_fact import MONTH_PATTERN, PERIOD_PATTERN
from sla.domain.plans import PlansError
from sla.domain.report_mail import recipient_label
from sla.reports.exports import ReportError
from sla.reports.indicator_views import NoRevisionError, UnknownIdError
from sla.storage.deliveries import recent_deliveries
from sla.storage.drilldown import Measure

State = Annotated[WebState, Depends(web_state)]
Session = Annotated[PageSession, Depends(page_session)]
MONTH = re.compile(MONTH_PATTERN)
DELIVERIES_SHOWN = 10


def programme_router(plans_file: Path) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/indicators")
    async def indicators_page(
        state: State, session: Session, period: str | None = None, municipality: str | None = None
    ) -> HTMLResponse:
        chosen = (
            period or await queries.latest_month(state.context) or f"{state.context.clock():%Y}"
        )
        if not re.fullmatch(PERIOD_PATTERN, chosen):
            hint = "Укажите год (2026), полугодие (2026-H2), квартал (2026-Q3) или месяц (2026-09)."
            return error_page(session, 422, f"Период «{chosen}» не распознан", hint)
        municipality = municipality or None
        reach = reach_of(session.user, state.context.policy)
        try:
            view = await queries.overview(
                state.context, plans_file, chosen, municipality, state.context.clock(), reach
            )
        except PlansError as error:
            hint = f"{error}. Сообщите администратору: файл планов задаётся OTKLIK_PLANS_FILE."
            return error_page(session, 500, "Отчёт не построен", hint)
        except ReportError as error:  # the period passed the pattern: an unknown municipality
            hint = "Выберите муниципалитет из списка на странице показателей."
            return error_page(session, 404, _sentence(str(error)), hint)
        async with state.context.db.engine.connect() as connection:
            deliveries = await recent_deliveries(connection, reach.municipalities, DELIVERIES_SHOWN)
        return render(
            "indicators.html", session, active="indicators", view=view, period=chosen,
            municipality=municipality or "", options=queries.options(state.context, reach),
            names=queries.municipality_names(state.context.policy), deliveries=deliveries,
            recipient_label=recipient_label,
        )  # fmt: skip

    @router.get("/indicators/drill-down")
    async def drill_down_page(
        state: State, session: Session, month: str, municipality: str, measure: str
    ) -> HTMLResponse:
        if not MONTH.fullmatch(month) or measure not in MEASURES:
            hint = "Откройте расшифровку по ссылке из таблицы показателей."
            return error_page(session, 422, "Неверная ссылка на расшифровку", hint)
        try:
            reach = reach_of(session.user, state.context.policy)
            record, rows = await queries.drill_down(
                state.context, month, municipality, Measure(measure), reach
            )
        except UnknownIdError as error:
            hint = "Откройте расшифровку по ссылке из таблицы показателей."
            return error_page(session, 404, _sentence(str(error)), hint)
        except NoRevisionError as error:
            hint = "Числа появятся, когда агрегатор запишет ревизию месяца."
            return error_page(session, 404, _sentence(str(error)), hint)
        names = queries.municipality_names(state.context.policy)
        return render(
            "drilldown.html", session, active="indicators", record=record, rows=rows,
            month=month, municipality=municipality, measure=measure,
            name=names.get(municipality, municipality),
            zone=state.context.policy.timezone(municipality),
            basis=partial(basis, state.context.policy),
        )  # fmt: skip

    return router


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]
