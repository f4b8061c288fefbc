"""Every endpoint of the web app against every role and every scope: who is refused (401 /
redirect to the sign-in form, or 403), who gets past authorisation, and what a user of the right
role sees of an incident (and its municipality) inside or outside their scope. MATRIX (roles)
and SCOPE (scopes) are written by hand and must name every route the app serves, so a new
endpoint cannot appear without a decision here; the account administration under
ADMIN_PREFIXES is checked by prefix (admins only, no scope)."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any
from unittest.mock import MagicMock

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from kernel.contracts.classification import ClassifiedMessage
from kernel.db.schema import incidents
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.scopes import Scope
from services.auth.store import add_user
from services.web.app import create_app
from services.web.ui.events import ChangeFeed
from sla.domain.report_mail import Recipients
from sla.stage import SlaContext, open_sla
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
    # One's own notification preferences: those the notifier tells (and admins).
    ("GET", "/api/me/notifications"): (MODERATOR, "/api/me/notifications", None),
    ("PUT", "/api/me/notifications"): (
        MODERATOR, "/api/me/notifications", {"email": "me@city.example", "kinds": ["overdue"]},
    ),
    ("GET", "/notifications"): (MODERATOR, "/notifications", None),
    ("GET", "/api/incidents"): (VIEWER, "/api/incidents", None),
    ("GET", "/api/incidents/{incident_id}"): (VIEWER, f"/api/incidents/{ID}", None),
    ("GET", "/api/reply-templates"): (VIEWER, "/api/reply-templates", None),
    ("GET", "/api/indicators"): (VIEWER, f"/api/indicators?{MONTH}", None),
    ("GET", "/api/indicators/region"): (VIEWER, f"/api/indicators/region?{MONTH}", None),
    ("GET", "/api/indicators/drill-down"): (
        VIEWER, f"/api/indicators/drill-down?{MONTH}&municipality=testgrad&measure=assigned", None,
    ),
    ("GET", "/api/reports/plan-fact"): (VIEWER, "/api/reports/plan-fact?period=2026", None),
    ("GET", "/api/reports/deliveries"): (VIEWER, "/api/reports/deliveries", None),
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
    ("POST", "/api/incidents/{incident_id}/notes"): (
        MODERATOR, f"/api/incidents/{ID}/notes", {"text": "заметка для своих"},
    ),
    # To oneself: a moderator may assign no one else (tests/integration/test_teamwork.py).
    ("POST", "/api/incidents/{incident_id}/assign"): (MODERATOR, f"/api/incidents/{ID}/assign", {}),
    ("POST", "/api/incidents/{incident_id}/presence"): (
        VIEWER, f"/api/incidents/{ID}/presence", {"leaving": False},
    ),
    ("POST", "/api/incidents/{incident_id}/reopen"): (
        MODERATOR, f"/api/incidents/{ID}/reopen", {"reason": "снова"},
    ),
    ("POST", "/api/incidents/{incident_id}/restore"): (
        SUPERVISOR, f"/api/incidents/{ID}/restore", {"reason": "это жалоба"},
    ),
    ("POST", "/api/incidents/{incident_id}/reassign"): (
        SUPERVISOR, f"/api/incidents/{ID}/reassign",
        {"municipality": "zarechny", "department": "ЖКХ", "reason": "их"},
    ),
    ("POST", "/api/incidents/bulk"): (
        SUPERVISOR, "/api/incidents/bulk", {"action": "claim", "incident_ids": [ID]},
    ),
    ("GET", "/api/incidents/{incident_id}/deliveries"): (
        VIEWER, f"/api/incidents/{ID}/deliveries", None,
    ),
    ("POST", "/api/incidents/{incident_id}/answers/{answer_event_id}/retry"): (
        MODERATOR, f"/api/incidents/{ID}/answers/{ID}:3/retry", None,
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
# Account administration: admins only and never scoped, by prefix: its routes need no line in
# SCOPE, and one not (yet) in MATRIX is still checked for admins only by
# test_admin_routes_are_for_admins_only.
ADMIN_PREFIXES = ("/api/admin", "/admin")

# The incident of the matrix is testgrad's, department ЖКХ; a neighbour's incident is
# severogorsk's, department «Дороги».
PLACE = "testgrad"
UNSCOPED = "unscoped"  # public, or the user's own (session, reply templates)
ITEM = "item"  # outside: 404 with the body of a missing one; inside: gets past it
LISTING = "listing"  # outside: answers without it; inside: with it
BULK = "bulk"  # outside: that item's error «Инцидент не найден»; inside: any other outcome
STREAM = "stream"  # outside: its change is not announced; inside: it is
# (method, path as routed) -> (rule, what marks the incident or its municipality, a URL of a
# missing one for ITEM: the answer outside must be the same)
SCOPE: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ("GET", "/healthz"): (UNSCOPED, "", None),
    ("GET", "/metrics"): (UNSCOPED, "", None),
    ("POST", "/api/login"): (UNSCOPED, "", None),
    ("GET", "/login"): (UNSCOPED, "", None),
    ("POST", "/login"): (UNSCOPED, "", None),
    ("POST", "/api/logout"): (UNSCOPED, "", None),
    ("POST", "/logout"): (UNSCOPED, "", None),
    ("GET", "/api/me"): (UNSCOPED, "", None),
    ("GET", "/api/me/notifications"): (UNSCOPED, "", None),
    ("PUT", "/api/me/notifications"): (UNSCOPED, "", None),
    ("GET", "/notifications"): (UNSCOPED, "", None),
    ("GET", "/api/reply-templates"): (UNSCOPED, "", None),
    ("GET", "/"): (UNSCOPED, "", None),  # a redirect to /queue
    ("GET", "/api/incidents"): (LISTING, ID, None),
    ("GET", "/api/incidents/{incident_id}"): (ITEM, ID, "/api/incidents/vk:nope"),
    ("GET", "/api/indicators"): (LISTING, PLACE, None),
    ("GET", "/api/indicators/region"): (LISTING, PLACE, None),
    ("GET", "/api/indicators/drill-down"): (
        ITEM, PLACE, f"/api/indicators/drill-down?{MONTH}&municipality=nowhere&measure=assigned",
    ),
    ("GET", "/api/reports/plan-fact"): (LISTING, PLACE, None),
    ("GET", "/api/reports/deliveries"): (LISTING, PLACE, None),
    ("GET", "/queue"): (LISTING, ID, None),
    ("GET", "/queue/results"): (LISTING, ID, None),
    ("GET", "/incidents/{incident_id}"): (ITEM, ID, "/incidents/vk:nope"),
    ("GET", "/indicators"): (LISTING, PLACE, None),
    ("GET", "/indicators/drill-down"): (
        ITEM, PLACE, f"/indicators/drill-down?{MONTH}&municipality=nowhere&measure=assigned",
    ),
    ("GET", "/ui/events"): (STREAM, ID, None),
    ("POST", "/api/incidents/{incident_id}/claim"): (ITEM, ID, "/api/incidents/vk:nope/claim"),
    ("POST", "/api/incidents/{incident_id}/answer"): (ITEM, ID, "/api/incidents/vk:nope/answer"),
    ("POST", "/api/incidents/{incident_id}/reject"): (ITEM, ID, "/api/incidents/vk:nope/reject"),
    ("POST", "/api/incidents/{incident_id}/category"): (
        ITEM, ID, "/api/incidents/vk:nope/category",
    ),
    ("POST", "/api/incidents/{incident_id}/close"): (ITEM, ID, "/api/incidents/vk:nope/close"),
    ("POST", "/api/incidents/{incident_id}/notes"): (ITEM, ID, "/api/incidents/vk:nope/notes"),
    ("POST", "/api/incidents/{incident_id}/assign"): (ITEM, ID, "/api/incidents/vk:nope/assign"),
    ("POST", "/api/incidents/{incident_id}/presence"): (
        ITEM, ID, "/api/incidents/vk:nope/presence",
    ),
    ("POST", "/api/incidents/{incident_id}/reopen"): (ITEM, ID, "/api/incidents/vk:nope/reopen"),
    ("POST", "/api/incidents/{incident_id}/restore"): (
        ITEM, ID, "/api/incidents/vk:nope/restore",
    ),
    ("POST", "/api/incidents/{incident_id}/reassign"): (
        ITEM, ID, "/api/incidents/vk:nope/reassign",
    ),
    ("GET", "/api/incidents/{incident_id}/deliveries"): (
        ITEM, ID, "/api/incidents/vk:nope/deliveries",
    ),
    ("POST", "/api/incidents/{incident_id}/answers/{answer_event_id}/retry"): (
        ITEM, ID, "/api/incidents/vk:nope/answers/vk:nope:3/retry",
    ),
    ("POST", "/api/incidents/bulk"): (BULK, ID, None),
}  # fmt: skip
# name -> (the scope, whether it covers the matrix's incident, and its municipality: the
# indicators have no department, so a department-limited user sees those of testgrad)
SCOPES: dict[str, tuple[Scope, bool, bool]] = {
    "everything": (Scope(), True, True),
    # zarechny too: the reassignment of the matrix goes there
    "own": (Scope(municipalities=frozenset({PLACE, "zarechny"})), True, True),
    "own-department": (
        Scope(municipalities=frozenset({PLACE, "zarechny"}), departments=frozenset({"ЖКХ"})),
        True, True,
    ),
    "neighbour": (Scope(municipalities=frozenset({"severogorsk"})), False, False),
    "region": (Scope(regions=frozenset({"demo"})), False, False),  # severogorsk and zarechny
    "other-department": (Scope(departments=frozenset({"Дороги"})), False, True),
}  # fmt: skip


def admin_only(path: str) -> bool:
    return path.startswith(ADMIN_PREFIXES)


def served_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield from ((method, route.path) for method in route.methods or set())
        elif type(route).__name__ == "_IncludedRouter":  # FastAPI's lazily included routers
            for context in route.effective_candidates():  # type: ignore[attr-defined]
                yield from ((method, context.path) for method in (context.methods or set()))


def app_routes() -> set[tuple[str, str]]:
    served = {pair for pair in served_routes(create_app(MagicMock(), Settings()))}
    served -= {("GET", p) for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")}
    return {(m, p) for m, p in served if m != "HEAD"}


def test_the_matrix_names_every_route() -> None:
    served = app_routes()
    assert set(MATRIX) <= served  # nothing stale
    assert {route for route in served if not admin_only(route[1])} <= set(MATRIX)


def test_every_route_has_a_scope_rule() -> None:
    assert {route for route in app_routes() if not admin_only(route[1])} == set(SCOPE)


@dataclass
class Web:
    client: httpx.AsyncClient
    app: FastAPI
    context: SlaContext
    incident_id: str  # testgrad's, ЖКХ
    neighbours: str  # severogorsk's, «Дороги»


def neighbour_message() -> ClassifiedMessage:
    """An incident of severogorsk's roads department, with a text of its own."""
    message = raw_message(2, text="Яма на мосту в Северогорске").model_copy(
        update={"municipality": "severogorsk"}
    )
    found = classified(message)
    assert found.decision is not None
    decision = found.decision.model_copy(update={"category": "roads", "department": "Дороги"})
    return found.model_copy(update={"decision": decision})


