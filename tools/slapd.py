"""A real OpenLDAP server (Debian's ``slapd``) for the directory sign-in tests: a minimal
slapd.conf with the mdb backend in a temporary directory, slapd in the foreground on a free
port of 127.0.0.1, people and groups loaded with ldap3 as the directory's root. Nothing of the
system's slapd (its /etc/ldap/slapd.d, its service) is read or touched.

    server = SlapdServer(directory); server.start()
    server.add_person("olga", "her password", "Ольга Петрова")
    server.add_group("otklik-moderators", ["olga"]); server.set_members(...)
    server.stop()
"""

import shutil
import subprocess
import time
from pathlib import Path

from ldap3 import MODIFY_REPLACE, Connection, Server

from tools.kafka import free_port

PACKAGE = "slapd"
INSTALL_HINT = (
    "apt-get install -y slapd (Debian's OpenLDAP server, for the directory sign-in tests)"
)
BASE = "dc=otklik,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PASSWORD = "slapd-root-secret"  # noqa: S105 - a throwaway server of the tests
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")

_CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath {modules}
moduleload back_mdb
pidfile {directory}/slapd.pid
argsfile {directory}/slapd.args

database mdb
maxsize 16777216
suffix "{base}"
rootdn "{root_dn}"
rootpw {root_password}
directory {directory}/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by * read
"""


def slapd_binary() -> str | None:
    found = shutil.which("slapd")
    if found is None and Path("/usr/sbin/slapd").is_file():
        found = "/usr/sbin/slapd"
    return found


def missing_tools() -> list[str]:
    return [] if slapd_binary() and (SCHEMA / "core.schema").is_file() else [PACKAGE]


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


class SlapdServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        binary = slapd_binary()
        if binary is None:
            raise FileNotFoundError(f"slapd missing. {INSTALL_HINT}")
        (self.directory / "db").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "slapd.conf"
        conf.write_text(
            _CONF.format(
                schema=SCHEMA, modules=MODULES, directory=self.directory, base=BASE,
                root_dn=ROOT_DN, root_password=ROOT_PASSWORD,
            ),
            encoding="utf-8",
        )  # fmt: skip
        self.port = free_port()
        log = (self.directory / "slapd.log").open("wb")
        # -d 0: stay in the foreground (the test session owns the process) without debug output.
        command = [binary, "-h", f"{self.url}/", "-f", str(conf), "-d", "0"]
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                output = (self.directory / "slapd.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"slapd exited with {self._process.returncode}: {output}")
            try:
                with self._root() as connection:
                    if connection.bound:
                        break
            except Exception:  # noqa: S110 - not listening yet
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"slapd did not answer on {self.url} within {timeout:.0f}s")
            time.sleep(0.05)
        with self._root() as connection:
            self._add(
                connection, BASE, ["dcObject", "organization"], {"dc": "otklik", "o": "otklik"}
            )
            for ou, dn in (("people", PEOPLE), ("groups", GROUPS)):
                self._add(connection, dn, ["organizationalUnit"], {"ou": ou})

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def _root(self) -> Connection:
        server = Server(self.url, connect_timeout=2)
        return Connection(server, ROOT_DN, ROOT_PASSWORD, auto_bind=True, receive_timeout=5)

    @staticmethod
    def _add(
        connection: Connection, dn: str, classes: list[str], attributes: dict[str, object]
    ) -> None:
        if not connection.add(dn, classes, attributes):
            raise RuntimeError(f"slapd refused to add {dn}: {connection.result}")

    def add_person(self, uid: str, password: str, name: str) -> str:
        dn = person_dn(uid)
        surname = name.rsplit(maxsplit=1)[-1] if name.split() else uid
        attributes = {"uid": uid, "cn": name, "sn": surname, "displayName": name}
        with self._root() as connection:
            self._add(connection, dn, ["inetOrgPerson"], {**attributes, "userPassword": password})
        return dn

    def add_group(self, cn: str, members: list[str]) -> str:
        """A groupOfNames of the people ``members`` (uids); the schema wants one member at
        least, so an empty group holds the root's DN."""
        dn = group_dn(cn)
        with self._root() as connection:
            self._add(
                connection, dn, ["groupOfNames"], {"cn": cn, "member": self._members(members)}
            )
        return dn

    def set_members(self, cn: str, members: list[str]) -> None:
        with self._root() as connection:
            change = {"member": [(MODIFY_REPLACE, self._members(members))]}
            if not connection.modify(group_dn(cn), change):
                raise RuntimeError(f"slapd refused to change {cn}: {connection.result}")

    @staticmethod
    def _members(uids: list[str]) -> list[str]:
        return [person_dn(uid) for uid in uids] or [ROOT_DN]
