"""Users and session tokens in PostgreSQL. Passwords are hashed with Argon2id (argon2-cffi);
session tokens are random and stored only as their SHA-256.

Account changes (add, disable, enable, password, role, scope, logout) each write one
``audit_log`` row — who, what, when, of whom, details without secrets — in the transaction of
the change; the time is the caller's (``Change.at``, from the clock), never read here.
Disabling, a new password, a new role or a new scope delete the user's sessions in the same
transaction, so a token that worked stops working at once."""

import asyncio
import hashlib
import math
import secrets
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.engine import Database
from kernel.db.schema import audit_log, auth_sessions, users
from services.auth.roles import Role
from services.auth.scopes import Scope, ScopeError
from sla.domain.policy import SlaPolicy, UnknownIdError

_HASHER = PasswordHasher()
# Verifying against a dummy hash for unknown logins keeps the response time the same.
_DUMMY_HASH = _HASHER.hash("otklik-no-such-user")
T = TypeVar("T")
# One Argon2 check is ~140 ms of CPU. On the event loop it stalled every request, page and SSE
# stream of the process (24 failed sign-ins at once: /healthz waited seconds). argon2-cffi
# releases the GIL, so the checks run in HASH_THREADS threads of their own (not the default
# pool, which a flood would fill, nor every core); at most SIGN_IN_QUEUE sign-ins wait for them,
# and one more is refused at once (PasswordChecksBusyError, answered 429 with Retry-After) rather
# than making every sign-in wait longer (docs/web-ui.md, "Sign-in under load").
HASH_THREADS = 2
SIGN_IN_QUEUE = 32
_ARGON2 = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="argon2")
_SECONDS_PER_CHECK = 0.15


class PasswordChecksBusyError(Exception):
    """Too many sign-ins are waiting for a password check; ``retry_after_seconds`` is when the
    queue will have drained."""

    def __init__(self, waiting: int) -> None:
        self.retry_after_seconds = max(1, math.ceil(waiting * _SECONDS_PER_CHECK / HASH_THREADS))
        super().__init__(
            "Сервер занят проверкой паролей (много входов сразу). "
            f"Повторите через {self.retry_after_seconds} с."
        )


