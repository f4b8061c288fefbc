"""Authentication (session token in a Bearer header or an HttpOnly cookie) and role checks.
Every endpoint declares the action it needs; the check runs on the server for every request."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, Request

from services.auth.roles import Action, can
from services.auth.store import User, session_user
from services.web.templates_store import ReplyTemplate
from sla.main import SlaContext

SESSION_COOKIE = "otklik_session"


@dataclass(frozen=True)
class WebState:
    """Everything the views need, built once by create_app."""

    context: SlaContext
    claim_lock: timedelta
    session_lifetime: timedelta
    secure_cookie: bool
    templates: list[ReplyTemplate]


def token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.otklik
    return state


def requires(action: Action) -> Callable[[Request], Awaitable[User]]:
    """A FastAPI dependency: the signed-in user, if their role allows ``action``."""

    async def dependency(request: Request) -> User:
        token = token_from(request)
        user = None
        if token is not None:
            async with web_state(request).context.db.engine.connect() as connection:
                user = await session_user(connection, token, datetime.now(UTC))
        if user is None:
            raise HTTPException(401, "Требуется вход", headers={"WWW-Authenticate": "Bearer"})
        if not can(user.role, action):
            raise HTTPException(403, "Недостаточно прав для этого действия")
        return user

    return dependency
