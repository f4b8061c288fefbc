"""What becomes of a directory user's grant when the directory is asked again (pure: no I/O).

The directory answers with the grant its groups give now, or why there is none: the entry is
gone, disabled (Active Directory), or in no group of otklik. ``decide`` compares that with the
grant the user acts with; ``Rechecks`` remembers, per login, when the directory was last asked
and since when it has failed to answer, so that it is asked at most once per interval and an
outage keeps the last grant only for a grace period (docs/web-ui.md, "Directory sign-in")."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from services.auth.roles import Role
from services.auth.scopes import Scope

Gone = Literal["deleted", "disabled", "no-group"]
# Active Directory's userAccountControl flag ACCOUNTDISABLE.
_ACCOUNT_DISABLE = 0x2


@dataclass(frozen=True)
class GroupGrant:
    role: Role
    scope: Scope


@dataclass(frozen=True)
class Keep:
    """Nothing changed: the user goes on as they are."""


@dataclass(frozen=True)
class Regrant:
    """The groups changed: this role and scope apply from now on."""

    grant: GroupGrant


@dataclass(frozen=True)
class Revoke:
    """No grant any more: every session ends and the account is disabled here."""

    reason: Gone


Verdict = Keep | Regrant | Revoke


def decide(current: GroupGrant, found: GroupGrant | Gone) -> Verdict:
    if isinstance(found, str):
        return Revoke(found)
    return Keep() if found == current else Regrant(found)


def account_disabled(user_account_control: object) -> bool:
    """Whether an entry's userAccountControl (AD; a number, as text or in a list) says the
    account is disabled. Absent (OpenLDAP has no such attribute) or unreadable: not disabled."""
    if isinstance(user_account_control, list):
        user_account_control = user_account_control[0] if user_account_control else None
    try:
        flags = int(str(user_account_control))
    except ValueError:
        return False
    return bool(flags & _ACCOUNT_DISABLE)


@dataclass
class Rechecks:
    """When each login was last asked about (``every``: how often at most) and since when the
    directory has failed to answer for it (``grace``: how long the last grant outlives that)."""

    every: timedelta
    grace: timedelta
    _asked: dict[str, datetime] = field(default_factory=dict)
    _failing_since: dict[str, datetime] = field(default_factory=dict)

    def due(self, login: str, now: datetime) -> bool:
        asked = self._asked.get(login)
        return asked is None or now - asked >= self.every

    def asking(self, login: str, now: datetime) -> None:
        """Marked before the answer arrives, so that the user's requests meanwhile do not ask
        again (they go on with the last grant for that long)."""
        self._asked[login] = now

    def answered(self, login: str, now: datetime) -> None:
        self._asked[login] = now
        self._failing_since.pop(login, None)

    def failed(self, login: str, now: datetime) -> None:
        self._failing_since.setdefault(login, now)

    def allowed(self, login: str, now: datetime) -> bool:
        """False once the directory has failed to answer for ``grace`` or longer."""
        since = self._failing_since.get(login)
        return since is None or now - since < self.grace
