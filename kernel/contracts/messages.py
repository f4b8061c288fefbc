"""otklik.messages.raw.v1: one resident message from any source, normalised.

Keyed by ``thread_key`` so that a comment, its edits and the replies in its thread keep their order.
"""

import re
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class SourceKind(StrEnum):
    VK_WALL = "vk_wall"
    VK_COMMENT = "vk_comment"
    VK_BOARD = "vk_board"
    VK_PHOTO_COMMENT = "vk_photo_comment"
    VK_VIDEO_COMMENT = "vk_video_comment"
    VK_MARKET_COMMENT = "vk_market_comment"
    VK_MESSAGE = "vk_message"
    APPEAL_WEB = "appeal_web"
    APPEAL_EMAIL = "appeal_email"
    APPEAL_IMPORT = "appeal_import"


class Channel(StrEnum):
    """The channel an SLA policy is chosen by."""

    VK = "vk"
    WEB = "web"
    EMAIL = "email"
    IMPORT = "import"


class MessageAction(StrEnum):
    """What happened to the message at its source."""

    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"
    RESTORED = "restored"


class Author(BaseModel):
    """Personal data, kept apart from the text so that it can be redacted on request."""

    model_config = ConfigDict(frozen=True)

    ref: str = Field(description="Source-side author id, e.g. 'vk:123' or an e-mail address")
    name: str | None = None
    contact: str | None = None
    is_official: bool = Field(
        default=False, description="Written by the administration's own account or mailbox"
    )


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    url: str | None = None
    name: str | None = None
    preview: str | None = Field(
        default=None, description="A thumbnail's URL at the source (a VK photo's ~320 px copy)"
    )


class RawMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str = Field(description="Deterministic id built from the source's own ids")
    action: MessageAction = MessageAction.CREATED
    source_kind: SourceKind
    channel: Channel
    source_id: str = Field(description="Configured source, e.g. 'vk:-210000001'")
    thread_key: str = Field(description="Partition key: the source thread (post, topic, dialog)")
    reply_to: str | None = Field(default=None, description="message_id this one answers")
    author: Author | None = None
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    url: str | None = Field(default=None, description="Link to the original")
    created_at: AwareDatetime
    municipality: str
    department: str | None = None
    received_at: AwareDatetime
    source_event_id: str | None = Field(
        default=None,
        max_length=200,
        description="The source's id of the event that carried this (VK's event_id): a resent "
        "event carries the same one, a second deletion or restoration another",
    )


class VkRef(NamedTuple):
    """VK's own ids of a message: owner (a group is negative), container (post, photo, video,
    product, board topic, dialog peer) and item."""

    kind: SourceKind
    owner_id: int
    container_id: int
    item_id: int


def vk_message_id(kind: SourceKind, owner_id: int, container_id: int, item_id: int) -> str:
    """Stable id from VK's own ids: the same comment always maps to the same id."""
    return f"vk:{kind.value}:{owner_id}:{container_id}:{item_id}"


# What each kind of VK message hangs from: a post (its comments and their replies), a photo, a
# video, a product, a board topic, a dialog. One root, one thread key: the moderator sees the post
# a comment was written under, and Kafka keeps the post and its comments in order.
_VK_ROOTS = {
    SourceKind.VK_WALL: "wall",
    SourceKind.VK_COMMENT: "wall",
    SourceKind.VK_PHOTO_COMMENT: "photo",
    SourceKind.VK_VIDEO_COMMENT: "video",
    SourceKind.VK_MARKET_COMMENT: "market",
    SourceKind.VK_BOARD: "topic",
    SourceKind.VK_MESSAGE: "im",
}
_WALL_THREAD = re.compile(r"vk:wall(-?\d+)_(\d+)")


def vk_thread_key(kind: SourceKind, owner_id: int, container_id: int) -> str:
    """The thread of a VK message: its root (post, photo, video, product, topic, dialog)."""
    return f"vk:{_VK_ROOTS[kind]}{owner_id}_{container_id}"


def vk_thread_root_id(thread_key: str) -> str | None:
    """The message id of the thread's root when the root is a message itself (a wall post);
    None for threads under a photo, video, product, topic or in a dialog."""
    found = _WALL_THREAD.fullmatch(thread_key)
    if found is None:
        return None
    return vk_message_id(SourceKind.VK_WALL, int(found.group(1)), int(found.group(2)), 0)


def parse_vk_message_id(message_id: str) -> VkRef | None:
    """The VK ids ``vk_message_id`` put into ``message_id``; None for an appeal or any other id."""
    parts = message_id.split(":")
    if len(parts) != 5 or parts[0] != "vk":
        return None
    try:
        return VkRef(SourceKind(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]))
    except ValueError:
        return None


def appeal_message_id(channel: Channel, source: str, external_id: str) -> str:
    return f"appeal:{channel.value}:{source}:{external_id}"


def is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None