class _SignInChecks:
    """Sign-ins running or waiting for a password check, across the process's event loops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending = 0

    def enter(self) -> None:
        with self._lock:
            if self.pending >= HASH_THREADS + SIGN_IN_QUEUE:
                raise PasswordChecksBusyError(self.pending)
            self.pending += 1

    def leave(self) -> None:
        with self._lock:
            self.pending -= 1


_SIGN_INS = _SignInChecks()


async def _argon2(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_ARGON2, work)


def _matches(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except VerificationError:
        return False


@dataclass(frozen=True)
class User:
    login: str
    role: Role
    display_name: str
    scope: Scope = field(default_factory=Scope)
    origin: str = "local"  # "ldap": the directory is asked again (services/auth/recheck.py)


@dataclass(frozen=True)
class Account:
    """A user as the admin sees it (``sessions``: live ones at the time asked)."""

    login: str
    role: Role
    display_name: str
    scope: Scope
    origin: str
    disabled: bool
    created_at: datetime
    sessions: int


@dataclass(frozen=True)
class Change:
    """Who changes an account and when: ``cli:<user>`` or an admin's login; the caller's clock."""

    actor: str
    at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]


AuditAction = Literal["add", "disable", "enable", "set-password", "set-role", "set-scope", "logout"]


class AccountError(ValueError):
    """An account change refused (message in Russian)."""


class UserExistsError(AccountError):
    pass


class UnknownUserError(AccountError):
    pass


class LastAdminError(AccountError):
    pass


MIN_PASSWORD = 10


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"Пароль должен быть не короче {MIN_PASSWORD} символов")


def check_scope(scope: Scope, policy: SlaPolicy) -> Scope:
    """``scope`` if the policy knows its municipalities, regions and departments; ScopeError
    (Russian) otherwise, so a typo cannot give a user an empty or phantom place."""
    try:
        for municipality in sorted(scope.municipalities):
            policy.require_municipality(municipality)
        for department in sorted(scope.departments):
            policy.require_department(department)
    except UnknownIdError as error:
        raise ScopeError(str(error)) from error
    for region in sorted(scope.regions):
        if not policy.municipalities_of(region):
            known = sorted({m.region for m in policy.spec.municipalities.values() if m.region})
            raise ScopeError(
                f"неизвестный регион «{region}»; в политике SLA: {', '.join(known) or 'ни одного'}"
            )
    return scope


async def _audit(
    connection: AsyncConnection,
    by: Change,
    action: AuditAction,
    target: str,
    details: dict[str, Any] | None = None,
) -> None:
    await connection.execute(
        insert(audit_log).values(
            at=by.at, actor=by.actor, action=action, target=target, details=details or {}
        )
    )


async def add_user(
    connection: AsyncConnection,
    *,
    login: str,
    password: str,
    role: Role,
    display_name: str,
    scope: Scope | None = None,
    by: Change | None = None,
    policy: SlaPolicy | None = None,
) -> User:
    """A local user. With ``policy`` the scope is checked against it; with ``by`` the addition
    is audited (the CLI and the admin page pass both; test fixtures and the demo's own
    administrator neither)."""
    _check_password(password)
    scope = scope or Scope()
    if policy is not None:
        check_scope(scope, policy)
    if not login.strip() or login != login.strip():
        raise AccountError("Логин не может быть пустым или начинаться и кончаться пробелом")
    if await connection.scalar(select(users.c.login).where(users.c.login == login)):
        raise UserExistsError(f"Пользователь {login} уже существует")
    await connection.execute(
        insert(users).values(
            login=login,
            password_hash=await _argon2(lambda: _HASHER.hash(password)),
            role=role.value,
            display_name=display_name,
            scope=scope.to_json(),
        )
    )
    if by is not None:
        details = {"role": role.value, "display_name": display_name, "scope": scope.to_json()}
        await _audit(connection, by, "add", login, details)
    return User(login, role, display_name, scope)


async def _locked(connection: AsyncConnection, login: str, *, admins: bool = False) -> Any:
    """The user's row, locked until the transaction ends; UnknownUserError if there is none.
    ``admins``: take _ADMIN_LOCK first (a change that may leave no administrator)."""
    if admins:
        await connection.execute(select(func.pg_advisory_xact_lock(_ADMIN_LOCK)))
    row = (
        await connection.execute(select(users).where(users.c.login == login).with_for_update())
    ).first()
    if row is None:
        raise UnknownUserError(f"Пользователя {login} нет")
    return row


# Serialises the changes that can take away an administrator (the migrations use 7215).
_ADMIN_LOCK = 7216


async def _refuse_last_admin(connection: AsyncConnection, row: Any, doing: str) -> None:
    """Refuse ``doing`` if ``row`` is the last enabled administrator. The caller holds
    _ADMIN_LOCK from before it read ``row``, so two admins disabling each other at once cannot
    both succeed: the second waits for the first and then sees one admin fewer."""
    if Role(row.role) is not Role.ADMIN or row.disabled:
        return
    others = await connection.scalar(
        select(func.count()).where(
            users.c.role == Role.ADMIN.value,
            users.c.disabled.is_(False),
            users.c.login != row.login,
        )
    )
    if not others:
        raise LastAdminError(
            f"Нельзя {doing} {row.login}: это последний действующий администратор. "
            "Сначала назначьте администратором другого пользователя."
        )


async def _end_sessions(connection: AsyncConnection, login: str) -> int:
    result = await connection.execute(delete(auth_sessions).where(auth_sessions.c.login == login))
    return result.rowcount


async def set_password(
    connection: AsyncConnection, *, login: str, password: str, by: Change | None = None
) -> bool:
    """False when there is no such user. Ends the user's sessions; audited with ``by``."""
    _check_password(password)
    row = (await connection.execute(select(users).where(users.c.login == login))).first()
    if row is None:
        return False
    if row.origin != "local":
        raise AccountError(
            f"{login} входит через каталог ({row.origin}): пароль меняется в каталоге"
        )
    new_hash = await _argon2(lambda: _HASHER.hash(password))
    await connection.execute(
        update(users).where(users.c.login == login).values(password_hash=new_hash)
    )
    ended = await _end_sessions(connection, login)
    if by is not None:
        await _audit(connection, by, "set-password", login, {"sessions_ended": ended})
    return True


async def reset_password(
    connection: AsyncConnection, login: str, password: str, by: Change
) -> None:
    """set_password for an admin: UnknownUserError when there is no such user."""
    if not await set_password(connection, login=login, password=password, by=by):
        raise UnknownUserError(f"Пользователя {login} нет")


async def disable_user(connection: AsyncConnection, login: str, by: Change) -> bool:
    """Disable and end every session; False if already disabled (nothing written)."""
    row = await _locked(connection, login, admins=True)
    if row.disabled:
        return False
    await _refuse_last_admin(connection, row, "отключить")
    await connection.execute(update(users).where(users.c.login == login).values(disabled=True))
    ended = await _end_sessions(connection, login)
    await _audit(connection, by, "disable", login, {"sessions_ended": ended})
    return True


async def enable_user(connection: AsyncConnection, login: str, by: Change) -> bool:
    """False if already enabled (nothing written)."""
    row = await _locked(connection, login)
    if not row.disabled:
        return False
    await connection.execute(update(users).where(users.c.login == login).values(disabled=False))
    await _audit(connection, by, "enable", login)
    return True


