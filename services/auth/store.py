"""Users and session tokens in PostgreSQL. Passwords are hashed with Argon2id (argon2-cffi);
session tokens are random and stored only as their SHA-256."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import auth_sessions, users
from services.auth.roles import Role
from services.auth.scopes import Scope

_HASHER = PasswordHasher()
# Verifying against a dummy hash for unknown logins keeps the response time the same.
_DUMMY_HASH = _HASHER.hash("otklik-no-such-user")


@dataclass(frozen=True)
class User:
    login: str
    role: Role
    display_name: str
    scope: Scope = field(default_factory=Scope)


class UserExistsError(ValueError):
    pass


MIN_PASSWORD = 10


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"Пароль должен быть не короче {MIN_PASSWORD} символов")


async def add_user(
    connection: AsyncConnection,
    *,
    login: str,
    password: str,
    role: Role,
    display_name: str,
    scope: Scope | None = None,
) -> User:
    _check_password(password)
    scope = scope or Scope()
    if await connection.scalar(select(users.c.login).where(users.c.login == login)):
        raise UserExistsError(f"Пользователь {login} уже существует")
    await connection.execute(
        insert(users).values(
            login=login,
            password_hash=_HASHER.hash(password),
            role=role.value,
            display_name=display_name,
            scope=scope.to_json(),
        )
    )
    return User(login, role, display_name, scope)


async def set_password(connection: AsyncConnection, *, login: str, password: str) -> bool:
    """False when there is no such user."""
    _check_password(password)
    result = await connection.execute(
        update(users).where(users.c.login == login).values(password_hash=_HASHER.hash(password))
    )
    return result.rowcount == 1


async def authenticate(connection: AsyncConnection, login: str, password: str) -> User | None:
    row = (
        await connection.execute(
            select(users).where(users.c.login == login, users.c.disabled.is_(False))
        )
    ).first()
    stored = None if row is None else row.password_hash  # None: a directory's user
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except VerificationError:
        return None
    if row is None or stored is None:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        await connection.execute(
            update(users).where(users.c.login == login).values(password_hash=_HASHER.hash(password))
        )
    return _user(row)


def _user(row: Any) -> User:
    return User(row.login, Role(row.role), row.display_name, Scope.from_json(row.scope))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(
    connection: AsyncConnection, user: User, now: datetime, lifetime: timedelta
) -> str:
    token = secrets.token_urlsafe(32)
    await connection.execute(
        insert(auth_sessions).values(
            token_sha256=_digest(token), login=user.login, created_at=now, expires_at=now + lifetime
        )
    )
    return token


async def session_user(connection: AsyncConnection, token: str, now: datetime) -> User | None:
    row = (
        await connection.execute(
            select(users.c.login, users.c.role, users.c.display_name, users.c.scope)
            .join(auth_sessions, auth_sessions.c.login == users.c.login)
            .where(
                auth_sessions.c.token_sha256 == _digest(token),
                auth_sessions.c.expires_at > now,
                users.c.disabled.is_(False),
            )
        )
    ).first()
    return None if row is None else _user(row)


async def close_session(connection: AsyncConnection, token: str) -> None:
    await connection.execute(
        delete(auth_sessions).where(auth_sessions.c.token_sha256 == _digest(token))
    )
