"""Normalisation of VK events (Bots Long Poll / Callback API objects) to RawMessage. Pure.

Ids come from VK's own ids, so re-delivery, re-polling and replays map to the same message.
"""

import re
from datetime import UTC, datetime
from typing import Any

from ingest.domain.sources import Source, SourceCatalog
from ingest.domain.vk_attachments import attachment_of
from kernel.contracts.messages import (
    Attachment,
    Author,
    Channel,
    MessageAction,
    RawMessage,
    SourceKind,
    vk_message_id,
    vk_thread_key,
)

_MENTION = re.compile(r"\[(?:id|club|public|event|post)\d+\|([^\]\[]*)\]")
# VK's own limits are far lower: more is not VK's data, and a message must fit one Kafka record
# (1 MiB) even when every character is escaped in JSON (six bytes for a control character).
MAX_TEXT_CHARS = 100_000
MAX_ATTACHMENTS = 50
MAX_KIND_CHARS = 50

# event type prefix -> (source kind, container id field, owner field, url template)
_COMMENT_KINDS: dict[str, tuple[SourceKind, str, str, str]] = {
    "wall_reply": (SourceKind.VK_COMMENT, "post_id", "owner_id", "wall{o}_{c}?reply={i}"),
    "board_post": (SourceKind.VK_BOARD, "topic_id", "topic_owner_id", "topic{o}_{c}?post={i}"),
    "photo_comment": (SourceKind.VK_PHOTO_COMMENT, "photo_id", "photo_owner_id", "photo{o}_{c}"),
    "video_comment": (SourceKind.VK_VIDEO_COMMENT, "video_id", "video_owner_id", "video{o}_{c}"),
    "market_comment": (SourceKind.VK_MARKET_COMMENT, "item_id", "market_owner_id", "market{o}_{c}"),
}
# VK's own reply in a board topic names the post it answers: "[post123|Имя], ...".
_BOARD_REPLY = re.compile(r"\[post(\d+)\|")
_ACTIONS = {
    "new": MessageAction.CREATED,
    "edit": MessageAction.EDITED,
    "delete": MessageAction.DELETED,
    "restore": MessageAction.RESTORED,
}
# Every VK event type otklik turns into a message (docs/vk-events.md); any other is acknowledged
# and counted by type (otklik_vk_events_ignored_total).
HANDLED_TYPES = frozenset(
    {"wall_post_new", "wall_repost", "message_new", "message_reply", "message_edit"}
    | {f"{prefix}_{action}" for prefix in _COMMENT_KINDS for action in _ACTIONS}
)
# The types VK documents (its JSON schema's callback_type, and the Long Poll's others): counted
# under their own name; anything else under "other", so that no sender can grow the series.
DOCUMENTED_TYPES = HANDLED_TYPES | {
    "audio_new", "confirmation", "group_leave", "group_join", "group_change_photo",
    "group_change_settings", "group_officers_edit", "lead_forms_new", "market_order_new",
    "market_order_edit", "message_allow", "message_deny", "message_read", "message_typing_state",
    "messages_edit", "message_reaction_event", "message_event", "photo_new", "poll_vote_new",
    "user_block", "user_unblock", "video_new", "wall_schedule_post_new",
    "wall_schedule_post_delete", "like_add", "like_remove", "app_payload", "vkpay_transaction",
    "donut_subscription_create", "donut_subscription_prolonged", "donut_subscription_expired",
    "donut_subscription_cancelled", "donut_subscription_price_changed", "donut_money_withdraw",
    "donut_money_withdraw_error",
}  # fmt: skip


class InvalidEventError(ValueError):
    """The event cannot be turned into a message; the text says why (kept in the dead letter)."""


def plain_text(text: str) -> str:
    """VK markup such as ``[id123|Имя]`` becomes the plain name."""
    return _MENTION.sub(lambda match: match.group(1), text)


