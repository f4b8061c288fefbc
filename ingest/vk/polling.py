"""Polling of local VK groups the city does not run (user or service token).

Each round: ``wall.get`` for new posts; then ``wall.getComments`` (newest first, thread items
included) for every post inside the lookback window, batched through ``execute`` up to 25 posts
a request where the token allows it (fewer for a group whose comments would make the response
too big for VK: ``BatchSize``); long threads are fetched on their own. VK comment ids grow
along a wall, so a post's cursor is the highest comment id published: anything above it is new.
A cursor is stored only after what it covers is durable on the raw topic, so a restart re-reads a
little (same ids, deduplicated downstream) and never skips.

A group VK denies access to is skipped and asked again every ``RECHECK_SOURCE``; its gauge
``otklik_vk_source_inaccessible`` stays 1 until a round reads its wall again.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ingest.domain.sources import Source
from ingest.domain.vk_batching import BatchSize
from ingest.domain.vk_events import normalise_vk_object
from ingest.handlers import VkEventIngestor
from ingest.storage.cursors import CursorStore
from ingest.vk.client import VkCallError, VkClient
from ingest.vk.errors import ErrorAction

log = logging.getLogger(__name__)
PAGE = 100
THREAD_ITEMS = 10
RECHECK_INACCESSIBLE = timedelta(hours=24)
# A group is asked again sooner than a post: access is usually given back by a person who
# expects the group to be read at once (the reader account let into a closed group again).
RECHECK_SOURCE = timedelta(hours=1)
SOURCE_MARK = "inaccessible:source"


class WallPoller:
    def __init__(
        self,
        source: Source,
        client: VkClient,
        ingestor: VkEventIngestor,
        cursors: CursorStore,
        clock: Callable[[], datetime],
    ) -> None:
        assert source.group_id is not None
        self._source, self._client, self._ingestor = source, client, ingestor
        self._cursors, self._clock = cursors, clock
        self._owner = -source.group_id
        self._size = BatchSize(max_count=PAGE, limit=client.execute_response_limit)
        self._inaccessible = ingestor.metrics.vk_source_inaccessible.labels(source=source.id)

    @property
    def batch(self) -> BatchSize:
        """How much this group's ``execute`` asks for now (tests and logs read it)."""
        return self._size

    async def poll_once(self) -> int:
        """One round; returns how many messages were published."""
        mark = await self._cursors.get(self._source.id, SOURCE_MARK)
        if self._recent(mark, RECHECK_SOURCE):
            self._inaccessible.set(1)  # also after a restart: the mark is stored
            return 0
        try:
            posts = (await self._client.acall("wall.get", self._wall_params()))["items"]
        except VkCallError as error:
            await self._on_error(error, "source")
            return 0
        if mark is not None:
            await self._cursors.delete(self._source.id, SOURCE_MARK)
            log.warning("%s is accessible again: polling resumes", self._source.id)
        self._inaccessible.set(0)
        published = await self._new_posts(posts)
        since = (self._clock() - timedelta(days=self._source.polling.lookback_days)).timestamp()
        recent = [p for p in posts if p["date"] >= since or p.get("is_pinned")]
        published += await self._new_comments(recent)
        published += await self._search()
        return published

    def _wall_params(self) -> dict[str, Any]:
        return {"owner_id": self._owner, "count": self._source.polling.posts_per_round}

    async def _new_posts(self, posts: list[dict[str, Any]]) -> int:
        last = await self._cursors.get(self._source.id, "last_post") or 0
        fresh = sorted((p for p in posts if p["id"] > last), key=lambda p: p["id"])
        for post in fresh:
            await self._publish("wall_post_new", post)
        if fresh:
            await self._cursors.put(self._source.id, "last_post", fresh[-1]["id"])
        return len(fresh)

    async def _new_comments(self, posts: list[dict[str, Any]]) -> int:
        cursors = await self._cursors.all(self._source.id, "post:")
        marks = await self._cursors.all(self._source.id, "inaccessible:post:")
        posts = [p for p in posts if not self._recent(marks.get(f"inaccessible:post:{p['id']}"))]
        calls = [self._comments_params(p["id"]) for p in posts]
        try:
            pages = await self._client.abatch("wall.getComments", calls, self._size)
        except VkCallError as error:  # a captcha, a paused method: no cursor moves, next round
            await self._on_error(error, "comments")
            return 0
        self._size.end_round()
        published = 0
        for post, call, page in zip(posts, calls, pages, strict=True):
            key = f"post:{post['id']}"
            seen = int((cursors.get(key) or {}).get("max_id", 0))
            try:
                if isinstance(page, VkCallError):
                    raise page
                comments = await self._comments_above(post["id"], page, seen, call["count"])
            except VkCallError as error:
                await self._on_error(error, key)
                continue
            for comment in sorted(comments, key=lambda c: c["id"]):
                await self._publish("wall_reply_new", {**comment, "post_id": post["id"]})
            if comments:
                top = max(c["id"] for c in comments)
                await self._cursors.put(self._source.id, key, {"max_id": top})
            published += len(comments)
        return published

    def _comments_params(self, post_id: int, **extra: Any) -> dict[str, Any]:
        return {
            "owner_id": self._owner,
            "post_id": post_id,
            "count": self._size.count,
            "sort": "desc",
            "thread_items_count": THREAD_ITEMS,
            **extra,
        }

    async def _comments_above(
        self, post_id: int, page: dict[str, Any], seen: int, count: int
    ) -> list[dict[str, Any]]:
        """Every comment of the post with an id above ``seen``, thread replies included;
        ``count`` is how many items ``page`` was asked for (fewer: the last page)."""
        found: dict[int, dict[str, Any]] = {}
        offset = 0
        while True:
            items = page["items"]
            for item in items:
                replies = item.get("thread", {})
                if replies.get("count", 0) > len(replies.get("items", [])):
                    replies = {"items": await self._thread(post_id, item["id"], seen)}
                for comment in [item, *replies.get("items", [])]:
                    if comment["id"] > seen:
                        found[comment["id"]] = comment
            offset += len(items)
            if len(items) < count or min(i["id"] for i in items) <= seen:
                return list(found.values())
            params = self._comments_params(post_id, offset=offset, count=count)
            page = await self._client.acall("wall.getComments", params)

    async def _thread(self, post_id: int, comment_id: int, seen: int) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = []
        offset = 0
        while True:
            params = self._comments_params(post_id, comment_id=comment_id, offset=offset)
            items = (await self._client.acall("wall.getComments", params))["items"]
            replies.extend(items)
            offset += len(items)
            if len(items) < params["count"] or min(i["id"] for i in items) <= seen:
                return replies

    async def _search(self) -> int:
        """Posts mentioning the city anywhere in VK (newsfeed.search; user tokens only)."""
        published = 0
        for query in self._source.polling.search:
            key = f"search:{query}"
            start = await self._cursors.get(self._source.id, key) or 0
            try:
                reply = await self._client.acall(
                    "newsfeed.search", {"q": query, "start_time": start, "count": 200}
                )
            except VkCallError as error:
                await self._on_error(error, key)
                continue
            items = [i for i in reply["items"] if i["date"] >= start]
            for post in sorted(items, key=lambda i: i["date"]):
                await self._publish("wall_post_new", post)
            if items:
                await self._cursors.put(self._source.id, key, max(i["date"] for i in items) + 1)
            published += len(items)
        return published

    async def _publish(self, event_type: str, obj: dict[str, Any]) -> None:
        official = self._ingestor.catalog.official_ids()
        message = normalise_vk_object(event_type, obj, self._source, official, self._clock())
        if message is not None:
            await self._ingestor.publish(message)

    def _recent(
        self, mark: dict[str, str] | None, recheck: timedelta = RECHECK_INACCESSIBLE
    ) -> bool:
        """An inaccessible mark younger than ``recheck``: skip; older ones are checked again."""
        if mark is None:
            return False
        return self._clock() < datetime.fromisoformat(mark["at"]) + recheck

    async def _on_error(self, error: VkCallError, scope: str) -> None:
        """Inaccessible sources and posts are marked and skipped; other failures are logged and
        the next round tries again (a paused method or an invalid token is the client's state)."""
        if error.action is ErrorAction.INACCESSIBLE:
            self._ingestor.metrics.vk_inaccessible.labels(
                scope=scope.split(":", maxsplit=1)[0]
            ).inc()
            mark = {"at": self._clock().isoformat(), "reason": str(error)}
            await self._cursors.put(self._source.id, f"inaccessible:{scope}", mark)
            if scope == "source":
                self._inaccessible.set(1)
                log.error(
                    "VK denies access to %s (%s): skipped, asked again every %s; give the "
                    "token's account access to the group, or remove the source",
                    self._source.id,
                    error,
                    RECHECK_SOURCE,
                )
                return
            log.warning("%s %s is inaccessible: %s", self._source.id, scope, error)
            return
        log.error("%s: polling %s failed: %s", self._source.id, scope, error)
