"""VK API client: vk-api underneath, with otklik's pacing, retries and error policy on top.

One client per token: vk-api serialises a session's calls behind a lock and spaces them by
``RPS_DELAY``, which is how the per-token rate limit is kept. The library's own handling of error
6 (sleep 0.5 s, retry without end) is replaced by a bounded, jittered retry for 6, 9, 10 and
network errors. Calls are blocking; the async wrappers run them in a thread. The library's
captcha handler is dropped too: it raises its own exception, which would escape otklik's error
policy; a captcha is VK's error 14 here, and it pauses the token (a person has to act).
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
import vk_api
from pydantic import SecretStr
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential
from vk_api.requests_pool import VkRequestsPool

from ingest.domain.vk_batching import EXECUTE_RESPONSE_LIMIT, BatchSize
from ingest.vk.errors import NO_EXECUTE_CODES, ErrorAction, action_for
from kernel.observability import Metrics

log = logging.getLogger(__name__)
VK_API_URL = "https://api.vk.ru"
CAPTCHA_PAUSE = 1800.0  # seconds a token rests after a captcha: VK keeps asking if called at once


class VkCallError(Exception):
    """A VK API call that failed for good; ``action`` says what the caller should do."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: [{code}] {message}")
        self.method, self.code, self.action = method, code, action_for(code)


