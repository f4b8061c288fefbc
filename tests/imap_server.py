"""A real IMAP server for the tests: Debian's dovecot (package dovecot-imapd), run as a child
process with its own configuration, mail and state in a temporary directory, plain-text login on
127.0.0.1 and a free port, no SSL. Any user name logs in with ``PASSWORD`` and gets its own
maildir, so each test takes a fresh user instead of a fresh server.

dovecot refuses to run its login processes as root, so under root the whole server runs as the
unprivileged ``dovecot`` user the package creates; otherwise it runs as the current user.
"""

import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.domain.sources import ImapConfig
from tests.conftest import unavailable

PASSWORD = "imap-test-password"
PASSWORD_SECRET = "imap_password"
INSTALL_HINT = "install Debian's dovecot-imapd (apt-get install -y dovecot-imapd)"
_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
"""


@dataclass
class ImapServer:
    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    def new_user(self) -> str:
        return f"u{uuid.uuid4().hex[:10]}"

    def config(self, user: str) -> ImapConfig:
        return ImapConfig(
            host=self.host, port=self.port, ssl=False, user=user, password=PASSWORD_SECRET
        )

    def deliver(self, user: str, mails: list[bytes]) -> list[int]:
        """Put ``mails`` into the user's INBOX (IMAP APPEND); their UIDs."""
        uids = []
        with imaplib.IMAP4(self.host, self.port, timeout=10) as connection:
            connection.login(user, PASSWORD)
            for mail in mails:
                status, data = connection.append("INBOX", None, None, mail)
                found = _APPENDUID.search(data[0] if data and isinstance(data[0], bytes) else b"")
                assert status == "OK" and found is not None, data
                uids.append(int(found.group(2)))
        return uids

    def uidvalidity(self, user: str) -> int:
        with imaplib.IMAP4(self.host, self.port, timeout=10) as connection:
            connection.login(user, PASSWORD)
            connection.select("INBOX", readonly=True)
            _, data = connection.response("UIDVALIDITY")
            value = data[-1]
            assert isinstance(value, bytes)
            return int(value)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot") or "/usr/sbin/dovecot"
    return found if Path(found).is_file() and os.access(found, os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> tuple[str, str, int, int]:
    account = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return account.pw_name, grp.getgrgid(account.pw_gid).gr_name, account.pw_uid, account.pw_gid


def start_dovecot(binary: str, root: Path, timeout: float = 20.0) -> ImapServer:
    user, group, uid, gid = _run_as()
    port = _free_port()
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    config = root / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            root=root, user=user, group=group, uid=uid, gid=gid, port=port, password=PASSWORD
        )
    )
    for path in (root, *root.rglob("*")):
        os.chown(path, uid, gid)
    as_other = os.geteuid() != uid
    with (root / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [binary, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            user=uid if as_other else None,
            group=gid if as_other else None,
            extra_groups=[] if as_other else None,
        )
    server = ImapServer("127.0.0.1", port, root, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return server
        time.sleep(0.1)
    server.stop()
    log = "\n".join(p.read_text(errors="replace") for p in root.glob("*.log"))
    raise RuntimeError(f"dovecot did not start on port {port}:\n{log[-2000:]}")


@pytest.fixture(scope="session", name="imap_server")
def imap_server_fixture() -> Iterator[ImapServer]:
    """Import this into a test module (``noqa: F401``) and ask for ``imap_server``."""
    binary = dovecot_binary()
    if binary is None:
        unavailable(f"dovecot is missing: {INSTALL_HINT}")
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="otk-imap-"))
    try:
        server = start_dovecot(binary, root)
    except (OSError, KeyError, RuntimeError) as error:
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"dovecot could not start: {error}")
        raise
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