def normalise_vk_event(
    event: dict[str, Any], catalog: SourceCatalog, received_at: datetime
) -> RawMessage | None:
    """The message an event carries; None for event types otklik does not handle."""
    if not isinstance(event, dict):
        raise InvalidEventError("event is not a JSON object")
    event_type, obj, group_id = event.get("type"), event.get("object"), event.get("group_id")
    if not isinstance(event_type, str) or not isinstance(obj, dict):
        raise InvalidEventError("event needs a string 'type' and an object 'object'")
    if not isinstance(group_id, int):
        raise InvalidEventError("event needs an integer 'group_id'")
    source = catalog.by_group(group_id)
    if source is None:
        raise InvalidEventError(f"group {group_id} is not a configured source")
    message = normalise_vk_object(event_type, obj, source, catalog.official_ids(), received_at)
    event_id = event.get("event_id")
    if message is None or not isinstance(event_id, str) or not 0 < len(event_id) <= 200:
        return message
    return message.model_copy(update={"source_event_id": event_id})


def normalise_vk_object(
    event_type: str,
    obj: dict[str, Any],
    source: Source,
    official: frozenset[int],
    received_at: datetime,
) -> RawMessage | None:
    """The message of one VK object (an event's, or one returned by wall.get, wall.getComments
    or newsfeed.search) attributed to ``source``; None for types otklik does not handle."""
    try:
        if event_type in {"wall_post_new", "wall_repost"}:
            return _wall_post(obj, source, official, received_at)
        if event_type in {"message_new", "message_reply", "message_edit"}:
            return _private_message(event_type, obj, source, official, received_at)
        prefix, _, action = event_type.rpartition("_")
        if prefix in _COMMENT_KINDS and action in _ACTIONS:
            return _comment(prefix, _ACTIONS[action], obj, source, official, received_at)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise InvalidEventError(f"{event_type}: malformed object ({error!r})") from error
    return None


def ignored_type(event_type: object) -> str:
    """The label an event type that is not handled is counted under."""
    known = isinstance(event_type, str) and event_type in DOCUMENTED_TYPES
    return str(event_type) if known else "other"


def _int(obj: dict[str, Any], key: str) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} must be an integer")
    return value


def _created(obj: dict[str, Any], received_at: datetime) -> datetime:
    if "date" not in obj:
        return received_at
    return datetime.fromtimestamp(_int(obj, "date"), UTC)


def _author(from_id: int, official: frozenset[int]) -> Author:
    prefix = "club" if from_id < 0 else "id"
    return Author(ref=f"vk:{prefix}{abs(from_id)}", is_official=from_id in official)


def _text(obj: dict[str, Any]) -> str:
    value = obj.get("text")
    if value is None:
        return ""
    if isinstance(value, list | dict):  # no text; and str() of a deep one overflows the stack
        raise TypeError("text must be a string")
    text = str(value)
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters")
    return plain_text(_storable(text))


def _storable(text: str) -> str:
    """NUL dropped and unpaired surrogates replaced: PostgreSQL and JSON refuse them, and a VK
    comment cannot be sent again, so the resident's words are kept instead of the message lost."""
    return text.replace("\x00", "").encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _attachments(obj: dict[str, Any]) -> tuple[Attachment, ...]:
    items = obj.get("attachments") or []
    if not isinstance(items, list):
        raise TypeError("attachments must be a list")
    if len(items) > MAX_ATTACHMENTS:
        raise ValueError(f"more than {MAX_ATTACHMENTS} attachments")
    return tuple(_attachment(item) for item in items if isinstance(item, dict))


def _attachment(item: dict[str, Any]) -> Attachment:
    found = attachment_of(item, _kind(item.get("type")))
    if found.name is None:
        return found
    return found.model_copy(update={"name": _storable(found.name)})


def _kind(value: object) -> str:
    if isinstance(value, str) and 0 < len(value) <= MAX_KIND_CHARS:
        return _storable(value)
    return "unknown"


