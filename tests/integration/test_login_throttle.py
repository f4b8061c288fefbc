"""The sign-in throttle over HTTP on a real PostgreSQL, for the form and POST /api/login alike:
an attacker at one address is slowed down ever more, the owner at their own address signs in
all the same. The throttle's clock is a fake the test moves; nothing sleeps."""

import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from services.web.login_limit import FREE_FAILURES, LoginLimiter
from services.web.serve import server_config
from sla.stage import open_sla
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
OWNER, ATTACKER = "10.0.0.1", "203.0.113.7"


@dataclass
class FakeTime:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


Client = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def web(
    settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[tuple[FastAPI, FakeTime]]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for login, role in {"anna": Role.MODERATOR, "vera": Role.VIEWER}.items():
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login.title()
            )
    app = create_app(context, settings)
    time = FakeTime()
    app.state.otklik = dataclasses.replace(app.state.otklik, login_limiter=LoginLimiter(time))
    yield app, time
    await context.db.close()


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests reach the app from ``address`` (over TLS, as in production)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50_000))
    return httpx.AsyncClient(transport=transport, base_url="https://otklik.test")


async def api_login(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post("/api/login", json={"login": login, "password": password})


async def form_login(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return await client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": token.group(1), "next": "/"},
    )


async def test_an_attacker_is_slowed_down_and_the_owner_still_signs_in(
    web: tuple[FastAPI, FakeTime],
) -> None:
    app, time = web
    async with client_at(app, ATTACKER) as attacker, client_at(app, OWNER) as owner:
        for _ in range(FREE_FAILURES + 1):
            wrong = await api_login(attacker, "anna", "guess")
            assert wrong.status_code == 401
            assert wrong.json()["detail"] == "Неверный логин или пароль"
        waits = []
        for _ in range(6):
            refused = await api_login(attacker, "anna", "guess")
            assert refused.status_code == 429
            assert refused.json()["detail"].startswith("Слишком много неудачных попыток входа")
            waits.append(int(refused.headers["retry-after"]))
            time.now += waits[-1]
            assert (await api_login(attacker, "anna", "guess")).status_code == 401
        assert waits == [1, 2, 4, 8, 16, 32]
        # Even the right password waits at the attacker's address: guessing gains nothing there.
        on_form = await form_login(attacker, "anna", PASSWORD)
        assert on_form.status_code == 429
        assert on_form.headers["retry-after"] == "64"
        assert "Повторите через 2 мин" in on_form.text
        # The owner, at their own address, is not slowed down at all, on the form or the API.
        signed = await form_login(owner, "anna", PASSWORD)
        assert signed.status_code == 303, signed.text
        assert (await api_login(owner, "anna", PASSWORD)).status_code == 200
        # The attacker's address is not blocked for other logins (each pair counts on its own).
        assert (await api_login(attacker, "vera", PASSWORD)).status_code == 200


async def test_an_address_spraying_many_logins_is_refused_for_a_while(
    web: tuple[FastAPI, FakeTime],
) -> None:
    app, time = web
    limiter = app.state.otklik.login_limiter
    async with client_at(app, ATTACKER) as attacker, client_at(app, OWNER) as owner:
        for index in range(100):
            assert (await api_login(attacker, f"user{index}", "guess")).status_code == 401
        refused = await api_login(attacker, "vera", PASSWORD)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 900
        assert (await api_login(owner, "vera", PASSWORD)).status_code == 200
        time.now += 900
        assert (await api_login(attacker, "vera", PASSWORD)).status_code == 200
    assert len(limiter.addresses) == 2


async def test_the_throttle_counts_the_forwarded_address_only_from_an_allowed_proxy(
    web: tuple[FastAPI, FakeTime], settings_factory: SettingsFactory
) -> None:
    """Through uvicorn's configuration of `otklik web` (services/web/serve.py)."""
    app, _ = web
    settings = settings_factory(forwarded_allow_ips="192.0.2.0/28, 192.0.2.100")
    config = server_config(app, settings)
    config.load()  # wraps the app as uvicorn serves it: the proxy headers middleware
    limiter: LoginLimiter = app.state.otklik.login_limiter
    forwarded = {"X-Forwarded-For": f"{ATTACKER}, 192.0.2.100", "X-Forwarded-Proto": "https"}
    for peer, counted in [("192.0.2.5", ATTACKER), ("198.51.100.20", "198.51.100.20")]:
        transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 50_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://web:8080") as client:
            answer = await client.post(
                "/api/login", json={"login": "anna", "password": "guess"}, headers=forwarded
            )
        assert answer.status_code == 401
        assert list(limiter.addresses)[-1] == counted, peer
    assert set(limiter.addresses) == {ATTACKER, "198.51.100.20"}
