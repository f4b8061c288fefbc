from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.domain.sources import Source, SourceCatalog
from ingest.domain.vk_events import (
    HANDLED_TYPES,
    InvalidEventError,
    ignored_type,
    normalise_vk_event,
    plain_text,
)
from kernel.contracts.messages import MessageAction, SourceKind, vk_thread_root_id

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
CATALOG = SourceCatalog(
    sources=(
        Source(
            id="vk:-1", name="Город", kind="vk_group", group_id=1, managed=True, municipality="m1"
        ),
        Source(id="vk:-2", name="Подслушано", kind="vk_group", group_id=2, municipality="m1"),
    )
)


def event(kind: str, obj: dict[str, Any], group_id: int = 1) -> dict[str, Any]:
    return {"type": kind, "object": obj, "group_id": group_id, "event_id": "e", "v": "5.199"}


COMMENT = {
    "id": 7,
    "from_id": 55,
    "date": 1788253200,
    "text": "[id55|Иван], яма!",
    "post_id": 3,
    "owner_id": -1,
}


def test_comment_becomes_a_message_with_stable_id_thread_and_plain_text() -> None:
    message = normalise_vk_event(event("wall_reply_new", COMMENT), CATALOG, NOW)
    assert message is not None
    assert message.message_id == "vk:vk_comment:-1:3:7"
    assert message.thread_key == "vk:wall-1_3"  # the post's thread: the post is its root
    assert message.text == "Иван, яма!"
    assert message.created_at == datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    assert message.url == "https://vk.com/wall-1_3?reply=7"
    assert message.author is not None and message.author.ref == "vk:id55"
    assert message.municipality == "m1"


def test_redelivery_maps_to_the_same_id_and_edit_delete_keep_it() -> None:
    first = normalise_vk_event(event("wall_reply_new", COMMENT), CATALOG, NOW)
    edited = normalise_vk_event(event("wall_reply_edit", {**COMMENT, "text": "x"}), CATALOG, NOW)
    deleted = normalise_vk_event(
        event("wall_reply_delete", {"owner_id": -1, "id": 7, "deleter_id": 55, "post_id": 3}),
        CATALOG,
        NOW,
    )
    assert first is not None and edited is not None and deleted is not None
    assert first.message_id == edited.message_id == deleted.message_id
    assert (edited.action, deleted.action) == (MessageAction.EDITED, MessageAction.DELETED)
    assert deleted.text == ""


def test_official_reply_is_marked_and_points_to_the_comment() -> None:
    reply = {**COMMENT, "id": 8, "from_id": -1, "reply_to_comment": 7, "text": "Исправим"}
    message = normalise_vk_event(event("wall_reply_new", reply), CATALOG, NOW)
    assert message is not None and message.author is not None
    assert message.author.is_official
    assert message.reply_to == "vk:vk_comment:-1:3:7"


@pytest.mark.parametrize(
    ("kind", "obj", "source_kind", "thread"),
    [
        (
            "wall_post_new",
            {"id": 3, "owner_id": -1, "from_id": -1, "date": 1, "text": "t"},
            SourceKind.VK_WALL,
            "vk:wall-1_3",
        ),
        (
            "board_post_new",
            {"id": 1, "from_id": 5, "date": 1, "text": "t", "topic_id": 9, "topic_owner_id": -1},
            SourceKind.VK_BOARD,
            "vk:topic-1_9",
        ),
        (
            "photo_comment_new",
            {"id": 1, "from_id": 5, "date": 1, "text": "t", "photo_id": 9, "photo_owner_id": -1},
            SourceKind.VK_PHOTO_COMMENT,
            "vk:photo-1_9",
        ),
        (
            "video_comment_new",
            {"id": 1, "from_id": 5, "date": 1, "text": "t", "video_id": 9, "video_owner_id": -1},
            SourceKind.VK_VIDEO_COMMENT,
            "vk:video-1_9",
        ),
        (
            "market_comment_new",
            {"id": 1, "from_id": 5, "date": 1, "text": "t", "item_id": 9, "market_owner_id": -1},
            SourceKind.VK_MARKET_COMMENT,
            "vk:market-1_9",
        ),
        (
            "message_new",
            {
                "message": {
                    "id": 4,
                    "date": 1,
                    "peer_id": 5,
                    "from_id": 5,
                    "text": "t",
                    "conversation_message_id": 2,
                }
            },
            SourceKind.VK_MESSAGE,
            "vk:im-1_5",
        ),
    ],
)
def test_every_event_kind_is_normalised_into_the_thread_of_its_root(
    kind: str, obj: dict[str, Any], source_kind: SourceKind, thread: str
) -> None:
    message = normalise_vk_event(event(kind, obj), CATALOG, NOW)
    assert message is not None
    assert message.source_kind is source_kind
    assert message.thread_key == thread


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ([], "not a JSON object"),
        ({"type": "wall_reply_new", "group_id": 1}, "'object'"),
        ({"type": "wall_reply_new", "object": {}, "group_id": "1"}, "group_id"),
        (event("wall_reply_new", COMMENT, group_id=99), "not a configured source"),
        (event("wall_reply_new", {**COMMENT, "id": "7"}), "malformed"),
        (event("wall_reply_new", {"text": "no ids"}), "malformed"),
    ],
)
def test_malformed_events_say_why(bad: Any, reason: str) -> None:
    with pytest.raises(InvalidEventError, match=reason):
        normalise_vk_event(bad, CATALOG, NOW)


