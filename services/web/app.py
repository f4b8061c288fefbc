"""The web app of otklik: moderator queue API (JSON, OpenAPI at /docs), indicators,
/metrics and /healthz. Routers live in api_*.py; this module only assembles them."""

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kernel.http_limits import BodyLimit
from kernel.settings import Settings
from services.auth.directory import Directory
from services.bundled import default_plans_file
from services.web import (
    api_admin,
    api_auth,
    api_incidents,
    api_indicators,
    api_notifications,
    api_reply_templates,
    api_schema,
    api_teamwork,
    ui,
    validation,
)
from services.web.api_reports import reports_router
from services.web.security import WebState, web_state
from services.web.templates_store import load_reply_templates
from sla.stage import SlaContext


def create_app(context: SlaContext, settings: Settings, *, serve_metrics: bool = True) -> FastAPI:
    """``serve_metrics``: /metrics on this app's port. `otklik web` serves it on a port of its
    own instead (services/web/serve.py); the embedded demo and the tests keep it here."""
    app = _new_app(settings.api_docs)
    validation.install(app)  # 422 for NUL and the like; inside the body limit below
    api_schema.describe(app)  # security, error answers: /openapi.json as the app behaves
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.state.otklik = WebState(
        context=context,
        claim_lock=timedelta(minutes=settings.claim_lock_minutes),
        session_lifetime=timedelta(hours=settings.session_hours),
        secure_cookie=settings.secure_cookies == "true",  # per request: signin.secure_cookie
        templates=load_reply_templates(settings.reply_templates_file),
    )
    app.state.secure_cookies = settings.secure_cookies  # read by services/web/signin.py
    app.state.directory = Directory.from_settings(
        settings, context.policy
    )  # None: local accounts only
    app.include_router(api_incidents.router)
    app.include_router(api_teamwork.router)
    app.include_router(api_auth.router)
    app.include_router(api_indicators.router)
    app.include_router(api_admin.router)
    app.include_router(api_reply_templates.router)
    app.include_router(api_notifications.router)
    app.include_router(reports_router(default_plans_file(settings)))
    app.add_api_route("/healthz", healthz)
    if serve_metrics:
        app.add_api_route("/metrics", metrics)
    ui.install(app, settings)  # the pages (services/web/ui), after the API routes
    return app


def _new_app(api_docs: bool) -> FastAPI:
    """/docs and /redoc from the Swagger UI and ReDoc assets of the fastapi-offline wheel
    (FastAPI's own pages load them from a CDN, so they fail offline), or, with
    OTKLIK_API_DOCS=false, no description of the API at all (no /openapi.json either)."""
    title, version = "otklik — очередь модератора", "1"
    if api_docs:
        return FastAPIOffline(title=title, version=version)
    return FastAPI(title=title, version=version, docs_url=None, redoc_url=None, openapi_url=None)


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def metrics(state: Annotated[WebState, Depends(web_state)]) -> Response:
    body = generate_latest(state.context.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
