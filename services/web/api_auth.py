"""Sign-in and sign-out. The session token is returned for API clients and also set as an
HttpOnly, SameSite=Strict cookie for the browser."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from services.auth.roles import Action
from services.auth.store import User, authenticate, close_session, open_session
from services.web.security import SESSION_COOKIE, WebState, requires, token_from, web_state

router = APIRouter(prefix="/api")
State = Annotated[WebState, Depends(web_state)]


class Credentials(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class SessionInfo(BaseModel):
    token: str
    login: str
    role: str
    display_name: str


class Me(BaseModel):
    login: str
    role: str
    display_name: str


@router.post("/login", response_model=SessionInfo)
async def login(credentials: Credentials, response: Response, state: State) -> SessionInfo:
    async with state.context.db.transaction() as connection:
        user = await authenticate(connection, credentials.login, credentials.password)
        if user is None:
            raise HTTPException(401, "Неверный логин или пароль")
        token = await open_session(connection, user, datetime.now(UTC), state.session_lifetime)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(state.session_lifetime.total_seconds()),
        httponly=True, samesite="strict", secure=state.secure_cookie,
    )  # fmt: skip
    return SessionInfo(
        token=token, login=user.login, role=user.role.value, display_name=user.display_name
    )


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, state: State) -> None:
    token = token_from(request)
    if token is not None:
        async with state.context.db.transaction() as connection:
            await close_session(connection, token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=Me)
async def me(user: Annotated[User, Depends(requires(Action.READ))]) -> Me:
    return Me(login=user.login, role=user.role.value, display_name=user.display_name)
