"""A small Telegram Bot API client: ``sendMessage`` and nothing else
(https://core.telegram.org/bots/api#making-requests).

Every answer is JSON ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …,
"description": …, "parameters": {"retry_after": …}}``. Flood control (429) is waited out as the
answer says, a few times; another refusal (chat not found, bot blocked: 400, 403) is for good; a
server error or no answer is an outage for the sender to try again later."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from kernel.settings import Settings

TIMEOUT_SECONDS = 30.0
FLOOD_WAITS = 3  # 429s waited out in one send; then the sender's own backoff takes over
LONGEST_WAIT = 300.0  # a longer retry_after is left to the sender's next round


class TelegramRefusedError(Exception):
    """Telegram refused the message for good (the reason is its description)."""


class TelegramUnavailableError(Exception):
    """No usable answer (server error, flood control for too long): try again later."""


@dataclass(frozen=True)
class TelegramConfig:
    api: str
    token: str = ""

    def __repr__(self) -> str:  # the token is a password: never in a log line
        return f"TelegramConfig(api={self.api!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> "TelegramConfig | None":
        """None without OTKLIK_TELEGRAM_TOKEN_SECRET: Telegram notifications wait."""
        if settings.telegram_token_secret is None:
            return None
        token = settings.secret(settings.telegram_token_secret).get_secret_value()
        return cls(api=settings.telegram_api.rstrip("/"), token=token)


async def send_message(
    config: TelegramConfig,
    chat_id: str,
    text: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> dict[str, Any]:
    """The sent Message; plain text (no parse_mode), so nothing in it needs escaping."""
    url = f"{config.api}/bot{config.token}/sendMessage"
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        for _ in range(FLOOD_WAITS + 1):
            try:
                response = await client.post(url, json={"chat_id": chat_id, "text": text})
                answer = response.json()
            except (httpx.HTTPError, ValueError) as error:
                # The URL holds the token: name the error's kind, not its text.
                raise TelegramUnavailableError(type(error).__name__) from None
            if not isinstance(answer, dict):
                raise TelegramUnavailableError(f"HTTP {response.status_code}")
            if answer.get("ok") is True:
                result = answer.get("result")
                return result if isinstance(result, dict) else {}
            description = str(answer.get("description") or f"HTTP {response.status_code}")
            code = answer.get("error_code", response.status_code)
            if code == 429:
                wait = float((answer.get("parameters") or {}).get("retry_after", 1))
                if wait > LONGEST_WAIT:
                    raise TelegramUnavailableError(description)
                await sleep(wait)
                continue
            if isinstance(code, int) and 400 <= code < 500:
                raise TelegramRefusedError(description)
            raise TelegramUnavailableError(description)
    raise TelegramUnavailableError("Too Many Requests")