async def set_role(connection: AsyncConnection, login: str, role: Role, by: Change) -> bool:
    """A new role ends the user's sessions (they carried the old rights); False if unchanged."""
    row = await _locked(connection, login, admins=True)
    if Role(row.role) is role:
        return False
    if role is not Role.ADMIN:
        await _refuse_last_admin(connection, row, "понизить роль")
    await connection.execute(update(users).where(users.c.login == login).values(role=role.value))
    ended = await _end_sessions(connection, login)
    details = {"from": row.role, "to": role.value, "sessions_ended": ended}
    await _audit(connection, by, "set-role", login, details)
    return True


async def set_scope(
    connection: AsyncConnection, login: str, scope: Scope, by: Change, policy: SlaPolicy
) -> bool:
    """A new scope (checked against ``policy``) ends the user's sessions; False if unchanged."""
    check_scope(scope, policy)
    row = await _locked(connection, login)
    before = Scope.from_json(row.scope)
    if before == scope:
        return False
    await connection.execute(
        update(users).where(users.c.login == login).values(scope=scope.to_json())
    )
    ended = await _end_sessions(connection, login)
    details = {"from": before.to_json(), "to": scope.to_json(), "sessions_ended": ended}
    await _audit(connection, by, "set-scope", login, details)
    return True


async def end_sessions(connection: AsyncConnection, login: str, by: Change) -> int:
    """Sign the user out everywhere: the number of sessions ended (audited even when 0)."""
    await _locked(connection, login)
    ended = await _end_sessions(connection, login)
    await _audit(connection, by, "logout", login, {"sessions_ended": ended})
    return ended


async def display_names(connection: AsyncConnection, logins: Collection[str]) -> dict[str, str]:
    """login -> the name people read, for those of ``logins`` that are users."""
    if not logins:
        return {}
    rows = await connection.execute(
        select(users.c.login, users.c.display_name).where(users.c.login.in_(sorted(logins)))
    )
    return {row.login: row.display_name for row in rows}


async def list_users(connection: AsyncConnection, now: datetime) -> list[Account]:
    """Every user by login, with the number of sessions still live at ``now``."""
    live = (
        select(func.count())
        .where(auth_sessions.c.login == users.c.login, auth_sessions.c.expires_at > now)
        .scalar_subquery()
    )
    rows = await connection.execute(select(users, live.label("sessions")).order_by(users.c.login))
    return [
        Account(
            login=row.login,
            role=Role(row.role),
            display_name=row.display_name,
            scope=Scope.from_json(row.scope),
            origin=row.origin,
            disabled=row.disabled,
            created_at=row.created_at,
            sessions=row.sessions,
        )
        for row in rows
    ]


async def audit_entries(connection: AsyncConnection, limit: int = 100) -> list[AuditEntry]:
    """The latest account changes, newest first."""
    rows = await connection.execute(
        select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    )
    return [
        AuditEntry(row.id, row.at, row.actor, row.action, row.target, dict(row.details))
        for row in rows
    ]


async def authenticate(db: Database, login: str, password: str) -> User | None:
    """The enabled local user whose password this is; None otherwise. No database connection
    is held while the password is checked (a flood of sign-ins would take the whole pool), and
    the check waits its turn behind a bound: PasswordChecksBusyError past it."""
    _SIGN_INS.enter()
    try:
        async with db.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(users).where(users.c.login == login, users.c.disabled.is_(False))
                )
            ).first()
        stored = None if row is None else row.password_hash  # None: a directory's user
        if not await _argon2(lambda: _matches(stored or _DUMMY_HASH, password)):
            return None
    finally:
        _SIGN_INS.leave()
    if row is None or stored is None:
        return None
    if _HASHER.check_needs_rehash(stored):
        new_hash = await _argon2(lambda: _HASHER.hash(password))
        async with db.transaction() as connection:
            await connection.execute(
                update(users).where(users.c.login == login).values(password_hash=new_hash)
            )
    return _user(row)


DIRECTORY_ORIGIN = "ldap"


async def local_account(connection: AsyncConnection, login: str) -> bool:
    """Whether ``login`` is a local account (a password here): then the directory is never
    asked for it, so a directory user of the same name cannot take it over."""
    origin = await connection.scalar(select(users.c.origin).where(users.c.login == login))
    return origin is not None and origin != DIRECTORY_ORIGIN


