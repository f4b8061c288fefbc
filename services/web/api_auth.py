"""Sign-in and sign-out. The session token is returned for API clients and also set as an
HttpOnly, SameSite=Strict cookie for the browser. Failed sign-ins are rate-limited (429)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from services.auth.roles import Action, Role
from services.auth.store import User, close_session
from services.web.csrf import check_session_header
from services.web.login_limit import BadCredentialsError, TooManyAttemptsError
from services.web.security import (
    SESSION_COOKIE,
    WebState,
    from_cookie,
    requires,
    token_from,
    web_state,
)
from services.web.signin import client_address, directory_of, set_session_cookie, sign_in
from services.web.validation import error_responses

router = APIRouter(prefix="/api")
State = Annotated[WebState, Depends(web_state)]


class Credentials(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class SessionInfo(BaseModel):
    token: str
    login: str
    role: Role
    display_name: str


class Me(BaseModel):
    login: str
    role: Role
    display_name: str
    scope: dict[str, list[str]]  # {} is everything; docs/web-ui.md, "Scopes"


@router.post("/login", response_model=SessionInfo, responses=error_responses(401, 429))
async def login(
    credentials: Credentials, request: Request, response: Response, state: State
) -> SessionInfo:
    try:
        user, token = await sign_in(
            state, credentials.login, credentials.password, client_address(request),
            directory_of(request),
        )  # fmt: skip
    except TooManyAttemptsError as blocked:
        headers = {"Retry-After": str(blocked.retry_after_seconds)}
        raise HTTPException(429, str(blocked), headers=headers) from blocked
    except BadCredentialsError as wrong:
        raise HTTPException(401, str(wrong)) from wrong
    set_session_cookie(request, response, state, token)
    return SessionInfo(
        token=token, login=user.login, role=user.role, display_name=user.display_name
    )


@router.post("/logout", status_code=204, responses=error_responses(403))
async def logout(request: Request, response: Response, state: State) -> None:
    token = token_from(request)
    if token is not None:
        if from_cookie(request):
            check_session_header(request, token)
        async with state.context.db.transaction() as connection:
            await close_session(connection, token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=Me)
async def me(user: Annotated[User, Depends(requires(Action.READ))]) -> Me:
    return Me(
        login=user.login,
        role=user.role,
        display_name=user.display_name,
        scope=user.scope.to_json(),
    )
