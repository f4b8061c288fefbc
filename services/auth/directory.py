"""Sign-in through the city's directory (LDAP, Active Directory), optional: on when
OTKLIK_LDAP_URL is set (docs/web-ui.md, "Directory sign-in").

The user's password is checked by a bind as the user — the DN from OTKLIK_LDAP_USER_DN_TEMPLATE,
or the one entry that OTKLIK_LDAP_USER_FILTER finds under OTKLIK_LDAP_USER_BASE through a
service bind (OTKLIK_LDAP_BIND_DN, its password a named secret). The user's groups are the
entries under OTKLIK_LDAP_GROUP_BASE whose ``member`` is the user's DN (OTKLIK_LDAP_GROUP_FILTER);
only the groups of OTKLIK_LDAP_GROUPS_FILE count, and they give the role (the highest) and the
scope (the union). ldap3 is blocking: ``authenticate`` runs it in a thread, each network step
bounded by OTKLIK_LDAP_TIMEOUT_SECONDS. Any failure — the server down or silent, a wrong
password, an unknown login — is ``None`` with one log line that never holds a password.

``standing`` asks again, without the user's password (it is not kept): the service account (or
an anonymous reader) reads the user's entry and groups; services/auth/recheck.py does so at most
every OTKLIK_LDAP_RECHECK_MINUTES for each signed-in directory user.
"""

import asyncio
import logging
import math
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from kernel.settings import Settings
from kernel.yaml_files import load
from kernel.yaml_text import ConfigFileError
from services.auth.domain.regrant import Gone, GroupGrant, Rechecks, account_disabled
from services.auth.roles import Role
from services.auth.scopes import Scope, ScopeError
from services.auth.store import check_scope
from sla.domain.policy import SlaPolicy

log = logging.getLogger(__name__)
_ORDER = list(Role)  # viewer < moderator < supervisor < admin


class DirectoryConfigError(ConfigFileError):
    """The directory settings or the groups file cannot work (said at start-up)."""


class DirectoryUnreachableError(Exception):
    """The directory did not answer a re-check (down, silent, refused the service bind)."""


@dataclass(frozen=True)
class DirectoryUser:
    """A user the directory vouched for: their name there and the otklik groups they are in
    (DNs as the groups file spells them; empty: in none of them)."""

    login: str
    display_name: str
    groups: tuple[str, ...]


def _key(dn: str) -> str:
    """DNs compare without case and without blanks around the separators."""
    return ",".join(part.strip() for part in dn.split(",")).lower()


def load_groups(path: Path) -> dict[str, GroupGrant]:
    """The groups file: a YAML mapping of a group's DN to its role and (optional) scope."""
    try:
        loaded = load(path, "файл групп каталога") or {}
    except ConfigFileError as error:
        raise DirectoryConfigError(str(error)) from error
    if not isinstance(loaded, dict) or not loaded:
        raise DirectoryConfigError(f"{path}: expected a mapping of group DN: {{role, scope}}")
    grants: dict[str, GroupGrant] = {}
    for dn, spec in loaded.items():
        if not isinstance(spec, dict) or set(spec) - {"role", "scope"} or "role" not in spec:
            raise DirectoryConfigError(f"{path}: {dn}: expected {{role: …, scope: {{…}}}}")
        try:
            grants[_key(str(dn))] = GroupGrant(
                Role(spec["role"]), Scope.from_json(spec.get("scope"))
            )
        except (ValueError, ScopeError) as error:
            raise DirectoryConfigError(f"{path}: {dn}: {error}") from error
    return grants


def combine(grants: Iterable[GroupGrant]) -> GroupGrant | None:
    """The highest role of the groups and the union of their scopes (a group without a limit
    on municipalities, or on departments, lifts that limit); None for no group."""
    found = list(grants)
    if not found:
        return None
    role = max((grant.role for grant in found), key=_ORDER.index)
    scopes = [grant.scope for grant in found]
    if any(scope.everywhere for scope in scopes):
        municipalities, regions = frozenset[str](), frozenset[str]()
    else:
        municipalities = frozenset().union(*(scope.municipalities for scope in scopes))
        regions = frozenset().union(*(scope.regions for scope in scopes))
    if any(not scope.departments for scope in scopes):
        departments = frozenset[str]()
    else:
        departments = frozenset().union(*(scope.departments for scope in scopes))
    return GroupGrant(role, Scope(municipalities, regions, departments))


