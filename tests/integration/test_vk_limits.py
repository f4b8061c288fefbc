"""VK's limits and refusals against the fake VK server (real vk-api client, real HTTP) and a real
PostgreSQL for cursors: execute responses over the size limit, a group that denies access, a
captcha on a reader's token and on an answer."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from ingest.domain.sources import SourceCatalog
from ingest.domain.vk_batching import EXECUTE_RESPONSE_LIMIT
from ingest.handlers import VkEventIngestor
from ingest.stage import series_at_zero
from ingest.storage.cursors import CursorStore
from ingest.vk.answers import VkAnswerPoster
from ingest.vk.client import VkCallError, VkClient
from ingest.vk.polling import WallPoller
from kernel.bus.memory import RecordingPublisher
from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.contracts.incidents import IncidentEvent
from kernel.contracts.messages import RawMessage, SourceKind, vk_message_id
from kernel.contracts.topics import Topic
from kernel.db.engine import Database
from kernel.observability import Metrics
from tools.fake_vk import FakeVkServer

pytestmark = pytest.mark.integration
CITY, LOCAL = 210000001, 210000002
LIMIT = 40_000  # bytes an execute may return here: VK's 5 MB, scaled to a few hundred comments
CAPTCHA_PAUSE = 600.0
CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {"id": f"vk:-{CITY}", "name": "Город", "kind": "vk_group", "group_id": CITY,
             "managed": True, "municipality": "testgrad", "token": "city"},
            {"id": f"vk:-{LOCAL}", "name": "Подслушано", "kind": "vk_group", "group_id": LOCAL,
             "municipality": "testgrad", "token": "reader", "polling": {"lookback_days": 3}},
        ]
    }
)  # fmt: skip
SOURCE = CATALOG.sources[1]


class Moment:
    """The test's "now", moved by the test: a poller's datetime and a client's monotonic."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def vk() -> Iterator[FakeVkServer]:
    with FakeVkServer() as server:
        server.state.add_token("community-token", "community")
        server.state.add_token("user-token", "user")
        server.state.execute_response_limit = LIMIT
        yield server


@pytest.fixture
def now(moment: datetime) -> Moment:
    return Moment(moment)


def client(vk: FakeVkServer, token: str, metrics: Metrics, now: Moment) -> VkClient:
    return VkClient(
        SecretStr(token),
        token_name=token,
        metrics=metrics,
        api_url=vk.url,
        rps=500.0,
        max_backoff=0.05,
        captcha_pause=CAPTCHA_PAUSE,
        execute_response_limit=LIMIT,
        clock=now.seconds,
    )


def poller(
    vk: FakeVkServer, db: Database, publisher: RecordingPublisher, now: Moment
) -> tuple[WallPoller, Metrics]:
    metrics = Metrics()
    ingestor = VkEventIngestor(CATALOG, publisher, metrics, now)
    reader = client(vk, "user-token", metrics, now)
    return WallPoller(SOURCE, reader, ingestor, CursorStore(db), now), metrics


def ids(publisher: RecordingPublisher) -> list[str]:
    return [RawMessage.model_validate_json(b).message_id for b in publisher.on(Topic.RAW_MESSAGES)]


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def hours_ago(now: Moment, hours: float) -> int:
    return int((now.now - timedelta(hours=hours)).timestamp())


def seed_busy_wall(vk: FakeVkServer, now: Moment) -> dict[int, list[int]]:
    """20 posts, 12 comments under each (a long text: about 0.8 kB a comment), 250 under one:
    a round's first page of every post is ~6 times the execute limit, the busy post's alone over
    it."""
    state = vk.state
    text = "Во дворе дома на улице Мира опять не вывезли мусор, контейнеры переполнены. " * 4
    comments: dict[int, list[int]] = {}
    for n in range(20):
        post = state.add_post(LOCAL, f"пост {n}", hours_ago(now, 40 - n))
        count = 250 if n == 7 else 12
        comments[post] = [
            state.add_comment(LOCAL, post, f"{k}: {text}", hours_ago(now, 10), 3000 + k)
            for k in range(count)
        ]
    return comments


def executes(vk: FakeVkServer) -> int:
    return len([method for method, _ in vk.state.calls if method == "execute"])


