"""The webhook edge: one signed POST to a receiving system (httpx), with a few quick retries
(tenacity) for a receiver that is down or overloaded; what still fails is the sender's to retry
later. Any 2xx is an accept."""

from dataclasses import dataclass

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from kernel.settings import Settings

TIMEOUT_SECONDS = 30.0
TRIES = 3


class WebhookRefusedError(Exception):
    """The receiver answered, but not with 2xx; the URL is left out (it may hold a token)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"получатель ответил HTTP {status}")
        self.status = status

    @property
    def retryable(self) -> bool:
        """5xx, 408 and 429: worth another try within the round."""
        return self.status >= 500 or self.status in (408, 429)


def _retryable(error: BaseException) -> bool:
    if isinstance(error, WebhookRefusedError):
        return error.retryable
    return isinstance(error, httpx.TransportError)


@dataclass(frozen=True)
class WebhookConfig:
    key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> "WebhookConfig | None":
        """None when OTKLIK_WEBHOOK_SIGNING_SECRET is unset: webhook deliveries wait."""
        if settings.webhook_signing_secret is None:
            return None
        return cls(key=settings.secret(settings.webhook_signing_secret).get_secret_value().encode())


async def post(url: str, content: bytes, headers: dict[str, str], backoff: float = 2.0) -> None:
    """Accepted, or the last error after TRIES attempts ``backoff``·2ⁿ seconds apart."""
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(TRIES),
            wait=wait_exponential(multiplier=backoff, max=30),
            reraise=True,
        ):
            with attempt:
                response = await client.post(url, content=content, headers=headers)
                if not response.is_success:
                    raise WebhookRefusedError(response.status_code)
