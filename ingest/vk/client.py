"""VK API client: vk-api underneath, with otklik's pacing, retries and error policy on top.

One client per token: vk-api serialises a session's calls behind a lock and spaces them by
``RPS_DELAY``, which is how the per-token rate limit is kept. The library's own handling of error
6 (sleep 0.5 s, retry without end) is replaced by a bounded, jittered retry for 6, 9, 10 and
network errors. Calls are blocking; the async wrappers run them in a thread.
"""

import asyncio
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

from ingest.vk.errors import NO_EXECUTE_CODES, ErrorAction, action_for
from kernel.observability import Metrics

log = logging.getLogger(__name__)
VK_API_URL = "https://api.vk.ru"
EXECUTE_LIMIT = 25  # VK runs at most 25 API calls in one execute


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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        session = _RedirectSession(api_url) if api_url.rstrip("/") != VK_API_URL else None
        self._vk = vk_api.VkApi(
            token=token.get_secret_value(), api_version=api_version, session=session
        )
        self._vk.RPS_DELAY = 1.0 / rps
        self._vk.error_handlers.pop(6, None)
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

    def batch(self, method: str, calls: list[dict[str, Any]]) -> list[Any]:
        """Many calls of one method: through ``execute`` (25 a request) where the token allows
        it, else one by one. Each result is the response or the VkCallError of that call."""
        if self._execute_allowed and len(calls) > 1:
            try:
                return self._retrying(self._execute, method, calls)
            except VkCallError as error:
                if error.code not in NO_EXECUTE_CODES:
                    raise
                log.info("%s: execute unavailable (%s); calling one by one", self.token_name, error)
                self._execute_allowed = False
        return [self._call_or_error(method, params) for params in calls]

    async def abatch(self, method: str, calls: list[dict[str, Any]]) -> list[Any]:
        return await asyncio.to_thread(self.batch, method, calls)

    def _call_or_error(self, method: str, params: dict[str, Any]) -> Any:
        try:
            return self.call(method, params)
        except VkCallError as error:
            if error.action is ErrorAction.INACCESSIBLE:
                return error
            raise

    @contextmanager
    def api_errors(self, method: str) -> Iterator[None]:
        """Count a call made through vk-api directly and turn its errors into VkCallError."""
        try:
            yield
        except vk_api.ApiError as error:
            self._count(method, str(error.code))
            failed = VkCallError(method, int(error.code), str(error.error.get("error_msg")))
            self.note_failure(failed)
            raise failed from error
        except vk_api.ApiHttpError:
            self._count(method, "http")
            raise
        self._count(method, "ok")

    def _call_once(self, method: str, params: dict[str, Any]) -> Any:
        with self.api_errors(method):
            return self._vk.method(method, params)

    def _execute(self, method: str, calls: list[dict[str, Any]]) -> list[Any]:
        self._check_usable("execute")
        pool = VkRequestsPool(self._vk)
        results = [pool.method(method, params) for params in calls]
        with self.api_errors("execute"):
            pool.execute()
        return [self._pooled(method, result) for result in results]

    def _pooled(self, method: str, result: Any) -> Any:
        if result.ok:
            return result.result
        error = result.error
        failed = VkCallError(method, int(error["error_code"]), str(error.get("error_msg")))
        self._count(method, str(failed.code))
        if failed.action is not ErrorAction.INACCESSIBLE:
            self.note_failure(failed)
            raise failed
        return failed

    def _check_usable(self, method: str) -> None:
        if self.token_invalid:
            raise VkCallError(method, 5, f"token {self.token_name} was marked invalid")
        until = self._paused_until.get(method)
        if until is not None and self._clock() < until:
            raise VkCallError(method, 29, "method paused after its rate limit was reached")

    def note_failure(self, error: VkCallError) -> None:
        if error.action is ErrorAction.TOKEN_INVALID and not self.token_invalid:
            self.token_invalid = True
            self._metrics.vk_token_invalid.labels(token=self.token_name).set(1)
            log.error("VK token %s is invalid (%s): renew it", self.token_name, error)
        elif error.action is ErrorAction.PAUSE_METHOD:
            self._paused_until[error.method] = self._clock() + self._method_pause
            log.warning(
                "VK %s rate limit reached: paused for %.0fs", error.method, self._method_pause
            )

    def _count(self, method: str, result: str) -> None:
        self._metrics.vk_calls.labels(method=method, result=result).inc()
