"""The SMTP edge: one message handed to the configured server (smtplib, in a thread), with a
few quick retries (tenacity) for a server that hiccups; what still fails is the sender's to
retry later."""

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from kernel.settings import Settings

TIMEOUT_SECONDS = 30.0
TRIES = 3


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig | None":
        """None when OTKLIK_SMTP_HOST is unset: deliveries are recorded, nothing is sent."""
        if settings.smtp_host is None:
            return None
        password = None
        if settings.smtp_password_secret is not None:
            password = settings.secret(settings.smtp_password_secret).get_secret_value()
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=password,
            starttls=settings.smtp_starttls,
        )


def _send(config: SmtpConfig, message: EmailMessage) -> None:
    with smtplib.SMTP(config.host, config.port, timeout=TIMEOUT_SECONDS) as client:
        if config.starttls:
            client.starttls()
        if config.user is not None:
            client.login(config.user, config.password or "")
        client.send_message(message)


async def send_message(config: SmtpConfig, message: EmailMessage, backoff: float = 2.0) -> None:
    """Sent, or the last error after TRIES attempts ``backoff``·2ⁿ seconds apart (a refusal,
    a server down, a timeout)."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((smtplib.SMTPException, OSError)),
        stop=stop_after_attempt(TRIES),
        wait=wait_exponential(multiplier=backoff, max=30),
        reraise=True,
    ):
        with attempt:
            await asyncio.to_thread(_send, config, message)
