"""The admin page and /api/admin (real PostgreSQL, the app over httpx): an admin runs the
accounts — each change that must ends the user's sessions at once and is in the audit log shown
on the page —; anyone else is refused."""

from collections.abc import AsyncIterator

import httpx
import pytest

from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from services.web.csrf import session_csrf_token
from sla.stage import open_sla
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


@pytest.fixture
async def client(
    settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for login, role in (("root", Role.ADMIN), ("mod", Role.MODERATOR)):
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login
            )
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client
    await context.db.close()


async def bearer(client: httpx.AsyncClient, login: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return str(response.json()["token"])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def works(client: httpx.AsyncClient, token: str) -> bool:
    return (await client.get("/api/me", headers=auth(token))).status_code == 200


async def test_an_admin_runs_the_accounts_and_each_change_ends_sessions_at_once(
    client: httpx.AsyncClient,
) -> None:
    admin = auth(await bearer(client, "root"))
    new = {
        "login": "olga", "password": PASSWORD, "role": "moderator", "display_name": "Ольга",
        "scope": {"municipalities": ["zarechny"], "departments": ["ЖКХ"]},
    }  # fmt: skip
    response = await client.post("/api/admin/users", json=new, headers=admin)
    assert response.status_code == 201, response.text
    again = await client.post("/api/admin/users", json=new, headers=admin)
    assert (again.status_code, again.json()["detail"]) == (409, "Пользователь olga уже существует")

    steps = [
        ("disable", None),
        ("password", {"password": "a brand new password"}),
        ("role", {"role": "supervisor"}),
        ("scope", {"regions": ["demo"]}),
        ("logout", None),
    ]
    password = PASSWORD
    for step, body in steps:
        token = await bearer(client, "olga", password)
        assert await works(client, token)
        response = await client.post(f"/api/admin/users/olga/{step}", json=body, headers=admin)
        assert response.status_code == 200, (step, response.text)
        if step == "password":
            password = "a brand new password"
        assert not await works(client, token), step
        if step == "disable":
            refused = await client.post("/api/login", json={"login": "olga", "password": password})
            assert refused.status_code == 401
            enabled = await client.post("/api/admin/users/olga/enable", headers=admin)
            assert enabled.json() == {"login": "olga", "changed": True, "sessions_ended": None}
            assert not await works(client, token)  # signing in again is allowed, not the old one
    assert await works(client, await bearer(client, "olga", password))

    listed = (await client.get("/api/admin/users", headers=admin)).json()["users"]
    olga = next(user for user in listed if user["login"] == "olga")
    assert olga["role"] == "supervisor" and olga["scope"] == {"regions": ["demo"]}
    assert (olga["disabled"], olga["origin"], olga["sessions"]) == (False, "local", 1)

    entries = (await client.get("/api/admin/audit", headers=admin)).json()["entries"]
    assert [e["action"] for e in reversed(entries)] == [
        "add", "disable", "enable", "set-password", "set-role", "set-scope", "logout",
    ]  # fmt: skip
    assert {(e["actor"], e["target"]) for e in entries} == {("root", "olga")}
    assert "a brand new password" not in str(entries) and PASSWORD not in str(entries)


async def test_refusals_say_why(client: httpx.AsyncClient) -> None:
    admin = auth(await bearer(client, "root"))
    for url, body, status, detail in (
        ("/api/admin/users/root/disable", None, 409, "последний действующий администратор"),
        ("/api/admin/users/root/role", {"role": "viewer"}, 409, "Нельзя понизить роль root"),
        ("/api/admin/users/nobody/disable", None, 404, "Пользователя nobody нет"),
        ("/api/admin/users/mod/scope", {"municipalities": ["atlantis"]}, 422, "«atlantis»"),
        ("/api/admin/users/mod/password", {"password": "short"}, 422, "не короче 10"),
    ):
        response = await client.post(url, json=body, headers=admin)
        assert response.status_code == status, (url, response.text)
        assert detail in response.json()["detail"], (url, response.text)
    assert await works(client, admin["Authorization"][7:])  # refused changes end nothing
    entries = (await client.get("/api/admin/audit", headers=admin)).json()["entries"]
    assert entries == []


async def test_the_admin_page_for_an_admin_and_nobody_else(client: httpx.AsyncClient) -> None:
    token = await bearer(client, "root")
    await client.post("/api/admin/users/mod/logout", headers=auth(token))
    client.cookies.set("otklik_session", token)
    page = await client.get("/admin/users")
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert 'href="/admin/users" aria-current="page"' in page.text  # in the admin's menu
    for text in ("Пользователи", "<code>mod</code>", "Журнал изменений", "сессии завершены",
                 'data-url="/api/admin/users/mod/disable"', "/static/admin.js"):  # fmt: skip
        assert text in page.text, text
    # the browser's own POST needs the page's CSRF token, like every other
    without = await client.post("/api/admin/users/mod/disable")
    assert without.status_code == 403
    csrf = {"X-CSRF-Token": session_csrf_token(token)}
    assert (await client.post("/api/admin/users/mod/disable", headers=csrf)).status_code == 200
    assert "отключён" in (await client.get("/admin/users")).text

    client.cookies.clear()
    disabled = await client.post("/api/login", json={"login": "mod", "password": PASSWORD})
    assert disabled.status_code == 401


async def test_everyone_but_an_admin_is_refused(client: httpx.AsyncClient) -> None:
    token = await bearer(client, "mod")
    for method, url in (
        ("GET", "/api/admin/users"), ("GET", "/api/admin/audit"),
        ("POST", "/api/admin/users/root/disable"), ("POST", "/api/admin/users/mod/logout"),
    ):  # fmt: skip
        response = await client.request(method, url, headers=auth(token))
        assert response.status_code == 403, url
    client.cookies.set("otklik_session", token)
    page = await client.get("/admin/users")
    assert page.status_code == 403 and "Учётными записями управляют администраторы" in page.text
    client.cookies.clear()
    stranger = await client.get("/admin/users")
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login")
    assert (await client.get("/api/admin/users")).status_code == 401
