"""Which VK call answers which kind of message (pure mapping of message ids to API calls)."""

import pytest

from ingest.vk.answers import reply_call, reply_url


def test_a_comment_is_answered_in_its_thread_as_the_community() -> None:
    call = reply_call("vk:vk_comment:-210000001:17:42", "Спасибо, передали", "inc-1:5")
    assert call is not None
    assert call.method == "wall.createComment"
    assert call.group_id == 210000001
    guid = call.params.pop("guid")
    assert call.params == {
        "owner_id": -210000001,
        "post_id": 17,
        "reply_to_comment": 42,
        "message": "Спасибо, передали",
        "from_group": 210000001,
    }
    assert isinstance(guid, str) and len(guid) == 32


def test_a_post_is_answered_with_a_comment_under_it() -> None:
    call = reply_call("vk:vk_wall:-5:9:0", "Ответ", "inc-2:3")
    assert call is not None and call.method == "wall.createComment"
    assert call.params["post_id"] == 9 and "reply_to_comment" not in call.params


@pytest.mark.parametrize(
    ("message_id", "method", "container"),
    [
        ("vk:vk_photo_comment:-5:77:8", "photos.createComment", ("photo_id", 77)),
        ("vk:vk_video_comment:-5:78:8", "video.createComment", ("video_id", 78)),
        ("vk:vk_market_comment:-5:79:8", "market.createComment", ("item_id", 79)),
        ("vk:vk_board:-5:80:8", "board.createComment", ("topic_id", 80)),
        ("vk:vk_message:-5:2000000001:8", "messages.send", ("peer_id", 2000000001)),
    ],
)
def test_every_vk_kind_has_its_own_method(
    message_id: str, method: str, container: tuple[str, int]
) -> None:
    call = reply_call(message_id, "Ответ", "inc-3:4")
    assert call is not None and call.method == method
    assert call.params[container[0]] == container[1]
    assert call.group_id == 5


@pytest.mark.parametrize(
    ("message_id", "from_group"),
    [
        ("vk:vk_comment:-5:17:42", 5),
        ("vk:vk_wall:-5:9:0", 5),
        ("vk:vk_photo_comment:-5:77:8", 1),
        ("vk:vk_video_comment:-5:78:8", 1),
        ("vk:vk_market_comment:-5:79:8", 1),
        ("vk:vk_board:-5:80:8", 1),
    ],
)
def test_the_community_posts_wall_comments_by_id_and_other_comments_by_flag(
    message_id: str, from_group: int
) -> None:
    """VK's schema: wall.createComment's from_group is the community's id, the photo, video,
    market and board methods' is a boolean sent as 1."""
    call = reply_call(message_id, "Ответ", "inc-5:1")
    assert call is not None and call.params["from_group"] == from_group


def test_the_dedupe_key_is_stable_per_event_and_differs_between_events() -> None:
    first = reply_call("vk:vk_message:-5:100:8", "a", "inc-4:4")
    again = reply_call("vk:vk_message:-5:100:8", "a", "inc-4:4")
    other = reply_call("vk:vk_message:-5:100:8", "a", "inc-4:6")
    assert first is not None and again is not None and other is not None
    assert first.params["random_id"] == again.params["random_id"] != other.params["random_id"]
    assert 0 < first.params["random_id"] < 2**31


@pytest.mark.parametrize(
    "message_id",
    ["appeal:web:appeal:portal:P-1", "vk:nonsense:-5:1:2", "vk:vk_comment:-5:x:2", "vk:1:2"],
)
def test_what_is_not_a_vk_message_gets_no_call(message_id: str) -> None:
    assert reply_call(message_id, "Ответ", "e:1") is None


@pytest.mark.parametrize(
    ("message_id", "result", "url"),
    [
        ("vk:vk_comment:-5:17:42", {"comment_id": 43}, "https://vk.com/wall-5_17?reply=43"),
        ("vk:vk_wall:-5:9:0", {"comment_id": 10}, "https://vk.com/wall-5_9?reply=10"),
        ("vk:vk_board:-5:80:8", 81, "https://vk.com/topic-5_80?post=81"),
        ("vk:vk_photo_comment:-5:77:8", 9, "https://vk.com/photo-5_77"),
        ("vk:vk_message:-5:2000000001:8", 55, "https://vk.com/gim5?sel=2000000001&msgid=55"),
        ("vk:vk_comment:-5:17:42", {"error": 1}, None),  # no id in what VK returned
        ("appeal:web:portal:1", 1, None),
    ],
)
def test_the_reply_link_points_where_vk_shows_it(
    message_id: str, result: object, url: str | None
) -> None:
    assert reply_url(message_id, result) == url