async def test_a_backlog_over_the_execute_limit_arrives_once_and_the_cursors_move(
    vk: FakeVkServer, db: Database, now: Moment
) -> None:
    comments = seed_busy_wall(vk, now)
    published = RecordingPublisher()
    wall, metrics = poller(vk, db, published, now)
    expected = sum(len(c) for c in comments.values())
    assert await wall.poll_once() == len(comments) + expected
    refused = sample(metrics, "otklik_vk_api_calls_total", method="execute", result="13") or 0
    # 20, 10 and 5 calls were refused; 2 fit until the busy post's call, which goes alone
    assert refused == 4
    assert wall.batch.calls == 1
    comment_ids = [i for i in ids(published) if ":vk_comment:" in i]
    assert len(comment_ids) == len(set(comment_ids)) == expected
    cursors = await CursorStore(db).all(SOURCE.id, "post:")
    assert cursors == {f"post:{post}": {"max_id": max(c)} for post, c in comments.items()}

    # The next round finds nothing new and is not refused again: the smaller batch holds.
    assert await wall.poll_once() == 0
    assert sample(metrics, "otklik_vk_api_calls_total", method="execute", result="13") == refused
    vk.state.add_comment(LOCAL, next(iter(comments)), "и ещё", hours_ago(now, 1), 4000)
    assert await wall.poll_once() == 1
    assert len(ids(published)) == len(set(ids(published)))


async def test_a_round_over_vks_real_5_mb_limit_still_delivers_every_comment_once(
    vk: FakeVkServer, db: Database, now: Moment
) -> None:
    """VK's own limit, not a scaled one: 20 posts (a round's wall.get) with 100 comments of about
    2.9 kB each, so one execute of their first pages would return about 5.8 MB."""
    vk.state.execute_response_limit = EXECUTE_RESPONSE_LIMIT
    text = "Во дворе дома на улице Мира опять не вывезли мусор, контейнеры переполнены. " * 19
    expected = 0
    for n in range(20):
        post = vk.state.add_post(LOCAL, f"пост {n}", hours_ago(now, 40 - n))
        for k in range(100):
            vk.state.add_comment(LOCAL, post, f"{k}: {text}", hours_ago(now, 10), 3000 + k)
            expected += 1
    published = RecordingPublisher()
    metrics = Metrics()
    reader = VkClient(
        SecretStr("user-token"), token_name="user-token", metrics=metrics, api_url=vk.url,
        rps=500.0, max_backoff=0.05, clock=now.seconds,
    )  # fmt: skip
    ingestor = VkEventIngestor(CATALOG, published, metrics, now)
    wall = WallPoller(SOURCE, reader, ingestor, CursorStore(db), now)
    assert await wall.poll_once() == 20 + expected
    assert await wall.poll_once() == 0
    assert (sample(metrics, "otklik_vk_api_calls_total", method="execute", result="13") or 0) >= 1
    comment_ids = [i for i in ids(published) if ":vk_comment:" in i]
    assert len(comment_ids) == len(set(comment_ids)) == expected


async def test_a_shrunk_batch_grows_back_once_responses_leave_room(
    vk: FakeVkServer, db: Database, now: Moment
) -> None:
    for n in range(20):
        post = vk.state.add_post(LOCAL, f"пост {n}", hours_ago(now, 5))
        vk.state.add_comment(LOCAL, post, "спасибо", hours_ago(now, 4), 5000)
    vk.state.execute_response_limit = 1_500  # a burst: for one round VK's limit is met early
    wall, metrics = poller(vk, db, RecordingPublisher(), now)
    assert await wall.poll_once() == 40
    shrunk = wall.batch.calls
    assert shrunk < 20
    assert (sample(metrics, "otklik_vk_api_calls_total", method="execute", result="13") or 0) > 0
    vk.state.execute_response_limit = LIMIT
    before = executes(vk)
    sizes = []
    for _ in range(5):
        assert await wall.poll_once() == 0
        sizes.append(wall.batch.calls)
    assert shrunk == 5  # 20 and 10 refused
    assert sizes == [10, 20, 25, 25, 25]  # one step a round
    assert executes(vk) - before == 4 + 2 + 1 + 1 + 1  # the 20 posts in 4, 2, then 1 request


async def test_a_denied_group_is_marked_skipped_and_cleared_by_a_later_success(
    vk: FakeVkServer, db: Database, now: Moment
) -> None:
    post = vk.state.add_post(LOCAL, "пост", hours_ago(now, 2))
    vk.state.add_comment(LOCAL, post, "яма у дома 3", hours_ago(now, 1), 6000)
    vk.state.denied_groups.add(LOCAL)
    published = RecordingPublisher()
    wall, metrics = poller(vk, db, published, now)
    series_at_zero(metrics, CATALOG)
    gauge = "otklik_vk_source_inaccessible"
    assert sample(metrics, gauge, source=SOURCE.id) == 0  # exported before any round
    assert await wall.poll_once() == 0
    assert sample(metrics, gauge, source=SOURCE.id) == 1
    assert sample(metrics, "otklik_vk_api_calls_total", method="wall.get", result="203") == 1
    assert sample(metrics, "otklik_vk_inaccessible_total", scope="source") == 1
    assert list(await CursorStore(db).all(SOURCE.id, "inaccessible:")) == ["inaccessible:source"]

    vk.state.denied_groups.clear()  # access given back: the group is asked again within the hour
    calls = len(vk.state.calls)
    now.now += timedelta(minutes=30)
    assert await wall.poll_once() == 0
    assert len(vk.state.calls) == calls  # skipped, VK not asked
    restarted, restarted_metrics = poller(vk, db, published, now)
    assert await restarted.poll_once() == 0  # the mark is stored: a restart skips it too
    assert sample(restarted_metrics, gauge, source=SOURCE.id) == 1
    now.now += timedelta(minutes=31)
    assert await wall.poll_once() == 2
    assert sample(metrics, gauge, source=SOURCE.id) == 0
    assert await CursorStore(db).all(SOURCE.id, "inaccessible:") == {}


