"""Account administration API (admins only, never scoped): list, add, disable, enable, reset a
password, change a role or a scope, end a user's sessions, and the audit log. Each change is
services/auth/store.py's, in one transaction, audited with the admin's login and the clock's
time; the store ends the user's sessions where the change must (docs/web-ui.md)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from services.auth import store
from services.auth.roles import Action, Role
from services.auth.scopes import Scope, ScopeError
from services.auth.store import User
from services.web.security import WebState, requires, web_state
from services.web.validation import error_responses

router = APIRouter(prefix="/api/admin")
State = Annotated[WebState, Depends(web_state)]
Admin = Annotated[User, Depends(requires(Action.ADMINISTER))]
Name = Annotated[str, Field(min_length=1, max_length=200)]
T = TypeVar("T")


class ScopeBody(BaseModel):
    """Empty lists everywhere: every municipality and department."""

    municipalities: list[Name] = Field(default_factory=list, max_length=500)
    regions: list[Name] = Field(default_factory=list, max_length=100)
    departments: list[Name] = Field(default_factory=list, max_length=100)

    def scope(self) -> Scope:
        return Scope(
            frozenset(self.municipalities), frozenset(self.regions), frozenset(self.departments)
        )


class NewUser(BaseModel):
    login: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    role: Role = Role.MODERATOR
    display_name: str | None = Field(default=None, max_length=200)
    scope: ScopeBody = Field(default_factory=ScopeBody)


class PasswordBody(BaseModel):
    password: str = Field(min_length=1, max_length=1000)


class RoleBody(BaseModel):
    role: Role


class Done(BaseModel):
    login: str
    changed: bool
    sessions_ended: int | None = None


def account_json(account: store.Account) -> dict[str, Any]:
    return {
        "login": account.login,
        "role": account.role.value,
        "display_name": account.display_name,
        "scope": account.scope.to_json(),
        "scope_text": account.scope.describe(),
        "origin": account.origin,
        "disabled": account.disabled,
        "created_at": account.created_at.isoformat(),
        "sessions": account.sessions,
    }


def audit_json(entry: store.AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
    }


async def _change(
    state: WebState,
    admin: User,
    change: Callable[[AsyncConnection, store.Change], Awaitable[T]],
) -> T:
    """One audited change in one transaction; refusals as 404 (no such user), 409 (exists,
    last admin) or 422 (bad scope or password), with the store's Russian message."""
    try:
        async with state.context.db.transaction() as connection:
            return await change(connection, store.Change(admin.login, state.context.clock()))
    except store.UnknownUserError as missing:
        raise HTTPException(404, str(missing)) from missing
    except (store.UserExistsError, store.LastAdminError) as refused:
        raise HTTPException(409, str(refused)) from refused
    except (ScopeError, ValueError) as bad:
        raise HTTPException(422, str(bad)) from bad


@router.get("/users")
async def users(state: State, admin: Admin) -> dict[str, list[dict[str, Any]]]:
    """Every user with role, scope, origin, state and live sessions."""
    async with state.context.db.engine.connect() as connection:
        accounts = await store.list_users(connection, state.context.clock())
    return {"users": [account_json(a) for a in accounts]}


@router.post("/users", status_code=201, response_model=Done, responses=error_responses(409))
async def add(body: NewUser, state: State, admin: Admin) -> Done:
    """A local user; the scope is checked against the SLA policy."""

    async def adding(connection: AsyncConnection, by: store.Change) -> None:
        await store.add_user(
            connection, login=body.login, password=body.password, role=body.role,
            display_name=body.display_name or body.login, scope=body.scope.scope(), by=by,
            policy=state.context.policy,
        )  # fmt: skip

    await _change(state, admin, adding)
    return Done(login=body.login, changed=True)


@router.post("/users/{login}/disable", response_model=Done, responses=error_responses(404, 409))
async def disable(login: str, state: State, admin: Admin) -> Done:
    """No more sign-in; every session of the user ends at once. Not the last admin."""
    changed = await _change(state, admin, lambda c, by: store.disable_user(c, login, by))
    return Done(login=login, changed=changed)


@router.post("/users/{login}/enable", response_model=Done, responses=error_responses(404))
async def enable(login: str, state: State, admin: Admin) -> Done:
    changed = await _change(state, admin, lambda c, by: store.enable_user(c, login, by))
    return Done(login=login, changed=changed)


@router.post("/users/{login}/password", response_model=Done, responses=error_responses(404))
async def password(login: str, body: PasswordBody, state: State, admin: Admin) -> Done:
    """A new password; every session of the user ends at once."""
    await _change(state, admin, lambda c, by: store.reset_password(c, login, body.password, by))
    return Done(login=login, changed=True)


@router.post("/users/{login}/role", response_model=Done, responses=error_responses(404, 409))
async def role(login: str, body: RoleBody, state: State, admin: Admin) -> Done:
    """A new role; every session of the user ends at once. Not the last admin's."""
    changed = await _change(state, admin, lambda c, by: store.set_role(c, login, body.role, by))
    return Done(login=login, changed=changed)


@router.post("/users/{login}/scope", response_model=Done, responses=error_responses(404))
async def scope(login: str, body: ScopeBody, state: State, admin: Admin) -> Done:
    """A new scope (replaces the old; empty lists: everything); sessions end at once."""
    policy = state.context.policy
    changed = await _change(
        state, admin, lambda c, by: store.set_scope(c, login, body.scope(), by, policy)
    )
    return Done(login=login, changed=changed)


@router.post("/users/{login}/logout", response_model=Done, responses=error_responses(404))
async def logout(login: str, state: State, admin: Admin) -> Done:
    """End every session of the user (sign-in stays allowed)."""
    ended = await _change(state, admin, lambda c, by: store.end_sessions(c, login, by))
    return Done(login=login, changed=ended > 0, sessions_ended=ended)


@router.get("/audit")
async def audit(
    state: State, admin: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, list[dict[str, Any]]]:
    """The latest account changes, newest first."""
    async with state.context.db.engine.connect() as connection:
        entries = await store.audit_entries(connection, limit)
    return {"entries": [audit_json(e) for e in entries]}