def login_of(role: Role, scope: str | None = None) -> str:
    return role.value if scope is None else f"{role.value}-{scope}"


@pytest.fixture
async def web(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[Web]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for role in Role:
            await add_user(
                connection, login=role.value, password=PASSWORD, role=role, display_name=role
            )
    await context.service.on_classified(classified(raw_message(1)))
    await context.service.on_classified(neighbour_message())
    # The indicators of 2026-09 and the report e-mails of their close, for the scope checks.
    context.aggregator.recipients = Recipients(
        {PLACE: ("pr@testgrad.example",), "severogorsk": ("pr@north.example",)}
    )
    await context.aggregator.run_once()
    async with context.db.engine.connect() as connection:
        found = dict((await connection.execute(
            select(incidents.c.municipality, incidents.c.incident_id)
        )).all())  # fmt: skip
    app = create_app(context, settings)
    app.state.otklik_feed = ChangeFeed(context.db, context.clock, interval=0.2)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield Web(client, app, context, found[PLACE], found["severogorsk"])
    await context.db.close()


async def signed_in(client: httpx.AsyncClient, login: str | None) -> dict[str, str]:
    """Bearer headers of a fresh session of ``login`` (nothing for a stranger)."""
    client.cookies.clear()
    if login is None:
        return {}
    response = await client.post("/api/login", json={"login": login, "password": PASSWORD})
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
    web: Web, role: Role | None
) -> None:
    client, incident_id = web.client, web.incident_id
    wrong: list[str] = []
    for (method, path), (who, url, body) in MATRIX.items():
        headers = await signed_in(client, role and role.value)
        status = await status_of(
            client, method, url.replace(ID, incident_id), headers=headers, json=body
        )
        refused = status in {401, 403} or (status == 303 and role is None)
        if refused == allowed(who, role):
            wrong.append(f"{method} {path}: {status}")
    assert wrong == [], wrong


