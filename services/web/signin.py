"""Signing in, shared by the JSON API (POST /api/login) and the login form: the throttle
(services/web/login_limit.py), the password check, the session and its cookie."""

from fastapi import Request, Response

from services.auth.store import User, authenticate, open_session
from services.web.login_limit import BadCredentialsError
from services.web.security import SESSION_COOKIE, WebState


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


def set_session_cookie(response: Response, state: WebState, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(state.session_lifetime.total_seconds()),
        httponly=True, samesite="strict", secure=state.secure_cookie,
    )  # fmt: skip
