"""VK's published schema as the fake VK server reads it (tools/vk_schema.py): what it accepts,
what it names as wrong, and that every answer otklik posts is a call VK accepts."""

import pytest

from ingest.vk.answers import reply_call
from tools.vk_schema import check_call, check_response


def test_a_correct_call_passes_with_its_transport_parameters() -> None:
    params = {"owner_id": -210000001, "post_id": 17, "message": "Ответ", "guid": "a" * 32}
    transport = {"access_token": "t", "v": "5.199", "lang": "ru"}
    assert check_call("wall.createComment", {**params, "from_group": 210000001, **transport}) == []


def test_form_text_is_read_as_vk_reads_it() -> None:
    """The fake receives every value as text: "1" is a boolean, "17" an integer."""
    params = {"owner_id": "-5", "photo_id": "17", "message": "x", "from_group": "1"}
    assert check_call("photos.createComment", params) == []


def test_an_unknown_method_is_a_problem() -> None:
    assert check_call("wall.createCommentary", {}) == [
        "wall.createCommentary: no such method in VK's schema"
    ]


def test_an_unknown_parameter_is_a_problem() -> None:
    problems = check_call("messages.send", {"peer_id": 5, "random_id": 1, "text": "x"})
    assert problems == ["messages.send: VK's schema has no parameter text"]


@pytest.mark.parametrize("value", [210000001, True, "yes"])
def test_a_boolean_given_anything_but_0_or_1_is_a_problem(value: object) -> None:
    problems = check_call("photos.createComment", {"photo_id": 1, "from_group": value})
    assert len(problems) == 1 and "from_group" in problems[0] and "boolean" in problems[0]


def test_an_integer_given_text_and_a_missing_required_parameter_are_problems() -> None:
    problems = check_call("video.createComment", {"owner_id": "city", "message": "x"})
    assert problems == [
        "video.createComment: required parameter video_id is missing",
        "video.createComment: parameter owner_id: 'city' is not integer",
    ]


def test_limits_and_enums_of_a_parameter_are_checked() -> None:
    params = {"owner_id": -5, "post_id": 1, "sort": "newest", "thread_items_count": 11}
    assert len(check_call("wall.getComments", params)) == 2


def test_a_response_of_the_right_shape_passes() -> None:
    assert check_response("wall.createComment", {"comment_id": 7}) == []
    assert check_response("photos.createComment", 7) == []
    assert check_response("messages.send", 12) == []


def test_a_response_missing_a_required_field_is_a_problem() -> None:
    problems = check_response("wall.createComment", {"parents_stack": []})
    assert problems == ["wall.createComment: response: 'comment_id' is a required property"]


def test_a_nested_object_is_checked_through_the_referenced_files() -> None:
    """wall.get's items are wall/objects.json's posts: their $refs resolve across the files."""
    post = {"id": "seven", "owner_id": -5, "from_id": -5, "date": 1, "text": "x"}
    problems = check_response("wall.get", {"count": 1, "items": [post]})
    assert any("items/0/id" in problem for problem in problems)


@pytest.mark.parametrize(
    "message_id",
    [
        "vk:vk_wall:-210000001:9:0",
        "vk:vk_comment:-210000001:17:42",
        "vk:vk_photo_comment:-210000001:77:8",
        "vk:vk_video_comment:-210000001:78:8",
        "vk:vk_market_comment:-210000001:79:8",
        "vk:vk_board:-210000001:80:8",
        "vk:vk_message:-210000001:2000000001:8",
    ],
)
def test_every_answer_otklik_posts_is_a_call_vk_accepts(message_id: str) -> None:
    call = reply_call(message_id, "Ответ", "inc-1:2")
    assert call is not None
    assert check_call(call.method, call.params) == []