def test_unhandled_event_types_are_ignored() -> None:
    assert normalise_vk_event(event("group_join", {"user_id": 1}), CATALOG, NOW) is None


def test_plain_text_keeps_names_of_every_mention_kind() -> None:
    assert plain_text("[club1|Город] и [id2|Аня]") == "Город и Аня"


def test_a_post_is_the_root_of_the_thread_of_its_comments() -> None:
    post = normalise_vk_event(
        event("wall_post_new", {"id": 3, "owner_id": -1, "from_id": 77, "text": "Яма"}),
        CATALOG,
        NOW,
    )
    comment = normalise_vk_event(event("wall_reply_new", COMMENT), CATALOG, NOW)
    assert post is not None and comment is not None
    assert post.thread_key == comment.thread_key
    assert vk_thread_root_id(comment.thread_key) == post.message_id
    assert vk_thread_root_id("vk:photo-1_9") is None


# As VK sends it (dev.vk.com, «Callback API — message_reply»): the community's message in a
# dialog, sent by an administrator; the object is the message itself.
MESSAGE_REPLY = {
    "date": 1788256800, "from_id": -1, "id": 0, "out": 1, "version": 10000102,
    "attachments": [], "conversation_message_id": 3, "fwd_messages": [], "important": False,
    "is_hidden": False, "peer_id": 55, "random_id": 0, "text": "Передали в управляющую компанию",
    "admin_author_id": 777,
}  # fmt: skip


def test_the_communitys_reply_in_a_dialog_is_the_administrations_message() -> None:
    reply = normalise_vk_event(event("message_reply", MESSAGE_REPLY), CATALOG, NOW)
    assert reply is not None and reply.author is not None
    assert reply.author.is_official
    assert reply.source_kind is SourceKind.VK_MESSAGE
    assert reply.message_id == "vk:vk_message:-1:55:3"
    assert reply.thread_key == "vk:im-1_55"  # the resident's dialog


def test_an_outgoing_message_is_the_administrations_and_a_quoted_one_is_what_it_answers() -> None:
    outgoing = {
        **MESSAGE_REPLY, "from_id": 777, "conversation_message_id": 4,
        "reply_message": {"conversation_message_id": 2, "from_id": 55, "text": "Нет воды"},
    }  # fmt: skip
    reply = normalise_vk_event(event("message_new", {"message": outgoing}), CATALOG, NOW)
    assert reply is not None and reply.author is not None and reply.author.is_official
    assert reply.reply_to == "vk:vk_message:-1:55:2"
    resident = {**outgoing, "from_id": 55, "out": 0}
    resident.pop("reply_message")
    written = normalise_vk_event(event("message_new", {"message": resident}), CATALOG, NOW)
    assert written is not None and written.author is not None
    assert not written.author.is_official and written.reply_to is None


def test_an_edited_private_message_is_an_edit_of_the_same_message() -> None:
    edited = normalise_vk_event(
        event("message_edit", {**MESSAGE_REPLY, "text": "Передали в УК «Восход»"}), CATALOG, NOW
    )
    assert edited is not None
    assert edited.action is MessageAction.EDITED
    assert edited.message_id == "vk:vk_message:-1:55:3"


def test_a_wall_comment_of_an_older_api_version_names_its_owner_post_owner_id() -> None:
    old = {key: value for key, value in COMMENT.items() if key != "owner_id"}
    message = normalise_vk_event(
        event("wall_reply_new", {**old, "post_owner_id": -1}), CATALOG, NOW
    )
    assert message is not None
    assert message.message_id == "vk:vk_comment:-1:3:7"


def test_a_board_reply_names_the_post_it_answers() -> None:
    board = {"id": 12, "from_id": -1, "date": 1, "topic_id": 9, "topic_owner_id": -1,
             "text": "[post10|Иван], заявку передали"}  # fmt: skip
    reply = normalise_vk_event(event("board_post_new", board), CATALOG, NOW)
    assert reply is not None
    assert reply.reply_to == "vk:vk_board:-1:9:10"
    assert reply.text == "Иван, заявку передали"


@pytest.mark.parametrize(
    ("event_type", "label"),
    [("like_add", "like_add"), ("message_typing_state", "message_typing_state"),
     ("message_allow", "message_allow"), ("made_up_by_someone", "other"), (None, "other")],
)  # fmt: skip
def test_types_not_handled_are_counted_by_a_bounded_label(event_type: object, label: str) -> None:
    assert ignored_type(event_type) == label
    if isinstance(event_type, str):
        assert normalise_vk_event(event(event_type, {"user_id": 1}), CATALOG, NOW) is None


def test_every_type_vk_sends_with_residents_content_is_handled() -> None:
    for prefix in ("wall_reply", "board_post", "photo_comment", "video_comment", "market_comment"):
        assert {f"{prefix}_{a}" for a in ("new", "edit", "delete", "restore")} <= HANDLED_TYPES
    assert {"wall_post_new", "wall_repost", "message_new", "message_reply"} <= HANDLED_TYPES


def test_a_message_carries_the_id_of_the_event_that_brought_it() -> None:
    """A resent event has the same id; a second deletion of the same comment has another."""
    first = normalise_vk_event(
        {**event("wall_reply_delete", COMMENT), "event_id": "a1"}, CATALOG, NOW
    )
    again = normalise_vk_event(
        {**event("wall_reply_delete", COMMENT), "event_id": "b2"}, CATALOG, NOW
    )
    assert first is not None and again is not None
    assert (first.source_event_id, again.source_event_id) == ("a1", "b2")
    assert first.message_id == again.message_id
