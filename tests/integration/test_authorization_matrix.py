"""Every endpoint of the web app against every role: who is refused (401 / redirect to the
sign-in form, or 403) and who gets past authorisation. The matrix is written by hand and must
name every route the app serves, so a new endpoint cannot appear without a decision here."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest.mock import MagicMock

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from kernel.db.schema import incidents
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from sla.stage import open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
PUBLIC = "public"
VIEWER, MODERATOR, SUPERVISOR = Role.VIEWER, Role.MODERATOR, Role.SUPERVISOR
RANK = {None: 0, Role.VIEWER: 1, Role.MODERATOR: 2, Role.SUPERVISOR: 3, Role.ADMIN: 4}
ID = "inc-0"  # an incident id is filled in at run time
MONTH = "month=2026-09"

# (method, path as routed) -> (who may pass, a concrete URL, a JSON body)
MATRIX: dict[tuple[str, str], tuple[object, str, dict[str, Any] | None]] = {
    ("GET", "/healthz"): (PUBLIC, "/healthz", None),
    ("GET", "/metrics"): (PUBLIC, "/metrics", None),
    ("POST", "/api/login"): (PUBLIC, "/api/login", {"login": "viewer", "password": PASSWORD}),
    ("GET", "/login"): (PUBLIC, "/login", None),
    ("POST", "/login"): (PUBLIC, "/login", None),  # its CSRF rule: tests/integration/test_web_ui.py
    # Signing out without a session is a harmless no-op, so it is open to anyone.
    ("POST", "/api/logout"): (PUBLIC, "/api/logout", None),
    ("POST", "/logout"): (PUBLIC, "/logout", None),
    ("GET", "/api/me"): (VIEWER, "/api/me", None),
    ("GET", "/api/incidents"): (VIEWER, "/api/incidents", None),
    ("GET", "/api/incidents/{incident_id}"): (VIEWER, f"/api/incidents/{ID}", None),
    ("GET", "/api/reply-templates"): (VIEWER, "/api/reply-templates", None),
    ("GET", "/api/indicators"): (VIEWER, f"/api/indicators?{MONTH}", None),
    ("GET", "/api/indicators/region"): (VIEWER, f"/api/indicators/region?{MONTH}", None),
    ("GET", "/api/indicators/drill-down"): (
        VIEWER, f"/api/indicators/drill-down?{MONTH}&municipality=testgrad&measure=assigned", None,
    ),
    ("GET", "/api/reports/plan-fact"): (VIEWER, "/api/reports/plan-fact?period=2026", None),
    ("GET", "/"): (VIEWER, "/", None),
    ("GET", "/queue"): (VIEWER, "/queue", None),
    ("GET", "/queue/results"): (VIEWER, "/queue/results", None),
    ("GET", "/incidents/{incident_id}"): (VIEWER, f"/incidents/{ID}", None),
    ("GET", "/indicators"): (VIEWER, "/indicators", None),
    ("GET", "/indicators/drill-down"): (
        VIEWER, f"/indicators/drill-down?{MONTH}&municipality=testgrad&measure=assigned", None,
    ),
    ("GET", "/ui/events"): (VIEWER, "/ui/events", None),
    ("POST", "/api/incidents/{incident_id}/claim"): (MODERATOR, f"/api/incidents/{ID}/claim", None),
    ("POST", "/api/incidents/{incident_id}/answer"): (
        MODERATOR, f"/api/incidents/{ID}/answer", {"text": "Ответ", "final": False},
    ),
    ("POST", "/api/incidents/{incident_id}/reject"): (
        MODERATOR, f"/api/incidents/{ID}/reject", {"reason": "не инцидент"},
    ),
    ("POST", "/api/incidents/{incident_id}/category"): (
        MODERATOR, f"/api/incidents/{ID}/category", {"category": "roads"},
    ),
    ("POST", "/api/incidents/{incident_id}/close"): (MODERATOR, f"/api/incidents/{ID}/close", None),
    ("POST", "/api/incidents/{incident_id}/reopen"): (
        MODERATOR, f"/api/incidents/{ID}/reopen", {"reason": "снова"},
    ),
    ("POST", "/api/incidents/{incident_id}/reassign"): (
        SUPERVISOR, f"/api/incidents/{ID}/reassign", {"municipality": "zarechny", "reason": "их"},
    ),
    ("POST", "/api/incidents/bulk"): (
        SUPERVISOR, "/api/incidents/bulk", {"action": "claim", "incident_ids": [ID]},
    ),
    # Account administration: admins only. The changes name a user who does not exist (404
    # once past authorisation), so no run changes the users the matrix signs in as.
    ("GET", "/admin/users"): (Role.ADMIN, "/admin/users", None),
    ("GET", "/api/admin/users"): (Role.ADMIN, "/api/admin/users", None),
    ("GET", "/api/admin/audit"): (Role.ADMIN, "/api/admin/audit", None),
    ("POST", "/api/admin/users"): (
        Role.ADMIN, "/api/admin/users", {"login": "matrix-new", "password": PASSWORD},
    ),
    ("POST", "/api/admin/users/{login}/disable"): (
        Role.ADMIN, "/api/admin/users/nobody/disable", None,
    ),
    ("POST", "/api/admin/users/{login}/enable"): (
        Role.ADMIN, "/api/admin/users/nobody/enable", None,
    ),
    ("POST", "/api/admin/users/{login}/password"): (
        Role.ADMIN, "/api/admin/users/nobody/password", {"password": PASSWORD},
    ),
    ("POST", "/api/admin/users/{login}/role"): (
        Role.ADMIN, "/api/admin/users/nobody/role", {"role": "viewer"},
    ),
    ("POST", "/api/admin/users/{login}/scope"): (Role.ADMIN, "/api/admin/users/nobody/scope", {}),
    ("POST", "/api/admin/users/{login}/logout"): (
        Role.ADMIN, "/api/admin/users/nobody/logout", None,
    ),
}  # fmt: skip
ROLES = [None, *Role]


def served_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield from ((method, route.path) for method in route.methods or set())
        elif type(route).__name__ == "_IncludedRouter":  # FastAPI's lazily included routers
            for context in route.effective_candidates():  # type: ignore[attr-defined]
                yield from ((method, context.path) for method in (context.methods or set()))


def test_the_matrix_names_every_route() -> None:
    served = {pair for pair in served_routes(create_app(MagicMock(), Settings()))}
    served -= {("GET", p) for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")}
    served = {(m, p) for m, p in served if m != "HEAD"}
    assert served == set(MATRIX)


@pytest.fixture
async def web(
    settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for role in Role:
            await add_user(
                connection, login=role.value, password=PASSWORD, role=role, display_name=role
            )
    await context.service.on_classified(classified(raw_message(1)))
    async with context.db.engine.connect() as connection:
        incident_id = str(await connection.scalar(select(incidents.c.incident_id)))
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, incident_id
    await context.db.close()


async def signed_in(client: httpx.AsyncClient, role: Role | None) -> dict[str, str]:
    """Bearer headers of a fresh session of ``role`` (nothing for a stranger)."""
    client.cookies.clear()
    if role is None:
        return {}
    response = await client.post("/api/login", json={"login": role.value, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def allowed(who: object, role: Role | None) -> bool:
    if who == PUBLIC:
        return True
    return RANK[role] >= RANK[who]  # type: ignore[index]


async def status_of(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> int:
    """The status, or 200 for a live event stream that started (it never ends by itself)."""
    try:
        async with asyncio.timeout(3):
            return (await client.request(method, url, **kwargs)).status_code
    except TimeoutError:
        return 200


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "stranger")
async def test_every_endpoint_refuses_exactly_the_roles_it_should(
    web: tuple[httpx.AsyncClient, str], role: Role | None
) -> None:
    client, incident_id = web
    wrong: list[str] = []
    for (method, path), (who, url, body) in MATRIX.items():
        headers = await signed_in(client, role)
        status = await status_of(
            client, method, url.replace(ID, incident_id), headers=headers, json=body
        )
        refused = status in {401, 403} or (status == 303 and role is None)
        if refused == allowed(who, role):
            wrong.append(f"{method} {path}: {status}")
    assert wrong == [], wrong