async def sign_in_directory_user(
    connection: AsyncConnection,
    *,
    login: str,
    display_name: str,
    role: Role,
    scope: Scope,
    at: datetime,
) -> User | None:
    """The directory vouched for ``login`` with this role and scope (from its groups): create
    its row (origin 'ldap', no password here) or bring it up to date. A role or scope that
    changed ends the user's other sessions (they carried the old rights) and is audited with
    the actor 'ldap', as is the first sign-in. None if an admin disabled the row or it is a
    local account (nothing changes then); a row a re-check disabled is enabled again."""
    by = Change(actor=DIRECTORY_ORIGIN, at=at)
    values = {"role": role.value, "display_name": display_name, "scope": scope.to_json()}
    inserted = await connection.execute(
        pg_insert(users)
        .values(login=login, password_hash=None, origin=DIRECTORY_ORIGIN, **values)
        .on_conflict_do_nothing(index_elements=[users.c.login])
        .returning(users.c.login)
    )
    if inserted.first() is not None:
        await _audit(connection, by, "add", login, {**values, "origin": DIRECTORY_ORIGIN})
        return User(login, role, display_name, scope, DIRECTORY_ORIGIN)
    row = (
        await connection.execute(select(users).where(users.c.login == login).with_for_update())
    ).first()
    if row is None or row.origin != DIRECTORY_ORIGIN:
        return None
    if row.disabled:
        if not await _disabled_by_directory(connection, login):
            return None  # an admin's decision: the directory does not undo it
        await connection.execute(update(users).where(users.c.login == login).values(disabled=False))
        await _audit(connection, by, "enable", login)
    if row.display_name != display_name:
        await connection.execute(
            update(users).where(users.c.login == login).values(display_name=display_name)
        )
    await _regrant(connection, row, role, scope, by, end_sessions=True)
    return User(login, role, display_name, scope, DIRECTORY_ORIGIN)


async def _disabled_by_directory(connection: AsyncConnection, login: str) -> bool:
    """Whether the last disabling or enabling of ``login`` was a re-check's (actor 'ldap')."""
    last = (
        await connection.execute(
            select(audit_log.c.actor, audit_log.c.action)
            .where(audit_log.c.target == login, audit_log.c.action.in_(["disable", "enable"]))
            .order_by(audit_log.c.id.desc())
            .limit(1)
        )
    ).first()
    return last is not None and (last.actor, last.action) == (DIRECTORY_ORIGIN, "disable")


async def _regrant(
    connection: AsyncConnection, row: Any, role: Role, scope: Scope, by: Change, *,
    end_sessions: bool,
) -> None:  # fmt: skip
    """Give the directory user of ``row`` (locked) this role and scope, each change audited;
    ``end_sessions``: their other sessions end (a sign-in: they carried the old rights)."""
    before = Scope.from_json(row.scope)
    if Role(row.role) is role and before == scope:
        return
    await connection.execute(
        update(users)
        .where(users.c.login == row.login)
        .values(role=role.value, scope=scope.to_json())
    )
    ended = await _end_sessions(connection, row.login) if end_sessions else 0
    if Role(row.role) is not role:
        details = {"from": row.role, "to": role.value, "sessions_ended": ended}
        await _audit(connection, by, "set-role", row.login, details)
    if before != scope:
        details = {"from": before.to_json(), "to": scope.to_json(), "sessions_ended": ended}
        await _audit(connection, by, "set-scope", row.login, details)


async def _directory_row(connection: AsyncConnection, login: str) -> Any:
    """The enabled directory user's row, locked; None for any other."""
    row = (
        await connection.execute(select(users).where(users.c.login == login).with_for_update())
    ).first()
    return None if row is None or row.origin != DIRECTORY_ORIGIN or row.disabled else row


async def regrant_directory_user(
    connection: AsyncConnection, login: str, role: Role, scope: Scope, at: datetime
) -> User | None:
    """A re-check found other groups: the new role and scope apply to the sessions the user has
    (read at each request), audited with the actor 'ldap'. None if the row is no longer an
    enabled directory user's."""
    row = await _directory_row(connection, login)
    if row is None:
        return None
    await _regrant(connection, row, role, scope, Change(DIRECTORY_ORIGIN, at), end_sessions=False)
    return User(login, role, row.display_name, scope, DIRECTORY_ORIGIN)


async def revoke_directory_user(
    connection: AsyncConnection, login: str, reason: str, at: datetime
) -> int:
    """A re-check found the user deleted, disabled or out of every otklik group: the row is
    disabled (a later sign-in the directory vouches for enables it again) and every session
    ends; audited as 'disable' by 'ldap' with the reason. The number of sessions ended."""
    row = await _directory_row(connection, login)
    if row is None:
        return 0
    await connection.execute(update(users).where(users.c.login == login).values(disabled=True))
    ended = await _end_sessions(connection, login)
    details = {"reason": reason, "sessions_ended": ended}
    await _audit(connection, Change(DIRECTORY_ORIGIN, at), "disable", login, details)
    return ended


def _user(row: Any) -> User:
    return User(row.login, Role(row.role), row.display_name, Scope.from_json(row.scope), row.origin)


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
            select(users.c.login, users.c.role, users.c.display_name, users.c.scope, users.c.origin)
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