class Directory:
    def __init__(
        self,
        *,
        url: str,
        groups: Mapping[str, GroupGrant],
        group_base: str,
        group_filter: str = "(member={dn})",
        user_dn_template: str | None = None,
        user_base: str | None = None,
        user_filter: str = "(uid={login})",
        bind_dn: str | None = None,
        bind_password: str | None = None,
        starttls: bool = False,
        ca_file: Path | None = None,
        timeout: float = 5.0,
        recheck_every: timedelta = timedelta(minutes=5),
        recheck_grace: timedelta = timedelta(minutes=15),
    ) -> None:
        if not url.startswith(("ldap://", "ldaps://")):
            raise DirectoryConfigError("OTKLIK_LDAP_URL: expected ldap://host[:port] or ldaps://…")
        if (user_dn_template is None) == (user_base is None):
            raise DirectoryConfigError(
                "set exactly one of OTKLIK_LDAP_USER_DN_TEMPLATE and OTKLIK_LDAP_USER_BASE"
            )
        if user_dn_template is not None and "{login}" not in user_dn_template:
            raise DirectoryConfigError("OTKLIK_LDAP_USER_DN_TEMPLATE must contain {login}")
        if (bind_dn is None) != (bind_password is None):
            raise DirectoryConfigError(
                "OTKLIK_LDAP_BIND_DN and OTKLIK_LDAP_BIND_PASSWORD_SECRET go together"
            )
        self.url = url
        self.groups = {_key(dn): grant for dn, grant in groups.items()}
        self.group_base, self.group_filter = group_base, group_filter
        self.user_dn_template, self.user_base, self.user_filter = (
            user_dn_template, user_base, user_filter,
        )  # fmt: skip
        self._bind_dn, self._bind_password = bind_dn, bind_password
        self.starttls, self.timeout = starttls, timeout
        tls = None
        if url.startswith("ldaps://") or starttls:
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca_file) if ca_file else None)
        self._tls = tls
        self.rechecks = Rechecks(recheck_every, recheck_grace)

    @classmethod
    def from_settings(cls, settings: Settings, policy: SlaPolicy) -> "Directory | None":
        """None when OTKLIK_LDAP_URL is unset (local accounts only). The groups' scopes must
        name what ``policy`` knows, as an admin's would."""
        if not settings.ldap_url:
            return None
        if settings.ldap_groups_file is None or not settings.ldap_group_base:
            raise DirectoryConfigError(
                "OTKLIK_LDAP_URL needs OTKLIK_LDAP_GROUPS_FILE and OTKLIK_LDAP_GROUP_BASE"
            )
        if settings.ldap_url.startswith("ldap://") and not settings.ldap_starttls:
            log.warning(
                "OTKLIK_LDAP_URL is plain ldap:// without OTKLIK_LDAP_STARTTLS: passwords cross "
                "the network in clear (use ldaps:// or STARTTLS unless the directory is local)"
            )
        if not settings.ldap_bind_dn:
            log.warning(
                "OTKLIK_LDAP_BIND_DN unset: the re-checks of signed-in users read the directory "
                "anonymously; a directory hiding users or groups from anonymous readers (Active "
                "Directory does) would sign everyone out at the first re-check"
            )
        secret = settings.ldap_bind_password_secret
        groups = load_groups(settings.ldap_groups_file)
        for dn, grant in groups.items():
            try:
                check_scope(grant.scope, policy)
            except ScopeError as error:
                raise DirectoryConfigError(f"{settings.ldap_groups_file}: {dn}: {error}") from None
        return cls(
            url=settings.ldap_url,
            groups=groups,
            group_base=settings.ldap_group_base,
            group_filter=settings.ldap_group_filter,
            user_dn_template=settings.ldap_user_dn_template,
            user_base=settings.ldap_user_base,
            user_filter=settings.ldap_user_filter,
            bind_dn=settings.ldap_bind_dn,
            bind_password=settings.secret(secret).get_secret_value() if secret else None,
            starttls=settings.ldap_starttls,
            ca_file=settings.ldap_ca_file,
            timeout=settings.ldap_timeout_seconds,
            recheck_every=timedelta(minutes=settings.ldap_recheck_minutes),
            recheck_grace=timedelta(minutes=settings.ldap_recheck_grace_minutes),
        )

    def grant(self, user: DirectoryUser) -> GroupGrant | None:
        return combine(self.groups[_key(dn)] for dn in user.groups)

    async def authenticate(self, login: str, password: str) -> DirectoryUser | None:
        """The user if the directory accepts the password; None otherwise (logged)."""
        if not login or not password:
            return None  # an empty password is an anonymous bind: it "succeeds"
        try:
            # The thread is bounded by the socket timeouts; this bounds the wait as well.
            return await asyncio.wait_for(
                asyncio.to_thread(self._authenticate, login, password), self.timeout * 4
            )
        except Exception as error:  # any failure of the directory is a failed sign-in, not a 500
            log.warning(
                "directory sign-in of %r failed: %s unreachable or broken (%s: %s)",
                login, self.url, type(error).__name__, error,
            )  # fmt: skip
            return None

    async def standing(self, login: str) -> GroupGrant | Gone:
        """What the directory says of ``login`` now, read as the service account (anonymously
        without one): the grant of their groups, or why there is none. DirectoryUnreachableError
        when it does not answer within the bound."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._standing, login), self.timeout * 4
            )
        except Exception as error:
            reason = f"{self.url}: {type(error).__name__}: {error}"
            raise DirectoryUnreachableError(reason) from error

    def _standing(self, login: str) -> GroupGrant | Gone:
        reader = self._connection(self._server(), self._bind_dn or "", self._bind_password or "")
        try:
            if not reader.bind():
                raise LDAPException(f"bind refused: {reader.result.get('description')}")
            if self.user_dn_template is not None:
                dn: str | None = self.user_dn_template.format(login=escape_rdn(login))
            else:
                dn = self._find_user(reader, login)
            entry = None if dn is None else self._entry(reader, dn, ["userAccountControl"])
            if dn is None or entry is None:
                return "deleted"
            if account_disabled(entry.get("userAccountControl")):
                return "disabled"
            return self.grant(DirectoryUser(login, login, self._groups(reader, dn))) or "no-group"
        finally:
            reader.unbind()

    def _server(self) -> Server:
        return Server(
            self.url, use_ssl=self.url.startswith("ldaps://"), tls=self._tls,
            connect_timeout=self.timeout, get_info=NONE,
        )  # fmt: skip

    def _connection(self, server: Server, dn: str, password: str) -> Connection:
        """Open and, if asked, upgraded by STARTTLS before any password is sent; not bound."""
        connection = Connection(
            server, dn, password, receive_timeout=math.ceil(self.timeout), raise_exceptions=False,
            read_only=True,
        )  # fmt: skip
        connection.open()
        if self.starttls and not connection.start_tls():
            connection.unbind()
            raise LDAPException(f"STARTTLS refused: {connection.result.get('description')}")
        return connection

    def _authenticate(self, login: str, password: str) -> DirectoryUser | None:
        server = self._server()
        service = None
        try:
            if self._bind_dn is not None and self._bind_password is not None:
                service = self._connection(server, self._bind_dn, self._bind_password)
                if not service.bind():
                    log.error(
                        "directory sign-in: the service bind as %s was refused (%s); check "
                        "OTKLIK_LDAP_BIND_DN and its secret",
                        self._bind_dn, service.result.get("description"),
                    )  # fmt: skip
                    return None
            if self.user_dn_template is not None:
                user_dn: str | None = self.user_dn_template.format(login=escape_rdn(login))
            else:
                user_dn = self._find_user(service or self._connection(server, "", ""), login)
            if user_dn is None:
                log.info("directory sign-in of %r refused: no such user in the directory", login)
                return None
            user = self._connection(server, user_dn, password)
            try:
                if not user.bind():
                    log.info(
                        "directory sign-in of %r refused: %s",
                        login, user.result.get("description"),
                    )  # fmt: skip
                    return None
                reader = service or user
                name = self._display_name(reader, user_dn) or login
                groups = self._groups(reader, user_dn)
            finally:
                user.unbind()
            return DirectoryUser(login, name, groups)
        finally:
            if service is not None:
                service.unbind()

    def _find_user(self, connection: Connection, login: str) -> str | None:
        query = self.user_filter.format(login=escape_filter_chars(login))
        self._search(connection, self.user_base or "", query, SUBTREE, [])
        entries = [e for e in connection.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            if entries:
                log.warning(
                    "directory sign-in of %r refused: %d entries match", login, len(entries)
                )
            return None
        return str(entries[0]["dn"])

    def _entry(
        self, connection: Connection, dn: str, attributes: list[str]
    ) -> dict[str, Any] | None:
        """The entry's ``attributes`` (those it has); None when there is no entry ``dn``."""
        self._search(connection, dn, "(objectClass=*)", BASE, attributes)
        for entry in connection.response or []:
            if entry.get("type") == "searchResEntry":
                found: dict[str, Any] = entry.get("attributes") or {}
                return found
        return None

    def _display_name(self, connection: Connection, dn: str) -> str | None:
        attributes = self._entry(connection, dn, ["displayName", "cn"]) or {}
        for name in ("displayName", "cn"):
            value = attributes.get(name)
            if isinstance(value, list):
                value = value[0] if value else None
            if value:
                return str(value)
        return None

    def _groups(self, connection: Connection, dn: str) -> tuple[str, ...]:
        query = self.group_filter.format(dn=escape_filter_chars(dn))
        self._search(connection, self.group_base, query, SUBTREE, [])
        found = (
            str(e["dn"]) for e in connection.response or [] if e.get("type") == "searchResEntry"
        )
        return tuple(sorted(dn for dn in found if _key(dn) in self.groups))

    def _search(
        self, connection: Connection, base: str, query: str, scope: str, attributes: list[str]
    ) -> None:
        connection.search(base, query, search_scope=scope, attributes=attributes or ["1.1"])
        code = connection.result.get("result")
        if code not in (0, 32):  # 32: no such object (an empty group base answers so)
            raise LDAPException(
                f"search under {base} failed: {connection.result.get('description')}"
            )
