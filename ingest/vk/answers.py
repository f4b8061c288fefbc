"""Moderators' answers posted back to VK, where the resident wrote.

The SLA tracker records an answer and publishes an ``answered`` event through its outbox; this
consumer of ``otklik.incidents.events.v1`` posts the text as the community's reply under the
resident's comment (or post, photo, video, product, board topic, private message). It posts only
for managed communities with a token and ``post_replies`` on, and only answers given in otklik
(``data.from_source`` marks replies that came from VK itself and are already there).

Redelivery of the event must not post twice: every call carries a key derived from the event id
(``guid`` for comments, ``random_id`` for messages), which VK uses to drop a repeated request.

Every outcome goes back to the SLA tracker on ``otklik.answers.deliveries.v1``: posted (with the
reply's link), or not posted with the reason in Russian. "Not posted" is reported only when it is
sure: VK answered with an error (it refused the call, nothing was created) or otklik does not
post in that community. An outage, a timeout, flood control or a captcha leave it uncertain
whether VK created the reply: those are retried in place with the same key, never reported as
failed. A moderator's retry (``answer_retried``) is a new attempt with its own key, allowed only
after a sure failure, so it cannot make a second reply (docs/lifecycle.md).
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.domain.sources import Source, SourceCatalog
from ingest.vk.client import VkCallError, VkClient
from ingest.vk.errors import ErrorAction
from kernel.bus.port import Publisher
from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.contracts.incidents import EventType, IncidentEvent
from kernel.contracts.messages import SourceKind, parse_vk_message_id
from kernel.contracts.topics import Topic
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


# Where the reply is seen in VK, per kind: {o} owner, {c} container, {r} the reply's id.
_REPLY_URLS = {
    SourceKind.VK_WALL: "wall{o}_{c}?reply={r}",
    SourceKind.VK_COMMENT: "wall{o}_{c}?reply={r}",
    SourceKind.VK_BOARD: "topic{o}_{c}?post={r}",
    SourceKind.VK_PHOTO_COMMENT: "photo{o}_{c}",
    SourceKind.VK_VIDEO_COMMENT: "video{o}_{c}",
    SourceKind.VK_MARKET_COMMENT: "market{o}_{c}",
    SourceKind.VK_MESSAGE: "gim{g}?sel={c}&msgid={r}",
}


def reply_url(message_id: str, result: object) -> str | None:
    """The link to the reply VK created for ``message_id``: ``result`` is what the method
    returned (``{"comment_id": N}`` for wall.createComment, a bare id for the others)."""
    ref = parse_vk_message_id(message_id)
    if ref is None or ref.kind not in _REPLY_URLS:
        return None
    reply = result.get("comment_id") if isinstance(result, dict) else result
    if not isinstance(reply, int) or isinstance(reply, bool):
        return None
    owner = ref.owner_id
    path = _REPLY_URLS[ref.kind].format(o=owner, c=ref.container_id, r=reply, g=abs(owner))
    return f"https://vk.com/{path}"


# VK's refusals a moderator can act on, in their words; others are named by VK's own message.
_REASONS = {
    5: "токен сообщества недействителен или отозван — нужен новый",
    7: "у токена сообщества нет прав на это действие",
    15: "доступ запрещён",
    18: "сообщение жителя удалено или заблокировано",
    30: "профиль жителя закрыт",
    100: "VK не принял параметры запроса",
    203: "нет доступа к сообществу",
    212: "комментарии к записи закрыты",
    901: "житель не разрешил сообщения от сообщества",
}
NOT_POSTING = "otklik не публикует ответы в этом сообществе: ответьте во ВКонтакте сами"


def refusal_reason(error: VkCallError) -> str:
    """Why VK refused the reply, in Russian, with VK's code for whoever reads the logs."""
    said = _REASONS.get(error.code) or f"VK отказал: {str(error).split('] ', 1)[-1]}"
    return f"{said} (ошибка VK {error.code})"


class VkAnswerPoster:
    """Consumes incident events; posts moderators' answers (and their retries) through the
    community's token, and reports each outcome."""

    def __init__(
        self,
        catalog: SourceCatalog,
        client_for: Callable[[Source], VkClient],
        metrics: Metrics,
        publisher: Publisher,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog, self._client_for, self._metrics = catalog, client_for, metrics
        self._publisher, self._clock = publisher, clock

    async def handle(self, event: IncidentEvent) -> None:
        answer_event_id = _answer_of(event)
        if answer_event_id is None or event.message_id is None:
            return
        # The attempt's key is the id of the event that asked for it: a redelivered event
        # repeats it (VK drops the copy), a retry brings a new one.
        call = reply_call(event.message_id, str(event.data.get("text") or ""), event.event_id)
        if call is None:
            return  # not a VK message: nothing to post, nothing to report
        report = _Report(event, answer_event_id)
        source = self._catalog.by_group(call.group_id)
        if source is None or not _posts_replies(source):
            await self._publish(report.not_posted(NOT_POSTING, self._clock(), retryable=False))
            return
        try:
            result = await self._client_for(source).acall(call.method, call.params)
        except VkCallError as error:
            self._metrics.vk_replies.labels(result="failed").inc()
            if error.action in _WAIT_AND_RETRY or error.code == 0:
                # Network, flood control, a paused method: the delivery layer retries in place
                # with the same key, so the answer is posted late rather than never, and once.
                raise ConnectionError(str(error)) from error
            log.warning("answer %s refused by VK: %s", event.event_id, error)
            reason = refusal_reason(error)
            await self._publish(report.not_posted(reason, self._clock(), retryable=True))
            return
        self._metrics.vk_replies.labels(result="posted").inc()
        log.info("answer %s posted to VK via %s: %s", event.event_id, call.method, result)
        url = reply_url(event.message_id, result)
        await self._publish(report.posted(url, self._clock()))

    async def _publish(self, delivery: AnswerDelivery) -> None:
        await self._publisher.publish(Topic.ANSWER_DELIVERIES, delivery.incident_id, delivery)


def _answer_of(event: IncidentEvent) -> str | None:
    """The answer an event asks to post: an answer given in otklik (one from VK itself is
    there already), or the one a retry names."""
    if event.type is EventType.ANSWERED and not event.data.get("from_source"):
        return event.event_id
    if event.type is EventType.ANSWER_RETRIED:
        return str(event.data.get("answer_event_id") or "") or None
    return None


@dataclass(frozen=True)
class _Report:
    event: IncidentEvent
    answer_event_id: str

    def posted(self, url: str | None, at: datetime) -> AnswerDelivery:
        return self._delivery(posted=True, url=url, at=at)

    def not_posted(self, reason: str, at: datetime, *, retryable: bool) -> AnswerDelivery:
        return self._delivery(posted=False, reason=reason, retryable=retryable, at=at)

    def _delivery(self, **outcome: Any) -> AnswerDelivery:
        return AnswerDelivery(
            incident_id=self.event.incident_id,
            answer_event_id=self.answer_event_id,
            attempt_id=self.event.event_id,
            **outcome,
        )


def _posts_replies(source: Source) -> bool:
    return source.managed and source.token is not None and source.post_replies