def _same_page(text: str, marker: str) -> str:
    """An answer with the asked id replaced and the per-request parts of a page left out."""
    text = re.sub(r'<meta name="(server-time|csrf-token)"[^>]*>', "", text)
    return text.replace(marker, "ID")


async def announced(
    app: FastAPI, context: SlaContext, headers: dict[str, str], *incident_ids: str
) -> str:
    """What /ui/events sends a user when ``incident_ids`` change together: up to the first
    announcement, or nothing after 3 s. Driven as raw ASGI: httpx's ASGI transport returns only
    once a response ends, and a stream does not."""
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            await chunks.put(message.get("body", b""))

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/ui/events", "raw_path": b"/ui/events", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    task = asyncio.create_task(app(scope, receive, send))
    seen = ""
    try:
        async with asyncio.timeout(10):
            while "event: ready" not in seen:
                seen += (await chunks.get()).decode()
        await touch(context, *incident_ids)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):  # one announcement: all changed in one statement
                while "event: incidents" not in seen:
                    seen += (await chunks.get()).decode()
    finally:
        gone.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return seen


async def touch(context: SlaContext, *incident_ids: str) -> None:
    async with context.db.transaction() as connection:
        await connection.execute(
            update(incidents)
            .where(incidents.c.incident_id.in_(incident_ids))
            .values(updated_at=context.clock())
        )