class _RedirectSession(requests.Session):
    """Sends vk-api's requests to another base URL (the fake VK server in tests)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base_url = base_url.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(VK_API_URL):
            url = self._base_url + url[len(VK_API_URL) :]
        return super().request(method, url, *args, **kwargs)


def _transient(error: BaseException) -> bool:
    if isinstance(error, VkCallError):
        return error.action is ErrorAction.RETRY
    return isinstance(error, requests.RequestException | vk_api.ApiHttpError)


class VkClient:
    def __init__(
        self,
        token: SecretStr,
        *,
        token_name: str,
        metrics: Metrics,
        api_url: str = VK_API_URL,
        api_version: str = "5.199",
        rps: float = 3.0,
        attempts: int = 5,
        max_backoff: float = 30.0,
        method_pause: float = 3600.0,
        captcha_pause: float = CAPTCHA_PAUSE,
        execute_response_limit: int = EXECUTE_RESPONSE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        session = _RedirectSession(api_url) if api_url.rstrip("/") != VK_API_URL else None
        self._vk = vk_api.VkApi(
            token=token.get_secret_value(), api_version=api_version, session=session
        )
        self._vk.RPS_DELAY = 1.0 / rps
        self._vk.error_handlers.pop(6, None)
        self._vk.error_handlers.pop(14, None)
        self.token_name = token_name
        self.token_invalid = False
        self._metrics = metrics
        self._retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(multiplier=0.5, max=max_backoff),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        self._method_pause = method_pause
        self._paused_until: dict[str, float] = {}
        self._captcha_pause = captcha_pause
        self._token_paused_until: float | None = None
        self.execute_response_limit = execute_response_limit
        self._clock = clock
        self._execute_allowed = True

    @property
    def api(self) -> vk_api.VkApi:
        return self._vk

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """One API call with retries; raises VkCallError when it cannot succeed."""
        self._check_usable(method)
        try:
            return self._retrying(self._call_once, method, params)
        except (requests.RequestException, vk_api.ApiHttpError) as error:
            if isinstance(error, requests.RequestException):
                self._count(method, "network")
            raise VkCallError(method, 0, f"network error: {error}") from error

    async def acall(self, method: str, params: dict[str, Any]) -> Any:
        return await asyncio.to_thread(self.call, method, params)

    def batch(
        self, method: str, calls: list[dict[str, Any]], size: BatchSize | None = None
    ) -> list[Any]:
        """Many calls of one method: through ``execute``, ``size.calls`` a request, where the
        token allows it, else one by one. A request VK finds too big (13) shrinks ``size`` and
        is asked again smaller, so nothing is left out. Each result is the response or the
        VkCallError of that call, in the order of ``calls``."""
        size = size or BatchSize(limit=self.execute_response_limit)
        results: list[Any] = []
        while len(results) < len(calls):
            chunk = calls[len(results) : len(results) + size.calls]
            if self._execute_allowed and len(chunk) > 1:
                try:
                    results.extend(self._retrying(self._execute, method, chunk, size))
                    continue
                except VkCallError as error:
                    if error.action is ErrorAction.SHRINK:
                        size.too_big(len(chunk))
                        log.warning(
                            "%s: execute of %d %s too big (%s); now %d a request",
                            self.token_name,
                            len(chunk),
                            method,
                            error,
                            size.calls,
                        )
                        continue
                    if error.code not in NO_EXECUTE_CODES:
                        raise
                    log.info(
                        "%s: execute unavailable (%s); calling one by one", self.token_name, error
                    )
                    self._execute_allowed = False
            results.append(self._single(method, chunk[0], size))
        return results

    async def abatch(
        self, method: str, calls: list[dict[str, Any]], size: BatchSize | None = None
    ) -> list[Any]:
        return await asyncio.to_thread(self.batch, method, calls, size)

    def _single(self, method: str, params: dict[str, Any], size: BatchSize) -> Any:
        """One call of a batch on its own: VK's 5 MB limit is on execute, so this is where a
        request too big for it ends. Should VK still refuse one, the caller's next calls ask
        for fewer items (this one is its error: nothing of it was read)."""
        result = self._call_or_error(method, params, also=ErrorAction.SHRINK)
        if isinstance(result, VkCallError):
            if result.action is ErrorAction.SHRINK:
                size.fewer_items()
            return result
        size.noted(_json_size(result), 1)
        return result

    def _call_or_error(
        self, method: str, params: dict[str, Any], also: ErrorAction = ErrorAction.INACCESSIBLE
    ) -> Any:
        try:
            return self.call(method, params)
        except VkCallError as error:
            if error.action in {ErrorAction.INACCESSIBLE, also}:
                return error
            raise

    @contextmanager
    def api_errors(self, method: str) -> Iterator[None]:
        """Count a call made through vk-api directly and turn its errors into VkCallError."""
        try:
            yield
        except vk_api.ApiError as error:
            self._count(method, str(error.code))
            failed = VkCallError(method, int(error.code), _message(error.error))
            self.note_failure(failed)
            raise failed from error
        except vk_api.ApiHttpError:
            self._count(method, "http")
            raise
        self._count(method, "ok")

    def _call_once(self, method: str, params: dict[str, Any]) -> Any:
        with self.api_errors(method):
            return self._vk.method(method, params)

    def _execute(self, method: str, calls: list[dict[str, Any]], size: BatchSize) -> list[Any]:
        self._check_usable("execute")
        pool = VkRequestsPool(self._vk)
        results = [pool.method(method, params) for params in calls]
        with self.api_errors("execute"):
            pool.execute()
        # VK's own measure is its JSON; this one leaves out the envelope and errors (bytes).
        size.measured(_json_size([r.result if r.ok else False for r in results]), len(calls))
        return [self._pooled(method, result) for result in results]

    def _pooled(self, method: str, result: Any) -> Any:
        if result.ok:
            return result.result
        error = result.error
        failed = VkCallError(method, int(error["error_code"]), _message(error))
        self._count(method, str(failed.code))
        if failed.action is not ErrorAction.INACCESSIBLE:
            self.note_failure(failed)
            raise failed
        return failed

    def _check_usable(self, method: str) -> None:
        if self.token_invalid:
            raise VkCallError(method, 5, f"token {self.token_name} was marked invalid")
        if self.token_paused_for() > 0:
            raise VkCallError(method, 14, f"token {self.token_name} paused after a captcha")
        until = self._paused_until.get(method)
        if until is not None and self._clock() < until:
            raise VkCallError(method, 29, "method paused after its rate limit was reached")

    def note_failure(self, error: VkCallError) -> None:
        if error.action is ErrorAction.TOKEN_INVALID and not self.token_invalid:
            self.token_invalid = True
            self._metrics.vk_token_invalid.labels(token=self.token_name).set(1)
            log.error("VK token %s is invalid (%s): renew it", self.token_name, error)
        elif error.action is ErrorAction.PAUSE_TOKEN:
            self._token_paused_until = self._clock() + self._captcha_pause
            log.error(
                "VK asks for a captcha on token %s (%s): it is paused for %.0fs; a person must "
                "solve the captcha as that account in VK, or issue a new token",
                self.token_name,
                error,
                self._captcha_pause,
            )
        elif error.action is ErrorAction.PAUSE_METHOD:
            self._paused_until[error.method] = self._clock() + self._method_pause
            log.warning(
                "VK %s rate limit reached: paused for %.0fs", error.method, self._method_pause
            )

    def token_paused_for(self) -> float:
        """Seconds until the token may be used again after a captcha (0: usable)."""
        if self._token_paused_until is None:
            return 0.0
        return max(0.0, self._token_paused_until - self._clock())

    def _count(self, method: str, result: str) -> None:
        self._metrics.vk_calls.labels(method=method, result=result).inc()


def _message(error: dict[str, Any]) -> str:
    """VK's error message; for a captcha, with the picture a person would have to read."""
    message = str(error.get("error_msg"))
    if "captcha_img" in error:
        message += f" (captcha {error['captcha_img']})"
    return message


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
