"""State of the fake VK API: communities with walls, comments and a Bots Long Poll event log.

It answers in VK's documented JSON (API v5.199): ``{"response": ...}`` or ``{"error":
{"error_code", "error_msg", "request_params"}}``; long poll ``{"ts", "updates"}`` or ``{"failed":
1|2|3}``. Tests script VK's failures with ``fail_next`` and ``fail_longpoll``, deny a group with
``denied_groups`` (203) and lower ``execute_response_limit`` (13 above it). Used by tests and
benchmarks only.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "5.199"


EXECUTE_RESPONSE_LIMIT = 5 * 1024 * 1024  # VK refuses an execute that would return more (13)


class FakeApiError(Exception):
    def __init__(self, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.extra = extra  # what the error object carries besides the code and message


@dataclass
class FakeGroup:
    group_id: int
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    events: list[dict[str, Any]] = field(default_factory=list)
    key: str = "key0"
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class FakeVkState:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.groups: dict[int, FakeGroup] = {}
        self.tokens: dict[str, str] = {}  # token -> community | user | service
        self.token_groups: dict[str, int] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.closed_posts: set[tuple[int, int]] = set()
        self.longpoll_limit: int | None = None  # most updates one long poll reply carries
        # Bytes of JSON an execute may return; a test lowers it to reach it with a few comments.
        self.execute_response_limit = EXECUTE_RESPONSE_LIMIT
        self.denied_groups: set[int] = set()  # every call about these groups answers 203
        self._errors: dict[str, deque[int]] = defaultdict(deque)
        self._longpoll_failures: dict[int, deque[int]] = defaultdict(deque)
        # (photo | video | market | topic, owner id, item id) -> its comments, oldest first
        self.item_comments: dict[tuple[str, int, int], list[dict[str, Any]]] = defaultdict(list)
        self.messages: dict[int, list[dict[str, Any]]] = defaultdict(list)  # peer id -> sent

    # -- set-up used by tests -------------------------------------------------------------------
    def add_token(self, token: str, kind: str, group_id: int | None = None) -> None:
        """``group_id``: the community a community token acts for (messages.send needs it)."""
        self.tokens[token] = kind
        if group_id is not None:
            self.token_groups[token] = group_id

    def group(self, group_id: int) -> FakeGroup:
        with self.lock:
            return self.groups.setdefault(group_id, FakeGroup(group_id))

    def add_post(self, group_id: int, text: str, date: int, from_id: int | None = None) -> int:
        group = self.group(group_id)
        with self.lock:
            post_id = next(group.ids)
            post = {
                "id": post_id,
                "owner_id": -group_id,
                "from_id": from_id if from_id is not None else -group_id,
                "date": date,
                "text": text,
                "post_type": "post",
                "inner_type": "wall_wallpost",  # VK 5.199 marks posts so; its schema requires it
                "comments": {"count": 0},
                "attachments": [],
            }
            group.posts[post_id] = post
            self._emit(group, "wall_post_new", post)
            return post_id

    def add_comment(
        self, group_id: int, post_id: int, text: str, date: int, from_id: int, reply_to: int = 0
    ) -> int:
        group = self.group(group_id)
        with self.lock:
            comment_id = next(group.ids)
            parent = next((c for c in group.comments[post_id] if c["id"] == reply_to), None)
            comment: dict[str, Any] = {
                "id": comment_id,
                "from_id": from_id,
                "date": date,
                "text": text,
                "post_id": post_id,
                "owner_id": -group_id,
                "parents_stack": [reply_to] if parent else [],
                "thread": {"count": 0, "items": []},
            }
            if parent is not None:
                comment["reply_to_comment"] = reply_to
                comment["reply_to_user"] = parent["from_id"]
                parent["thread"]["count"] += 1
            group.comments[post_id].append(comment)
            group.posts[post_id]["comments"]["count"] += 1
            event = {**comment, "post_owner_id": -group_id}
            event.pop("thread")
            self._emit(group, "wall_reply_new", event)
            return comment_id

    def add_item_comment(
        self,
        kind: str,
        owner_id: int,
        item_id: int,
        text: str,
        date: int,
        from_id: int,
        reply_to: int = 0,
    ) -> int:
        """A comment under a community's photo, video, product or board topic (``kind`` photo,
        video, market, topic); the long poll gets the event VK sends for it."""
        group = self.group(abs(owner_id))
        event_type, item_key, owner_key = _ITEM_EVENTS[kind]
        with self.lock:
            comment_id = next(group.ids)
            comment: dict[str, Any] = {"id": comment_id, "from_id": from_id, "date": date}
            comment["text"] = text
            if reply_to:
                comment["reply_to_comment"] = reply_to
            self.item_comments[(kind, owner_id, item_id)].append(comment)
            self._emit(group, event_type, {**comment, item_key: item_id, owner_key: owner_id})
            return comment_id

    def add_message(self, group_id: int, peer_id: int, text: str, date: int) -> int:
        """A message the community sends to ``peer_id`` (VK's message_reply event)."""
        group = self.group(group_id)
        with self.lock:
            message_id = next(group.ids)
            message = {
                "id": message_id,
                "date": date,
                "peer_id": peer_id,
                "from_id": -group_id,
                "text": text,
                "out": 1,
            }
            self.messages[peer_id].append(message)
            self._emit(group, "message_reply", message)
            return message_id

    def add_event(self, group_id: int, event_type: str, obj: dict[str, Any]) -> None:
        group = self.group(group_id)
        with self.lock:
            self._emit(group, event_type, obj)

    def fail_next(self, method: str, *codes: int) -> None:
        """The next calls of ``method`` answer with these VK error codes, in order (14 is a
        captcha, with its ``captcha_sid`` and ``captcha_img`` as VK sends them)."""
        with self.lock:
            self._errors[method].extend(codes)

    def fail_longpoll(self, group_id: int, *failed: int) -> None:
        with self.lock:
            self._longpoll_failures[group_id].extend(failed)

    # -- behaviour used by the HTTP server ------------------------------------------------------
    def _emit(self, group: FakeGroup, event_type: str, obj: dict[str, Any]) -> None:
        number = len(group.events) + 1
        group.events.append(
            {
                "type": event_type,
                "object": dict(obj),
                "group_id": group.group_id,
                "event_id": f"{group.group_id:x}{number:032x}"[-40:].rjust(40, "0"),
                "v": API_VERSION,
            }
        )
        self.lock.notify_all()

    def take_error(self, method: str) -> int | None:
        with self.lock:
            queue = self._errors.get(method)
            return queue.popleft() if queue else None

    def longpoll(self, group_id: int, key: str, ts: int, wait: float) -> dict[str, Any]:
        with self.lock:
            group = self.groups.get(group_id)
            failures = self._longpoll_failures.get(group_id)
            if group is None:
                return {"failed": 2}
            if failures:
                return self._longpoll_failure(group, failures.popleft())
            if key != group.key:
                return {"failed": 2}
            if ts > len(group.events) + 1 or ts < 1:
                return {"failed": 1, "ts": str(len(group.events) + 1)}
            self.lock.wait_for(lambda: len(group.events) >= ts, timeout=wait)
            end = None if self.longpoll_limit is None else ts - 1 + self.longpoll_limit
            updates = group.events[ts - 1 : end]
            return {"ts": str(ts + len(updates)), "updates": updates}

    def _longpoll_failure(self, group: FakeGroup, failed: int) -> dict[str, Any]:
        if failed in {2, 3}:
            group.key = f"key{int(group.key[3:]) + 1}"
        if failed == 1:
            return {"failed": 1, "ts": str(len(group.events) + 1)}
        return {"failed": failed}


# kind -> (Bots Long Poll event, the item's id key, its owner's id key) as VK sends them
_ITEM_EVENTS = {
    "photo": ("photo_comment_new", "photo_id", "photo_owner_id"),
    "video": ("video_comment_new", "video_id", "video_owner_id"),
    "market": ("market_comment_new", "item_id", "market_owner_id"),
    "topic": ("board_post_new", "topic_id", "topic_owner_id"),
}
