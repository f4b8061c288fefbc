"""Authentication (session token in a Bearer header or an HttpOnly cookie), role checks and
scopes. Every endpoint declares the action it needs; the check runs on the server for every
request. Every read and action is then limited to the user's reach (``reach_of``): what lies
outside it answers as if it did not exist (404), so ids do not leak (docs/web-ui.md)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request

from services.auth.directory import Directory
from services.auth.recheck import rechecked
from services.auth.roles import Action, can
from services.auth.store import User, session_user
from services.web.csrf import check_session_header
from services.web.login_limit import LoginLimiter
from services.web.templates_store import ReplyTemplate, Seeding
from sla.domain.policy import SlaPolicy
from sla.stage import SlaContext
from sla.storage.queue import Reach, incident_detail

SESSION_COOKIE = "otklik_session"
INCIDENT_NOT_FOUND = "Инцидент не найден"


@dataclass(frozen=True)
class WebState:
    """Everything the views need, built once by create_app."""

    context: SlaContext
    claim_lock: timedelta
    session_lifetime: timedelta
    secure_cookie: bool
    templates: list[ReplyTemplate]
    login_limiter: LoginLimiter = field(default_factory=LoginLimiter)
    templates_seeding: Seeding = field(default_factory=Seeding)


def token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


def from_cookie(request: Request) -> bool:
    """The session came from the cookie (a browser), not a Bearer header (a program)."""
    return not request.headers.get("authorization", "").lower().startswith("bearer ")


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.otklik
    return state


# Each dependency ``requires`` made, with its action: services/web/api_schema.py declares the
# security and the 401/403 answers of a route from the one it depends on.
REQUIREMENTS: dict[Callable[[Request], Awaitable[User]], Action] = {}


def requires(action: Action) -> Callable[[Request], Awaitable[User]]:
    """A FastAPI dependency: the signed-in user, if their role allows ``action``."""

    async def dependency(request: Request) -> User:
        token = token_from(request)
        user = None
        if token is not None:
            context = web_state(request).context
            now = context.clock()
            async with context.db.engine.connect() as connection:
                user = await session_user(connection, token, now)
            directory: Directory | None = getattr(request.app.state, "directory", None)
            if user is not None and directory is not None:
                user = await rechecked(context.db, directory, user, now)
        if user is None:
            raise HTTPException(401, "Требуется вход", headers={"WWW-Authenticate": "Bearer"})
        if token is not None and from_cookie(request):
            check_session_header(request, token)  # a browser: CSRF token on every POST
        if not can(user.role, action):
            raise HTTPException(403, "Недостаточно прав для этого действия")
        return user

    REQUIREMENTS[dependency] = action
    return dependency


def reach_of(user: User, policy: SlaPolicy) -> Reach:
    """The user's scope resolved against the policy now (a region's municipalities as the
    policy file places them today)."""
    scope = user.scope
    return Reach(scope.municipalities_in(policy.municipalities_of), scope.departments or None)


async def incident_in_reach(state: WebState, user: User, incident_id: str) -> dict[str, Any]:
    """The incident with its history, if it exists within the user's reach; 404 otherwise, with
    the same body either way. Every incident route and page reads or acts through this."""
    async with state.context.db.engine.connect() as connection:
        found = await incident_detail(connection, incident_id, reach_of(user, state.context.policy))
    if found is None:
        raise HTTPException(404, INCIDENT_NOT_FOUND)
    return found
