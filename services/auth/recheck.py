"""Asking the directory again about a signed-in directory user, on their request: at most every
OTKLIK_LDAP_RECHECK_MINUTES per user (services/auth/domain/regrant.py keeps the times), so that
someone taken out of otklik's groups, deleted or disabled in the directory loses access within
that time rather than at the end of a session of OTKLIK_SESSION_HOURS. A new role or scope
applies from that request on; no grant at all ends every session of the user (the row is
disabled and audited). A directory that does not answer keeps the last grant for
OTKLIK_LDAP_RECHECK_GRACE_MINUTES, then refuses the user's requests until it answers
(docs/web-ui.md, "Directory sign-in")."""

import logging
from datetime import datetime

from kernel.db.engine import Database
from services.auth.directory import Directory, DirectoryUnreachableError
from services.auth.domain.regrant import GroupGrant, Keep, Regrant, decide
from services.auth.store import (
    DIRECTORY_ORIGIN,
    User,
    regrant_directory_user,
    revoke_directory_user,
)

log = logging.getLogger(__name__)


async def rechecked(db: Database, directory: Directory, user: User, now: datetime) -> User | None:
    """``user`` as the directory has them now (perhaps with another role or scope); None: the
    request is refused (401) — revoked, or the directory silent past the grace period."""
    if user.origin != DIRECTORY_ORIGIN:
        return user
    rechecks, login = directory.rechecks, user.login
    if not rechecks.due(login, now):
        return user if rechecks.allowed(login, now) else None
    rechecks.asking(login, now)
    try:
        found = await directory.standing(login)
    except DirectoryUnreachableError as error:
        rechecks.failed(login, now)
        allowed = rechecks.allowed(login, now)
        log.warning(
            "directory re-check of %r failed (%s): %s", login, error,
            "the last grant is kept" if allowed else "refused past the grace period",
        )  # fmt: skip
        return user if allowed else None
    rechecks.answered(login, now)
    verdict = decide(GroupGrant(user.role, user.scope), found)
    if isinstance(verdict, Keep):
        return user
    if isinstance(verdict, Regrant):
        grant = verdict.grant
        async with db.transaction() as connection:
            regranted = await regrant_directory_user(
                connection, login, grant.role, grant.scope, now
            )
        if regranted is not None:
            log.info(
                "directory re-check of %r: now %s, %s",
                login, grant.role.value, grant.scope.describe(),
            )  # fmt: skip
        return regranted
    async with db.transaction() as connection:
        ended = await revoke_directory_user(connection, login, verdict.reason, now)
    log.warning(
        "directory re-check of %r: access revoked (%s), %d sessions ended",
        login,
        verdict.reason,
        ended,
    )
    return None