async def test_a_captcha_is_counted_and_pauses_the_token_without_calling_again(
    vk: FakeVkServer, db: Database, now: Moment
) -> None:
    post = vk.state.add_post(LOCAL, "пост", hours_ago(now, 2))
    vk.state.add_comment(LOCAL, post, "не работает фонарь", hours_ago(now, 1), 7000)
    vk.state.fail_next("wall.get", 14)
    wall, metrics = poller(vk, db, RecordingPublisher(), now)
    assert await wall.poll_once() == 0
    assert sample(metrics, "otklik_vk_api_calls_total", method="wall.get", result="14") == 1
    asked = len(vk.state.calls)
    for _ in range(3):  # the rounds during the pause do not reach VK
        now.now += timedelta(seconds=CAPTCHA_PAUSE / 4)
        assert await wall.poll_once() == 0
    assert len(vk.state.calls) == asked == 1
    now.now += timedelta(seconds=CAPTCHA_PAUSE / 4 + 1)
    assert await wall.poll_once() == 2
    assert sample(metrics, "otklik_vk_api_calls_total", method="wall.get", result="14") == 1


def test_a_captcha_is_otkliks_error_and_vk_error_objects_carry_what_vk_sends(
    vk: FakeVkServer, now: Moment
) -> None:
    vk.state.fail_next("wall.get", 14)
    reader = client(vk, "user-token", Metrics(), now)
    with pytest.raises(VkCallError) as raised:
        reader.call("wall.get", {"owner_id": -LOCAL, "count": 1})
    assert raised.value.code == 14 and "captcha.php?sid=" in str(raised.value)
    assert reader.token_paused_for() == CAPTCHA_PAUSE

    vk.state.fail_next("wall.get", 14)
    vk.state.denied_groups.add(LOCAL)
    for expected in (14, 203):
        form = {"owner_id": str(-LOCAL), "v": "5.199", "access_token": "user-token"}
        error = httpx.post(f"{vk.url}/method/wall.get", data=form).json()["error"]
        assert error["error_code"] == expected
        assert {"key": "owner_id", "value": str(-LOCAL)} in error["request_params"]
        assert all(p["key"] != "access_token" for p in error["request_params"])
        assert ("captcha_sid" in error and "captcha_img" in error) is (expected == 14)


async def test_an_answer_hitting_a_captcha_is_retried_later_not_dead_lettered(
    vk: FakeVkServer, now: Moment
) -> None:
    post = vk.state.add_post(CITY, "Новости", hours_ago(now, 2))
    comment = vk.state.add_comment(CITY, post, "Яма у дома 5", hours_ago(now, 1), 777)
    metrics = Metrics()
    city = client(vk, "community-token", metrics, now)
    reports = RecordingPublisher()
    poster = VkAnswerPoster(CATALOG, lambda _source: city, metrics, reports, now)
    event = IncidentEvent(
        event_id="inc-1:3", incident_id="inc-1", seq=3, type="answered", status="answered",
        message_id=vk_message_id(SourceKind.VK_COMMENT, -CITY, post, comment),
        actor="moderator1", at=now.now, municipality="testgrad",
        data={"final": True, "text": "Передали в дорожную службу"},
    )  # fmt: skip
    vk.state.fail_next("wall.createComment", 14)
    for _ in range(2):  # ConnectionError: the delivery layer backs off and retries in place
        with pytest.raises(ConnectionError):
            await poster.handle(event)
    assert len([m for m, _ in vk.state.calls if m == "wall.createComment"]) == 1
    now.now += timedelta(seconds=CAPTCHA_PAUSE)
    await poster.handle(event)
    texts = [c["text"] for c in vk.state.group(CITY).comments[post]]
    assert texts == ["Яма у дома 5", "Передали в дорожную службу"]
    # The captcha left it uncertain, so nothing was reported until the reply was posted.
    [report] = [AnswerDelivery.model_validate_json(b) for b in reports.on(Topic.ANSWER_DELIVERIES)]
    reply = vk.state.group(CITY).comments[post][-1]["id"]
    assert (report.posted, report.url) == (True, f"https://vk.com/wall-{CITY}_{post}?reply={reply}")
