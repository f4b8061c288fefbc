"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the tests that
send e-mail (Alertmanager's alerts, the reports) and for trying a mail setting by hand.

    with SmtpServer(users={"otklik": "secret"}) as smtp:   # AUTH required when users are given
        ...send to 127.0.0.1:smtp.port...
        mail = smtp.wait_for(lambda m: "Overdue" in m.subject, timeout=60)

``python -m tools.smtp`` listens on a free port and prints each message it receives.
"""

import argparse
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tools.kafka import free_port
from tools.servers import Started


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: tuple[str, ...]
    login: str | None  # who authenticated, None without AUTH
    message: EmailMessage = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        """The plain-text body, decoded."""
        body = self.message.get_body(preferencelist=("plain",))
        return "" if body is None else cast(EmailMessage, body).get_content()


class _Recorder:
    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        self.received: list[ReceivedMail] = []
        self.changed = threading.Condition()

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        # handled=False: aiosmtpd answers a failure (535); True would leave the client waiting
        ok = self.users.get(login) == password
        return AuthResult(success=ok, handled=False, auth_data=login)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Checked here rather than with aiosmtpd's auth_required, which warns (an error in the
        # tests) when AUTH goes without TLS, as it does on the loopback.
        if self.users and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        mail = ReceivedMail(
            sender=str(envelope.mail_from),
            recipients=tuple(envelope.rcpt_tos),
            login=session.auth_data if session.authenticated else None,
            message=message_from_bytes(content, policy=policy.default),
        )
        with self.changed:
            self.received.append(mail)
            self.changed.notify_all()
        return "250 OK"


class SmtpServer(Started):
    """aiosmtpd in a thread of its own on a free port; with ``users`` only a client that logs in
    (PLAIN, allowed without TLS on the loopback) may send."""

    def __init__(self, users: Mapping[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._recorder = _Recorder(users or {})
        self._controller = Controller(
            self._recorder,
            hostname=self.host,
            port=self.port,
            authenticator=self._recorder.authenticate if users else None,
            auth_require_tls=False,
            # aiosmtpd's LOGIN prompts "User Name" where Go's clients (Alertmanager, Grafana)
            # expect "Username:" and give up; PLAIN is what every client speaks.
            auth_exclude_mechanism=["LOGIN"],
        )

    @property
    def received(self) -> list[ReceivedMail]:
        with self._recorder.changed:
            return list(self._recorder.received)

    def wait_for(
        self, matches: Callable[[ReceivedMail], bool], timeout: float = 60
    ) -> ReceivedMail:
        """The first message received that ``matches``, waiting for it up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._recorder.changed:
            while True:
                found = [mail for mail in self._recorder.received if matches(mail)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    subjects = [mail.subject for mail in self._recorder.received]
                    raise TimeoutError(f"no matching e-mail in {timeout} s; received: {subjects}")
                self._recorder.changed.wait(left)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A local SMTP server that prints what it gets")
    parser.add_argument("--user", action="append", default=[], help="LOGIN:PASSWORD (AUTH on)")
    args = parser.parse_args()
    users = dict(item.split(":", 1) for item in args.user)
    with SmtpServer(users) as smtp:
        print(f"SMTP on {smtp.host}:{smtp.port}; Ctrl+C to stop")
        shown: set[int] = set()
        try:
            while True:
                mail = smtp.wait_for(lambda m: id(m) not in shown, timeout=3600)
                shown.add(id(mail))
                print(f"--- {mail.sender} -> {', '.join(mail.recipients)}: {mail.subject}")
                print(mail.text())
        except (KeyboardInterrupt, TimeoutError):
            pass


if __name__ == "__main__":
    main()
