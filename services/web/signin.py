"""Signing in, shared by the JSON API (POST /api/login) and the login form: the throttle
(services/web/login_limit.py), the password check, the session and its cookie."""

import ipaddress
import logging
from typing import Literal

from fastapi import Request, Response

from services.auth.store import User, authenticate, open_session
from services.web.login_limit import BadCredentialsError
from services.web.security import SESSION_COOKIE, WebState

log = logging.getLogger(__name__)
# Headers a reverse proxy adds: a request carrying one did not come from a browser on this host.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-proto", "x-real-ip")
CookieMode = Literal["auto", "true", "false"]


def client_address(request: Request) -> str:
    # Behind a reverse proxy listed in OTKLIK_FORWARDED_ALLOW_IPS uvicorn puts the client's
    # address here (from X-Forwarded-For); from any other peer the header is ignored.
    return request.client.host if request.client is not None else "unknown"


async def sign_in(state: WebState, login: str, password: str, address: str) -> tuple[User, str]:
    """The user and a new session token; BadCredentialsError or TooManyAttemptsError."""
    limiter = state.login_limiter
    limiter.attempt(login, address)
    async with state.context.db.transaction() as connection:
        user = await authenticate(connection, login, password)
        if user is None:
            raise BadCredentialsError
        token = await open_session(connection, user, state.context.clock(), state.session_lifetime)
    limiter.succeeded(login, address)
    return user, token


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def plain_http_on_this_host(request: Request) -> bool:
    """A browser on this very host over plain HTTP (`make demo`): no network to protect from."""
    return (
        request.url.scheme == "http"
        and _loopback(client_address(request))
        and not any(header in request.headers for header in PROXY_HEADERS)
    )


def secure_cookie(request: Request) -> bool:
    """Whether cookies get the Secure flag: OTKLIK_SECURE_COOKIES, or in "auto" always but for a
    browser on this host over plain HTTP. The scheme is the client's as the trusted proxy tells
    it (X-Forwarded-Proto, OTKLIK_FORWARDED_ALLOW_IPS)."""
    mode: CookieMode = request.app.state.secure_cookies  # set by create_app
    return mode == "true" or (mode == "auto" and not plain_http_on_this_host(request))


def set_session_cookie(request: Request, response: Response, state: WebState, token: str) -> None:
    secure = secure_cookie(request)
    if secure and request.url.scheme == "http":
        log.warning(
            "Secure session cookie sent over plain HTTP: the browser will drop it. Behind a TLS "
            "proxy list it in OTKLIK_FORWARDED_ALLOW_IPS; a plain-HTTP pilot needs "
            "OTKLIK_SECURE_COOKIES=false"
        )
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(state.session_lifetime.total_seconds()),
        httponly=True, samesite="strict", secure=secure,
    )  # fmt: skip
