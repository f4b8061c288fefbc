"""Colleagues named in teamwork: who an internal note may ``@mention`` (an enabled user whose
scope covers the incident, any role: a viewer reads notes too; the rest are named back to the
writer), and who an incident may be assigned to."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import users
from services.auth.roles import Role
from services.auth.scopes import Scope
from services.auth.store import User
from services.web.security import reach_of
from sla.domain.policy import SlaPolicy


@dataclass(frozen=True)
class MentionCheck:
    unknown: tuple[str, ...]  # no such (enabled) user
    outside: tuple[str, ...]  # a user who may not read the incident

    def refusal(self) -> str | None:
        """The Russian message naming every mention that cannot be, or None."""
        parts = []
        if self.unknown:
            parts.append("нет пользователей " + ", ".join(f"@{x}" for x in self.unknown))
        if self.outside:
            parts.append("инцидент вне области доступа " + ", ".join(f"@{x}" for x in self.outside))
        return "Упоминания не записаны: " + "; ".join(parts) if parts else None


async def check_mentions(
    connection: AsyncConnection,
    logins: tuple[str, ...],
    policy: SlaPolicy,
    municipality: str,
    department: str | None,
) -> MentionCheck:
    found = list((await enabled_users(connection, logins)).values())
    outside = sorted(
        user.login for user in found if not reach_of(user, policy).covers(municipality, department)
    )
    known = {user.login for user in found}
    return MentionCheck(tuple(x for x in logins if x not in known), tuple(outside))


async def enabled_users(connection: AsyncConnection, logins: tuple[str, ...]) -> dict[str, User]:
    """The enabled users among ``logins``, by login."""
    if not logins:
        return {}
    return {user.login: user for user in await _enabled(connection, users.c.login.in_(logins))}


async def colleagues(
    connection: AsyncConnection, policy: SlaPolicy, municipality: str, department: str | None
) -> list[User]:
    """Every enabled user who may read an incident there, by name: whom its page offers to
    mention (and, those who may handle it, to assign), so nobody types a Latin login."""
    readers = [
        user
        for user in await _enabled(connection, true())
        if reach_of(user, policy).covers(municipality, department)
    ]
    return sorted(readers, key=lambda user: (user.display_name, user.login))


async def _enabled(connection: AsyncConnection, which: ColumnElement[bool]) -> list[User]:
    rows = await connection.execute(
        select(users.c.login, users.c.role, users.c.display_name, users.c.scope).where(
            which, users.c.disabled.is_(False)
        )
    )
    return [
        User(row.login, Role(row.role), row.display_name, Scope.from_json(row.scope))
        for row in rows
    ]