def _wall_post(
    obj: dict[str, Any], source: Source, official: frozenset[int], received_at: datetime
) -> RawMessage:
    owner, post = _int(obj, "owner_id"), _int(obj, "id")
    from_id = _int(obj, "from_id") if "from_id" in obj else owner
    return RawMessage(
        message_id=vk_message_id(SourceKind.VK_WALL, owner, post, 0),
        source_kind=SourceKind.VK_WALL,
        channel=Channel.VK,
        source_id=source.id,
        thread_key=vk_thread_key(SourceKind.VK_WALL, owner, post),
        author=_author(from_id, official),
        text=_text(obj),
        attachments=_attachments(obj),
        url=f"https://vk.com/wall{owner}_{post}",
        created_at=_created(obj, received_at),
        municipality=source.municipality,
        department=source.department,
        received_at=received_at,
    )


def _comment(
    prefix: str,
    action: MessageAction,
    obj: dict[str, Any],
    source: Source,
    official: frozenset[int],
    received_at: datetime,
) -> RawMessage:
    kind, container_key, owner_key, url = _COMMENT_KINDS[prefix]
    # Older API versions name a wall comment's owner only post_owner_id.
    owner = _int(
        obj, next((k for k in (owner_key, "owner_id", "post_owner_id") if k in obj), owner_key)
    )
    container, item = _int(obj, container_key), _int(obj, "id")
    reply_to = obj.get("reply_to_comment")
    text = obj.get("text")
    if kind is SourceKind.VK_BOARD and reply_to is None and isinstance(text, str):
        named = _BOARD_REPLY.match(text)
        reply_to = int(named.group(1)) if named else None
    # A delete event names who deleted (deleter_id; user_id under a photo), not who wrote: a
    # moderator deleting a resident's comment is not the city's message.
    from_id = None if action is MessageAction.DELETED else obj.get("from_id", obj.get("user_id"))
    return RawMessage(
        message_id=vk_message_id(kind, owner, container, item),
        action=action,
        source_kind=kind,
        channel=Channel.VK,
        source_id=source.id,
        thread_key=vk_thread_key(kind, owner, container),
        reply_to=vk_message_id(kind, owner, container, reply_to)
        if isinstance(reply_to, int)
        else None,
        author=_author(from_id, official) if isinstance(from_id, int) else None,
        text="" if action is MessageAction.DELETED else _text(obj),
        attachments=_attachments(obj),
        url="https://vk.com/" + url.format(o=owner, c=container, i=item),
        created_at=_created(obj, received_at),
        municipality=source.municipality,
        department=source.department,
        received_at=received_at,
    )


def _private_message(
    event_type: str,
    obj: dict[str, Any],
    source: Source,
    official: frozenset[int],
    received_at: datetime,
) -> RawMessage:
    message = obj.get("message", obj)
    if not isinstance(message, dict):
        raise TypeError("message must be an object")
    peer, from_id = _int(message, "peer_id"), _int(message, "from_id")
    owner = -(source.group_id or 0)
    quoted = message.get("reply_message")
    # message_reply is the community's own message in the dialog; so is an outgoing one (out=1).
    city = event_type == "message_reply" or message.get("out") == 1 or from_id in official
    return RawMessage(
        message_id=vk_message_id(SourceKind.VK_MESSAGE, owner, peer, _message_number(message)),
        action=MessageAction.EDITED if event_type == "message_edit" else MessageAction.CREATED,
        source_kind=SourceKind.VK_MESSAGE,
        channel=Channel.VK,
        source_id=source.id,
        thread_key=vk_thread_key(SourceKind.VK_MESSAGE, owner, peer),
        reply_to=vk_message_id(SourceKind.VK_MESSAGE, owner, peer, _message_number(quoted))
        if isinstance(quoted, dict)
        else None,
        author=Author(ref=_author(from_id, official).ref, is_official=city),
        text=_text(message),
        attachments=_attachments(message),
        url=f"https://vk.com/gim{abs(owner)}?sel={peer}",
        created_at=_created(message, received_at),
        municipality=source.municipality,
        department=source.department,
        received_at=received_at,
    )


def _message_number(message: dict[str, Any]) -> int:
    """A message's number in its dialog: the same whichever event or method returned it."""
    if "conversation_message_id" in message:
        return _int(message, "conversation_message_id")
    return _int(message, "id")
