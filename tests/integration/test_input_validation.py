"""What an outside audit sent the web API and got a 500 for, now a clear 422 (one shape,
``{"detail": "<Russian text>"}``), on the real app and PostgreSQL: a NUL in any string
parameter or body field (the login name too, before sign-in), an unpaired surrogate in bulk ids,
an offset or revision past PostgreSQL's integers, the month 0000-01, a control character in a
municipality with format=xlsx. And ``GET /api/incidents/bulk`` is 405, not an incident «bulk»."""

import json
from typing import Any

import httpx
import pytest

from services.auth.roles import Role
from tests.web_api import WebApi, web_api_fixture  # noqa: F401

pytestmark = pytest.mark.integration
ID = "{id}"  # an incident id, filled in at run time
MONTH = "month=2026-09"

# (who, method, URL, JSON body or raw bytes) -> the answer must be 422 with a string detail.
BAD: list[tuple[Role | None, str, str, Any]] = [
    (Role.VIEWER, "GET", "/api/incidents?municipality=a%00b", None),
    (Role.VIEWER, "GET", "/api/incidents?status=new&source=%00", None),
    (Role.VIEWER, "GET", "/api/incidents/a%00b", None),
    (Role.VIEWER, "GET", "/api/incidents?offset=9223372036854775808", None),
    (Role.VIEWER, "GET", "/api/incidents?offset=-1", None),
    (Role.VIEWER, "GET", "/api/indicators?month=0000-01", None),
    (Role.VIEWER, "GET", "/api/indicators?month=9999-12", None),
    (Role.VIEWER, "GET", "/api/indicators/region?month=0000-01", None),
    (Role.VIEWER, "GET", f"/api/indicators?{MONTH}&municipality=testgrad&revision=2147483648",
     None),
    (Role.VIEWER, "GET", f"/api/indicators/drill-down?{MONTH}&municipality=a%00&measure=assigned",
     None),
    (Role.VIEWER, "GET", "/api/reports/plan-fact?period=2026&municipality=a%01b&format=xlsx", None),
    (Role.MODERATOR, "POST", f"/api/incidents/{ID}/answer", {"text": "a\x00b"}),
    (Role.MODERATOR, "POST", f"/api/incidents/{ID}/reject", {"reason": "\x00"}),
    (Role.MODERATOR, "POST", f"/api/incidents/{ID}/category", {"category": "roads\x00"}),
    (Role.SUPERVISOR, "POST", "/api/incidents/bulk",
     b'{"action": "claim", "incident_ids": ["\\ud800"]}'),
    (Role.SUPERVISOR, "POST", "/api/incidents/bulk",
     {"action": "reassign", "incident_ids": [ID], "municipality": "x\x00", "reason": "r"}),
    (Role.ADMIN, "POST", "/api/admin/users", {"login": "new\x00", "password": "long enough 1"}),
    (Role.ADMIN, "POST", "/api/admin/users/a%00/disable", None),
    (None, "POST", "/api/login", {"login": "viewer\x00", "password": "x"}),
    (None, "POST", "/api/login", {"login": "viewer", "password": "\ud800"}),
]  # fmt: skip


def request_of(url: str, body: Any, incident_id: str) -> dict[str, Any]:
    """The request's arguments for httpx: a dict body as ASCII JSON (a lone surrogate as
    ``\\ud800``, as a browser's JSON.stringify sends it)."""
    url = url.replace(ID, incident_id)
    if isinstance(body, dict):
        body = {k: [incident_id] if v == [ID] else v for k, v in body.items()}
        body = json.dumps(body).encode()
    if body is None:
        return {"url": url}
    return {"url": url, "content": body, "headers": {"content-type": "application/json"}}


async def test_bad_input_is_a_422_with_a_russian_detail_on_every_route(web_api: WebApi) -> None:
    headers = {role: await web_api.bearer(role) for role in Role}
    wrong = []
    transport = httpx.ASGITransport(app=web_api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for role, method, url, body in BAD:
            request = request_of(url, body, web_api.incident_ids[0])
            given = {**request.pop("headers", {}), **(headers[role] if role else {})}
            answer = await client.request(method, headers=given, **request)
            detail = answer.json().get("detail") if answer.status_code == 422 else None
            if not (isinstance(detail, str) and detail.startswith(("Недопустимый", "Неверный"))):
                wrong.append(f"{method} {url}: {answer.status_code} {answer.text[:200]}")
    assert wrong == [], "\n".join(wrong)


async def test_the_login_form_refuses_a_nul_in_the_login_before_sign_in(web_api: WebApi) -> None:
    async with web_api.client() as client:
        client.cookies.set("otklik_login_csrf", "t", path="/login")
        answer = await client.post(
            "/login", data={"login": "viewer\x00", "password": "x", "csrf_token": "t"}
        )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("Недопустимый символ U+0000 в поле формы «login»")


async def test_good_input_still_goes_through(web_api: WebApi) -> None:
    """The guard reads the body and hands it on: the next good request is answered as before,
    tabs and line breaks included."""
    headers = await web_api.bearer(Role.MODERATOR)
    async with web_api.client() as client:
        answer = await client.post(
            f"/api/incidents/{web_api.incident_ids[0]}/answer",
            json={"text": "Ответ:\tямы\r\nзасыпаны", "final": False},
            headers=headers,
        )
        page = await client.get("/api/incidents?offset=1000000000&limit=500", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "answered"
    assert page.status_code == 200 and page.json()["items"] == []


async def test_get_on_the_bulk_route_is_405_not_an_incident_named_bulk(web_api: WebApi) -> None:
    headers = await web_api.bearer(Role.SUPERVISOR)
    async with web_api.client() as client:
        answer = await client.get("/api/incidents/bulk", headers=headers)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert "POST" in answer.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/indicators?period=0000",
        "/indicators?period=9999-12",
        "/indicators/drill-down?month=0000-01&municipality=testgrad&measure=assigned",
        "/api/reports/plan-fact?period=0000-01&format=xlsx",
        "/api/reports/plan-fact?period=9999",
    ],
)
async def test_a_period_or_month_without_dates_is_422_on_pages_and_reports(
    web_api: WebApi, url: str
) -> None:
    """Year 0000 has no dates, and 9999-12 no next month: the pages were 500s, the reports of
    year 0 a nonsense 200. Years 1900-2999 are accepted (sla/domain/plan_fact.py)."""
    token = (await web_api.bearer(Role.VIEWER))["Authorization"].removeprefix("Bearer ")
    transport = httpx.ASGITransport(app=web_api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        client.cookies.set("otklik_session", token)
        answer = await client.get(url)
    assert answer.status_code == 422, answer.text[:300]
