"""HTTP API of the moderator queue (JSON, OpenAPI at /docs) plus /metrics and /healthz.

Views translate HTTP to service calls and nothing else.
"""

from typing import Any

from fastapi import FastAPI, HTTPException, Query
from prometheus_client import make_asgi_app
from pydantic import BaseModel, Field

from services.contracts.indicators import IndicatorRecord
from services.observability import Metrics
from sla.aggregation import current_records
from sla.domain import Answer, IllegalTransitionError
from sla.main import SlaContext
from sla.queue import QueueFilter, incident_detail, list_incidents
from sla.service import IncidentNotFoundError


class AnswerRequest(BaseModel):
    actor: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)
    final: bool = True


class QueuePage(BaseModel):
    total: int
    items: list[dict[str, Any]]


def create_app(context: SlaContext, metrics: Metrics) -> FastAPI:
    app = FastAPI(title="otklik — очередь модератора", version="1")
    app.mount("/metrics", make_asgi_app(registry=metrics.registry))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/incidents", response_model=QueuePage)
    async def incidents(
        status: str | None = None,
        municipality: str | None = None,
        department: str | None = None,
        category: str | None = None,
        limit: int = Query(default=50, ge=1, le=500),
        offset: int = Query(default=0, ge=0),
    ) -> QueuePage:
        flt = QueueFilter(status, municipality, department, category, True, limit, offset)
        async with context.db.engine.connect() as connection:
            total, items = await list_incidents(connection, flt)
        return QueuePage(total=total, items=items)

    @app.get("/api/incidents/{incident_id}")
    async def incident(incident_id: str) -> dict[str, Any]:
        async with context.db.engine.connect() as connection:
            detail = await incident_detail(connection, incident_id)
        if detail is None:
            raise HTTPException(404, "Инцидент не найден")
        return detail

    @app.post("/api/incidents/{incident_id}/answer")
    async def answer(incident_id: str, request: AnswerRequest) -> dict[str, str]:
        try:
            updated = await context.service.act(
                incident_id, Answer(request.actor, request.text, request.final)
            )
        except IncidentNotFoundError as missing:
            raise HTTPException(404, "Инцидент не найден") from missing
        except IllegalTransitionError as refused:
            raise HTTPException(409, str(refused)) from refused
        return {"incident_id": updated.incident_id, "status": updated.status.value}

    @app.get("/api/indicators", response_model=list[IndicatorRecord])
    async def indicators(
        month: str = Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"), municipality: str | None = None
    ) -> list[IndicatorRecord]:
        async with context.db.engine.connect() as connection:
            return await current_records(connection, month, municipality)

    return app
