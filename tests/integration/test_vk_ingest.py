"""VK ingestion against the fake VK API server (real vk-api client, real HTTP) and a real
PostgreSQL for cursors: Bots Long Poll with its failures, wall polling with resume, VK's error
codes, and the Callback API."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ingest.domain.sources import SourceCatalog
from ingest.handlers import VkEventIngestor
from ingest.storage.cursors import CursorStore
from ingest.vk.callback import callback_router
from ingest.vk.client import VkClient
from ingest.vk.longpoll import LongPollListener
from ingest.vk.polling import WallPoller
from kernel.bus.memory import RecordingPublisher
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.db.engine import Database
from kernel.observability import Metrics
from kernel.settings import Settings
from tests.conftest import SettingsFactory
from tools.fake_vk import FakeVkServer

pytestmark = pytest.mark.integration
CITY, LOCAL = 210000001, 210000002
NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {
                "id": f"vk:-{CITY}",
                "name": "Город",
                "kind": "vk_group",
                "group_id": CITY,
                "managed": True,
                "municipality": "testgrad",
                "token": "city",
                "callback": {"secret": "city_callback", "confirmation": "c0nf1rm"},
            },
            {
                "id": f"vk:-{LOCAL}",
                "name": "Подслушано",
                "kind": "vk_group",
                "group_id": LOCAL,
                "municipality": "testgrad",
                "token": "reader",
                "polling": {"lookback_days": 3, "search": ["Тестград"]},
            },
        ]
    }
)


def at(hours: float) -> int:
    return int((NOW - timedelta(hours=hours)).timestamp())


@pytest.fixture
def vk() -> Iterator[FakeVkServer]:
    with FakeVkServer() as server:
        server.state.add_token("community-token", "community")
        server.state.add_token("user-token", "user")
        server.state.add_token("service-token", "service")
        yield server


def client(vk: FakeVkServer, token: str, metrics: Metrics) -> VkClient:
    return VkClient(
        SecretStr(token),
        token_name=token,
        metrics=metrics,
        api_url=vk.url,
        rps=200.0,
        max_backoff=0.05,
        method_pause=600.0,
    )


def ids(publisher: RecordingPublisher) -> list[str]:
    return [RawMessage.model_validate_json(b).message_id for b in publisher.on(Topic.RAW_MESSAGES)]


def listener(
    vk: FakeVkServer, db: Database, publisher: RecordingPublisher, metrics: Metrics | None = None
) -> LongPollListener:
    metrics = metrics or Metrics()
    ingestor = VkEventIngestor(CATALOG, publisher, metrics, lambda: NOW)
    source = CATALOG.sources[0]
    return LongPollListener(
        source, client(vk, "community-token", metrics), ingestor, CursorStore(db), wait=1
    )


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_long_poll_publishes_and_survives_every_documented_failure(
    vk: FakeVkServer, db: Database
) -> None:
    state = vk.state
    post = state.add_post(CITY, "Новости города", at(5))
    published, metrics = RecordingPublisher(), Metrics()
    first = listener(vk, db, published, metrics)
    await first.check_once()  # connects: only events after this moment are new
    state.add_comment(CITY, post, "нет горячей воды на мира 5", at(4), 1001)
    assert await first.check_once() == 1
    state.fail_longpoll(CITY, 2)  # key expired: new key, same ts, nothing lost
    state.add_comment(CITY, post, "и на мира 7 тоже", at(3), 1002)
    assert await first.check_once() == 0
    assert await first.check_once() == 1
    state.fail_longpoll(CITY, 3)  # key and history lost: VK says continue from a new ts
    assert await first.check_once() == 0
    state.add_comment(CITY, post, "лифт стоит третий день", at(2), 1003)
    assert await first.check_once() == 1
    state.fail_longpoll(CITY, 1)  # history lost: the new ts is given in the reply
    assert await first.check_once() == 0
    for failed in ("1", "2", "3"):
        assert sample(metrics, "otklik_vk_longpoll_failed_total", failed=failed) == 1

    # A restart resumes from the stored ts: what arrived while down is read once, nothing twice.
    state.add_comment(CITY, post, "пока вы спали, прорвало трубу", at(1), 1004)
    state.add_comment(CITY, post, "уже течёт в подвал", at(1), 1005)
    second = listener(vk, db, published)
    assert await second.check_once() == 2
    assert await second.check_once() == 0
    assert len(ids(published)) == len(set(ids(published))) == 5


async def test_long_poll_stops_on_an_invalid_token_and_says_so(
    vk: FakeVkServer, db: Database
) -> None:
    vk.state.tokens.pop("community-token")
    metrics = Metrics()
    await listener(vk, db, RecordingPublisher(), metrics).run()  # returns, no endless retry
    assert sample(metrics, "otklik_vk_token_invalid", token="community-token") == 1
    assert (
        sample(metrics, "otklik_vk_api_calls_total", method="groups.getLongPollServer", result="5")
        == 1
    )


async def test_long_poll_publishes_each_reply_as_a_batch_and_dead_letters_bad_events(
    vk: FakeVkServer, db: Database
) -> None:
    state = vk.state
    state.longpoll_limit = 2  # VK may split a backlog over several replies
    published = RecordingPublisher()
    first = listener(vk, db, published)
    await first.check_once()  # connects
    post = state.add_post(CITY, "Новости города", at(5))
    comments = [state.add_comment(CITY, post, f"жалоба {n}", at(4), 1001 + n) for n in range(3)]
    state.add_event(CITY, "wall_reply_new", {"id": "not a number"})
    assert [await first.check_once() for _ in range(3)] == [2, 2, 0]
    assert ids(published) == [
        f"vk:vk_wall:-{CITY}:{post}:0",
        *(f"vk:vk_comment:-{CITY}:{post}:{comment}" for comment in comments),
    ]
    assert len(published.on(Topic.DEAD_LETTERS)) == 1
    assert await listener(vk, db, published).check_once() == 0  # the ts covers the whole backlog


def poller(
    vk: FakeVkServer, db: Database, publisher: RecordingPublisher, token: str = "user-token"
) -> tuple[WallPoller, Metrics]:
    metrics = Metrics()
    ingestor = VkEventIngestor(CATALOG, publisher, metrics, lambda: NOW)
    source = CATALOG.sources[1]
    return WallPoller(
        source, client(vk, token, metrics), ingestor, CursorStore(db), lambda: NOW
    ), metrics


def seed_local_wall(vk: FakeVkServer) -> list[int]:
    state = vk.state
    old = state.add_post(LOCAL, "старый пост, вне окна", at(24 * 10))
    posts = [state.add_post(LOCAL, f"пост {n} про Тестград", at(30 - n)) for n in range(3)]
    state.add_comment(LOCAL, old, "комментарий под старым постом", at(20), 2000)
    for n, post in enumerate(posts):
        top = state.add_comment(LOCAL, post, f"яма на дороге {n}", at(20), 2001)
        for reply in range(12):  # a long thread: more than the 10 items VK inlines
            state.add_comment(LOCAL, post, f"ответ {reply}", at(19), 2100 + reply, top)
    return posts


async def test_wall_polling_reads_posts_comments_and_threads_once_across_restarts(
    vk: FakeVkServer, db: Database
) -> None:
    posts = seed_local_wall(vk)
    published = RecordingPublisher()
    first, _ = poller(vk, db, published)
    count = await first.poll_once()
    # 4 posts (the old one too: new to us) + 3 x 13 comments in the window + 3 search hits
    assert count == 4 + 39 + 3
    assert any(method == "execute" for method, _ in vk.state.calls)

    vk.state.add_comment(LOCAL, posts[0], "и ещё одна яма", at(1), 2200)
    vk.state.add_comment(LOCAL, posts[2], "ответ в старую ветку", at(1), 2201, 5)
    second, _ = poller(vk, db, published)  # a restart: the cursors come from PostgreSQL
    assert await second.poll_once() == 2
    assert await second.poll_once() == 0
    all_ids = ids(published)
    wall_ids = [i for i in all_ids if ":vk_wall:" not in i]
    assert len(wall_ids) == len(set(wall_ids)) == 41
    assert not any(":10:" in i for i in all_ids if "vk_comment" in i)  # old post's comment


async def test_service_token_falls_back_from_execute_to_single_calls(
    vk: FakeVkServer, db: Database
) -> None:
    seed_local_wall(vk)
    published = RecordingPublisher()
    wall, _ = poller(vk, db, published, token="service-token")
    assert await wall.poll_once() == 4 + 39  # newsfeed.search needs a user token: skipped
    singles = [m for m, _ in vk.state.calls if m == "wall.getComments"]
    assert len(singles) >= 3


async def test_vk_errors_retry_pause_and_mark_inaccessible(vk: FakeVkServer, db: Database) -> None:
    posts = seed_local_wall(vk)
    vk.state.closed_posts.add((-LOCAL, posts[1]))  # error 212 for this post only
    vk.state.fail_next("wall.get", 6, 10, 9)  # transient: retried with jittered backoff
    vk.state.fail_next("newsfeed.search", 29)  # the method's quota: paused, the rest goes on
    published = RecordingPublisher()
    wall, metrics = poller(vk, db, published)
    assert await wall.poll_once() == 4 + 26
    for code in ("6", "9", "10"):
        assert sample(metrics, "otklik_vk_api_calls_total", method="wall.get", result=code) == 1
    assert (
        sample(metrics, "otklik_vk_api_calls_total", method="wall.getComments", result="212") == 1
    )
    assert sample(metrics, "otklik_vk_inaccessible_total", scope="post") == 1
    marks = await CursorStore(db).all(f"vk:-{LOCAL}", "inaccessible:")
    assert list(marks) == [f"inaccessible:post:{posts[1]}"]
    searches = len([m for m, _ in vk.state.calls if m == "newsfeed.search"])
    assert await wall.poll_once() == 0
    assert len([m for m, _ in vk.state.calls if m == "newsfeed.search"]) == searches  # paused


def callback_app(settings: Settings, publisher: RecordingPublisher) -> FastAPI:
    app = FastAPI()
    ingestor = VkEventIngestor(CATALOG, publisher, Metrics(), lambda: NOW)
    app.include_router(callback_router(ingestor, settings))
    return app


async def test_callback_confirms_checks_the_secret_and_answers_ok_after_publishing(
    settings_factory: SettingsFactory,
) -> None:
    settings = settings_factory(secrets={"city_callback": "s3cr3t-key"})
    published = RecordingPublisher()
    transport = httpx.ASGITransport(app=callback_app(settings, published))
    event = {
        "type": "wall_reply_new",
        "group_id": CITY,
        "event_id": "ab" * 20,
        "v": "5.199",
        "object": {"id": 7, "from_id": 1001, "date": at(1), "text": "яма", "post_id": 3,
                   "owner_id": -CITY},
    }  # fmt: skip
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        confirm = await http.post("/vk/callback", json={"type": "confirmation", "group_id": CITY})
        assert confirm.text == "c0nf1rm"
        wrong = await http.post("/vk/callback", json={**event, "secret": "guess"})
        assert wrong.status_code == 403 and published.sent == []
        for _ in range(2):  # VK retries until it sees "ok": the same message id both times
            ok = await http.post("/vk/callback", json={**event, "secret": "s3cr3t-key"})
            assert ok.status_code == 200 and ok.text == "ok"
        assert ids(published) == ["vk:vk_comment:-210000001:3:7"] * 2
        broken = {**event, "object": {"id": "x"}, "secret": "s3cr3t-key"}
        assert (await http.post("/vk/callback", json=broken)).text == "ok"
        letters = published.on(Topic.DEAD_LETTERS)
        assert len(letters) == 1 and "malformed" in json.loads(letters[0])["reason"]
        assert (await http.post("/vk/callback", content=b"\xff\x00")).status_code == 400
        unknown = await http.post("/vk/callback", json={"type": "confirmation", "group_id": 5})
        assert unknown.status_code == 404
