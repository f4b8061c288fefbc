"""VK Bots Long Poll for communities the city administers (community token).

vk-api's ``VkBotLongPoll`` keeps the server, key and ts; the check loop is ours so that each
``failed`` reply is handled as VK documents it *and* counted: 1 — history lost, continue from the
new ts; 2 — key expired, get a new key and keep ts; 3 — both lost, get a new key and ts. The ts is
stored after each batch is durable on the raw topic, so a restart resumes where it stopped while
VK still keeps that history. Network failures reconnect with jittered exponential backoff.
"""

import asyncio
import logging
import random
from typing import Any

import requests
from vk_api.bot_longpoll import VkBotLongPoll

from ingest.domain.sources import Source
from ingest.handlers import VkEventIngestor
from ingest.storage.cursors import CursorStore
from ingest.vk.client import VkCallError, VkClient
from ingest.vk.errors import ErrorAction

log = logging.getLogger(__name__)
TS_KEY = "longpoll_ts"


class LongPollListener:
    def __init__(
        self,
        source: Source,
        client: VkClient,
        ingestor: VkEventIngestor,
        cursors: CursorStore,
        *,
        wait: int = 25,
        max_backoff: float = 30.0,
    ) -> None:
        assert source.group_id is not None
        self._source, self._client, self._ingestor, self._cursors = (
            source,
            client,
            ingestor,
            cursors,
        )
        self._wait, self._max_backoff = wait, max_backoff
        self._poll: VkBotLongPoll | None = None

    async def run(self) -> None:
        """Listen until cancelled, or until VK says the token is invalid."""
        failures = 0
        while not self._client.token_invalid:
            try:
                await self.check_once()
                failures = 0
            except (requests.RequestException, ValueError, VkCallError) as error:
                if isinstance(error, VkCallError) and error.action is ErrorAction.PAUSE_TOKEN:
                    # the client said why; a captcha passes, so listen again once it may
                    self._poll = None
                    await asyncio.sleep(self._client.token_paused_for())
                    continue
                if isinstance(error, VkCallError) and error.action is not ErrorAction.RETRY:
                    log.error("%s: long poll stopped: %s", self._source.id, error)
                    return
                failures += 1
                self._poll = None  # reconnect: a fresh key, the stored ts
                delay = random.uniform(0, min(self._max_backoff, 0.5 * 2**failures))  # noqa: S311
                log.warning(
                    "%s: long poll failed (%r); retry in %.1fs", self._source.id, error, delay
                )
                await asyncio.sleep(delay)

    async def check_once(self) -> int:
        """One long poll request; returns how many events were published."""
        poll = self._poll or await self._connect()
        reply = await asyncio.to_thread(self._request, poll)
        if "failed" in reply:
            await asyncio.to_thread(self._recover, poll, reply)
            return 0
        published = await self._ingestor.on_events(reply.get("updates", []))
        poll.ts = reply["ts"]
        await self._cursors.put(self._source.id, TS_KEY, str(poll.ts))
        return published

    async def _connect(self) -> VkBotLongPoll:
        poll = await asyncio.to_thread(self._new_poll)
        stored = await self._cursors.get(self._source.id, TS_KEY)
        if stored is not None:
            poll.ts = stored
        self._poll = poll
        return poll

    def _new_poll(self) -> VkBotLongPoll:
        with self._client.api_errors("groups.getLongPollServer"):
            return VkBotLongPoll(self._client.api, self._source.group_id, wait=self._wait)

    def _request(self, poll: VkBotLongPoll) -> dict[str, Any]:
        params = {"act": "a_check", "key": poll.key, "ts": poll.ts, "wait": self._wait}
        response = poll.session.get(poll.url, params=params, timeout=self._wait + 10)
        response.raise_for_status()
        reply: dict[str, Any] = response.json()
        return reply

    def _recover(self, poll: VkBotLongPoll, reply: dict[str, Any]) -> None:
        failed = int(reply["failed"])
        self._ingestor.metrics.vk_longpoll_failed.labels(failed=str(failed)).inc()
        if failed == 1:
            log.warning(
                "%s: long poll history lost; continuing from ts %s", self._source.id, reply["ts"]
            )
            poll.ts = reply["ts"]
            return
        if failed == 3:
            log.warning("%s: long poll key and history lost; new ts", self._source.id)
        with self._client.api_errors("groups.getLongPollServer"):
            poll.update_longpoll_server(update_ts=failed == 3)
