"""Roles and what each may do (pure). Checked on the server for every endpoint."""

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    MODERATOR = "moderator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Action(StrEnum):
    READ = "read"
    HANDLE = "handle"  # claim, answer, reject, change category, close, reopen
    SUPERVISE = "supervise"  # reassign, bulk actions, take over another's claim
    ADMINISTER = "administer"  # users


_GRANTS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ}),
    Role.MODERATOR: frozenset({Action.READ, Action.HANDLE}),
    Role.SUPERVISOR: frozenset({Action.READ, Action.HANDLE, Action.SUPERVISE}),
    Role.ADMIN: frozenset(Action),
}


def can(role: Role, action: Action) -> bool:
    return action in _GRANTS[role]
