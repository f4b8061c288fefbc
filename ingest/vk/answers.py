"""Moderators' answers posted back to VK, where the resident wrote.

The SLA tracker records an answer and publishes an ``answered`` event through its outbox; this
consumer of ``otklik.incidents.events.v1`` posts the text as the community's reply under the
resident's comment (or post, photo, video, product, board topic, private message). It posts only
for managed communities with a token and ``post_replies`` on, and only answers given in otklik
(``data.from_source`` marks replies that came from VK itself and are already there).

Redelivery of the event must not post twice: every call carries a key derived from the event id
(``guid`` for comments, ``random_id`` for messages), which VK uses to drop a repeated request.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.domain.sources import Source, SourceCatalog
from ingest.vk.client import VkCallError, VkClient
from ingest.vk.errors import ErrorAction
from kernel.contracts.incidents import EventType, IncidentEvent
from kernel.contracts.messages import SourceKind, parse_vk_message_id
from kernel.observability import Metrics

log = logging.getLogger(__name__)
# A paused token (captcha) passes too: the answer is posted late rather than dead-lettered.
_WAIT_AND_RETRY = frozenset({ErrorAction.RETRY, ErrorAction.PAUSE_METHOD, ErrorAction.PAUSE_TOKEN})


@dataclass(frozen=True)
class ReplyCall:
    """The VK API call that posts one reply."""

    method: str
    params: dict[str, Any]
    group_id: int


# kind -> (method, name of the container's id parameter); comments reply to the resident's one.
_COMMENT_METHODS = {
    SourceKind.VK_WALL: ("wall.createComment", "post_id"),
    SourceKind.VK_COMMENT: ("wall.createComment", "post_id"),
    SourceKind.VK_PHOTO_COMMENT: ("photos.createComment", "photo_id"),
    SourceKind.VK_VIDEO_COMMENT: ("video.createComment", "video_id"),
    SourceKind.VK_MARKET_COMMENT: ("market.createComment", "item_id"),
}


def reply_call(message_id: str, text: str, dedupe_key: str) -> ReplyCall | None:
    """The call that answers the VK message ``message_id`` with ``text``; None if it is not
    a VK message (``vk:<kind>:<owner>:<container>:<item>``, see ``vk_message_id``)."""
    ref = parse_vk_message_id(message_id)
    if ref is None:
        return None
    kind, owner, container, item = ref
    group_id = abs(owner)
    guid = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    if kind is SourceKind.VK_MESSAGE:
        # random_id is VK's deduplication key for messages: a positive 31-bit number.
        random_id = int(guid[:8], 16) & 0x7FFFFFFF
        params = {"peer_id": container, "message": text, "random_id": random_id}
        return ReplyCall("messages.send", params, group_id)
    if kind is SourceKind.VK_BOARD:
        params = {"group_id": group_id, "topic_id": container, "message": text, "guid": guid}
        return ReplyCall("board.createComment", {**params, "from_group": 1}, group_id)
    if kind not in _COMMENT_METHODS:
        return None
    method, container_param = _COMMENT_METHODS[kind]
    params = {"owner_id": owner, container_param: container, "message": text, "guid": guid}
    # wall.createComment names the community in from_group; the other comment methods take a
    # 0/1 flag there (VK's schema), which a group id is not.
    params["from_group"] = group_id if method == "wall.createComment" else 1
    if kind is not SourceKind.VK_WALL:
        params["reply_to_comment"] = item
    return ReplyCall(method, params, group_id)


class VkAnswerPoster:
    """Consumes incident events; posts moderators' answers through the community's token."""

    def __init__(
        self, catalog: SourceCatalog, client_for: Callable[[Source], VkClient], metrics: Metrics
    ) -> None:
        self._catalog, self._client_for, self._metrics = catalog, client_for, metrics

    async def handle(self, event: IncidentEvent) -> None:
        if (
            event.type is not EventType.ANSWERED
            or event.data.get("from_source")
            or event.message_id is None
        ):
            return
        call = reply_call(event.message_id, str(event.data.get("text") or ""), event.event_id)
        if call is None:
            return
        source = self._catalog.by_group(call.group_id)
        if source is None or not _posts_replies(source):
            return
        try:
            result = await self._client_for(source).acall(call.method, call.params)
        except VkCallError as error:
            self._metrics.vk_replies.labels(result="failed").inc()
            if error.action in _WAIT_AND_RETRY or error.code == 0:
                # Network, flood control, a paused method: the delivery layer retries in place,
                # so the answer is posted late rather than never. Anything else is dead-lettered.
                raise ConnectionError(str(error)) from error
            raise
        self._metrics.vk_replies.labels(result="posted").inc()
        log.info("answer %s posted to VK via %s: %s", event.event_id, call.method, result)


def _posts_replies(source: Source) -> bool:
    return source.managed and source.token is not None and source.post_replies


def answer_posting_sources(catalog: SourceCatalog) -> list[Source]:
    return [s for s in catalog.vk_groups(managed=True) if _posts_replies(s)]
