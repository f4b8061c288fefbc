"""Every kind of answer otklik posts, through the real VK client to the fake VK server: each call
is one VK's schema accepts, lands where the resident wrote, and is posted once however often it
is repeated (VK's guid and random_id)."""

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from ingest.vk.answers import reply_call
from ingest.vk.client import VkClient
from kernel.clock import Clock
from kernel.contracts.messages import SourceKind, vk_message_id
from kernel.observability import Metrics
from tools.fake_vk import FakeVkServer

pytestmark = pytest.mark.integration
CITY = 210000001
RESIDENT = 777


@pytest.fixture
def vk(clock: Clock) -> Iterator[FakeVkServer]:
    with FakeVkServer(clock=clock) as server:
        server.state.add_token("community-token", "community", group_id=CITY)
        server.state.group(CITY)
        yield server


def client(vk: FakeVkServer) -> VkClient:
    return VkClient(
        SecretStr("community-token"),
        token_name="city",
        metrics=Metrics(),
        api_url=vk.url,
        rps=200.0,
        max_backoff=0.05,
    )


def answer(vk: FakeVkServer, message_id: str, event_id: str) -> object:
    call = reply_call(message_id, "Передали в службу", event_id)
    assert call is not None
    return client(vk).call(call.method, call.params)


def test_wall_answers_are_comments_of_the_community(vk: FakeVkServer, clock: Clock) -> None:
    now = int(clock().timestamp())
    post = vk.state.add_post(CITY, "Новости", now)
    comment = vk.state.add_comment(CITY, post, "Яма у дома 5", now, RESIDENT)
    for kind, item in [(SourceKind.VK_COMMENT, comment), (SourceKind.VK_WALL, 0)]:
        message_id = vk_message_id(kind, -CITY, post, item)
        first, again = (answer(vk, message_id, f"inc-{kind}:3") for _ in range(2))
        assert first == again
    answers = [c for c in vk.state.groups[CITY].comments[post] if c["from_id"] == -CITY]
    assert [(a["text"], a["parents_stack"]) for a in answers] == [
        ("Передали в службу", [comment]),
        ("Передали в службу", []),
    ]
    assert vk.violations == []


@pytest.mark.parametrize(
    ("kind", "place"),
    [
        (SourceKind.VK_PHOTO_COMMENT, "photo"),
        (SourceKind.VK_VIDEO_COMMENT, "video"),
        (SourceKind.VK_MARKET_COMMENT, "market"),
        (SourceKind.VK_BOARD, "topic"),
    ],
)
def test_comments_elsewhere_are_answered_once_as_the_community(
    vk: FakeVkServer, kind: SourceKind, place: str
) -> None:
    message_id = vk_message_id(kind, -CITY, 77, 8)
    first, again = (answer(vk, message_id, "inc-1:3") for _ in range(2))
    assert first == again
    [posted] = vk.state.item_comments[(place, -CITY, 77)]
    assert (posted["id"], posted["from_id"], posted["text"]) == (first, -CITY, "Передали в службу")
    if kind is not SourceKind.VK_BOARD:  # a board topic has no threads
        assert posted["reply_to_comment"] == 8
    assert vk.violations == []


def test_a_private_message_is_answered_once_in_its_dialogue(vk: FakeVkServer) -> None:
    message_id = vk_message_id(SourceKind.VK_MESSAGE, -CITY, RESIDENT, 8)
    first, again = (answer(vk, message_id, "inc-1:3") for _ in range(2))
    assert first == again
    [sent] = vk.state.messages[RESIDENT]
    assert (sent["id"], sent["from_id"], sent["text"]) == (first, -CITY, "Передали в службу")
    assert vk.violations == []


def test_a_call_against_the_schema_fails_the_test_when_the_server_closes(clock: Clock) -> None:
    with pytest.raises(AssertionError, match="from_group"), FakeVkServer(clock=clock) as vk:
        vk.state.add_token("community-token", "community", group_id=CITY)
        vk.state.group(CITY)
        params = {"owner_id": -CITY, "photo_id": 77, "message": "x", "from_group": CITY}
        client(vk).call("photos.createComment", params)
        assert vk.violations == [
            (
                "photos.createComment",
                "photos.createComment: parameter from_group: '210000001' is not boolean"
                " (VK's booleans are 0 or 1)",
            )
        ]