async def scope_check(
    web: Web, rule: str, marker: str, missing: str | None, inside: bool,
    call: Callable[[str], Awaitable[httpx.Response]], url: str, headers: dict[str, str],
) -> str | None:  # fmt: skip
    """What is wrong with the answer of a route under its scope rule (None: nothing)."""
    mark = marker.replace(ID, web.incident_id)
    if rule == STREAM:
        seen = await announced(web.app, web.context, headers, web.incident_id, web.neighbours)
        return None if (mark in seen) == inside else f"{mark} announced: {not inside}"
    answer = await call(url)
    if rule == ITEM and not inside:
        assert missing is not None
        other = await call(missing)
        gone = marker.replace(ID, "vk:nope").replace(PLACE, "nowhere")
        if (answer.status_code, _same_page(answer.text, mark)) != (
            404, _same_page(other.text, gone)
        ):  # fmt: skip
            return f"{answer.status_code} {answer.text[:200]} unlike {other.text[:200]}"
        return None
    if rule == ITEM:
        return None if answer.status_code not in {401, 403, 404} else f"{answer.status_code}"
    if rule == BULK:
        refused = answer.json()[0]["error"] == "Инцидент не найден"
        return None if refused != inside else answer.text[:200]
    if answer.status_code != 200:
        return f"{answer.status_code} {answer.text[:200]}"
    return None if (mark in answer.text) == inside else f"{mark} shown: {not inside}"


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_every_endpoint_keeps_to_the_scope(web: Web, role: Role, scope: str) -> None:
    """A user of ``role`` and ``scope``: refused by role exactly as in MATRIX; where the role
    passes, the route follows its SCOPE rule for the testgrad incident (ЖКХ)."""
    given, covers_incident, covers_place = SCOPES[scope]
    async with web.context.db.transaction() as connection:  # one user: each costs an Argon2 hash
        await add_user(
            connection, login=login_of(role, scope), password=PASSWORD, role=role,
            display_name=scope, scope=given,
        )  # fmt: skip
    wrong: list[str] = []
    headers = await signed_in(web.client, login_of(role, scope))
    for (method, path), (who, url, body) in MATRIX.items():
        rule, marker, missing = (UNSCOPED, "", None) if admin_only(path) else SCOPE[(method, path)]
        if "logout" in path:  # ends the session it is called with: a fresh one of its own
            await web.client.post(path, headers=await signed_in(web.client, login_of(role, scope)))
            continue
        if not allowed(who, role) or rule == UNSCOPED:
            status = await status_of(web.client, method, url, headers=headers, json=body)
            if (status in {401, 403}) == allowed(who, role):
                wrong.append(f"{method} {path}: {status}")
            continue

        async def call(target: str, method: str = method, body: Any = body) -> httpx.Response:
            if body is not None and ID in str(body):
                body = {**body, "incident_ids": [web.incident_id]}
            target = target.replace(ID, web.incident_id)
            return await web.client.request(method, target, headers=headers, json=body)

        inside = covers_place if marker == PLACE else covers_incident
        problem = await scope_check(web, rule, marker, missing, inside, call, url, headers)
        if problem is not None:
            wrong.append(f"{method} {path}: {problem}")
    assert wrong == [], wrong


async def test_admin_routes_are_for_admins_only(web: Web) -> None:
    """Whatever the account administration serves under ADMIN_PREFIXES refuses every other role
    (what admins get: the routes' own tests)."""
    wrong = []
    for role in (None, VIEWER, MODERATOR, SUPERVISOR):
        for method, path in sorted(app_routes()):
            if not admin_only(path):
                continue
            headers = await signed_in(web.client, role and role.value)
            url = re.sub(r"\{[^}]+\}", "x", path)
            status = await status_of(web.client, method, url, headers=headers, json={})
            if status not in ({401, 303} if role is None else {403}):
                wrong.append(f"{role} {method} {path}: {status}")
    assert wrong == [], wrong
