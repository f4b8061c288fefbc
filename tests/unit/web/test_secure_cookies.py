"""The Secure flag of the web's cookies (the login form's CSRF cookie and the session cookie):
on, except for a browser on this very host over plain HTTP (`make demo`), or as
OTKLIK_SECURE_COOKIES forces it; the scheme is the one the trusted proxy reports."""

import logging
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Literal
from unittest.mock import MagicMock

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from kernel.settings import Settings
from services.web.app import create_app
from services.web.serve import server_config
from services.web.signin import set_session_cookie

Mode = Literal["auto", "true", "false"]


def app_with(mode: Mode) -> FastAPI:
    return create_app(MagicMock(), Settings(secure_cookies=mode))


async def login_form_cookie_is_secure(
    app: object, url: str, client: str, headers: dict[str, str] | None = None
) -> bool:
    transport = httpx.ASGITransport(app=app, client=(client, 50_000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=url) as http:
        page = await http.get("/login", headers=headers)
    assert page.status_code == 200
    (cookie,) = SimpleCookie(page.headers["set-cookie"]).values()
    return bool(cookie["secure"])


@pytest.mark.parametrize(
    ("mode", "url", "client", "headers", "secure"),
    [
        ("auto", "http://127.0.0.1:8080", "127.0.0.1", {}, False),  # make demo
        ("auto", "http://localhost:8080", "::1", {}, False),
        ("auto", "https://otklik.city", "127.0.0.1", {}, True),
        ("auto", "http://otklik.city", "10.0.0.5", {}, True),  # plain HTTP over a network
        # A proxy on this host that is not trusted: it came over a network all the same.
        ("auto", "http://127.0.0.1:8080", "127.0.0.1", {"X-Forwarded-For": "10.0.0.5"}, True),
        ("auto", "http://127.0.0.1:8080", "127.0.0.1", {"X-Real-IP": "10.0.0.5"}, True),
        ("true", "http://127.0.0.1:8080", "127.0.0.1", {}, True),
        ("false", "https://otklik.city", "10.0.0.5", {}, False),  # a plain-HTTP pilot
    ],
)
async def test_the_secure_flag(
    mode: Mode, url: str, client: str, headers: dict[str, str], secure: bool
) -> None:
    assert await login_form_cookie_is_secure(app_with(mode), url, client, headers) is secure


async def test_the_scheme_is_the_one_a_trusted_proxy_reports() -> None:
    """Through uvicorn's configuration of `otklik web`: a trusted proxy that terminates TLS
    on this host makes the request https; an untrusted peer's claim is ignored."""
    app = app_with("auto")
    settings = Settings(forwarded_allow_ips="192.0.2.1")
    seen: list[tuple[str, str]] = []

    @app.middleware("http")
    async def record(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        seen.append((request.url.scheme, request.client.host if request.client else ""))
        return await call_next(request)

    config = server_config(app, settings)
    config.load()
    proxied = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert await login_form_cookie_is_secure(config.loaded_app, "http://web", "192.0.2.1", proxied)
    assert await login_form_cookie_is_secure(
        config.loaded_app, "http://web", "198.51.100.3", proxied
    )
    assert seen == [("https", "203.0.113.9"), ("http", "198.51.100.3")]


def test_a_secure_session_cookie_over_plain_http_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with("auto")
    scope = {
        "type": "http", "method": "POST", "path": "/login", "headers": [], "query_string": b"",
        "scheme": "http", "server": ("otklik.city", 80), "client": ("10.0.0.5", 50_000),
        "app": app,
    }  # fmt: skip
    response = Response()
    with caplog.at_level(logging.WARNING):
        set_session_cookie(Request(scope), response, app.state.otklik, "token")
    assert "secure" in response.headers["set-cookie"].lower()
    assert "OTKLIK_SECURE_COOKIES=false" in caplog.text
