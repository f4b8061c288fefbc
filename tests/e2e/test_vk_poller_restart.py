"""The VK wall poller as its own OS process against the fake VK server, real Kafka and a real
PostgreSQL, with the classifier and SLA stages downstream: SIGKILL the poller in the middle of
a round, add comments while it is down, restart it — every comment stored exactly once."""

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from kernel.clock import Clock
from kernel.db.engine import sqlalchemy_url
from kernel.db.schema import messages
from tests.e2e.processes import Pipeline, scalar, wait_until
from tools.fake_vk import FakeVkServer
from tools.kafka import KafkaServer

pytestmark = pytest.mark.e2e
GROUP = 210000077
POSTS, COMMENTS = 25, 48
SOURCES = f"""sources:
  - id: "vk:-{GROUP}"
    name: "Подслушано в Тестграде"
    kind: vk_group
    group_id: {GROUP}
    municipality: testgrad
    token: reader
    polling: {{lookback_days: 30, posts_per_round: 100}}
"""


@pytest.fixture
def vk(clock: Clock) -> Iterator[FakeVkServer]:
    with FakeVkServer(clock=clock) as server:
        server.state.add_token("user-token", "user")
        yield server


def seed(vk: FakeVkServer) -> int:
    start = vk.clock() - timedelta(days=5)
    for n in range(POSTS):
        date = int((start + timedelta(hours=n)).timestamp())
        post = vk.state.add_post(GROUP, f"Пост {n}: что у вас во дворе?", date)
        first = 0
        for c in range(COMMENTS):
            reply_to = first if c % 6 == 5 else 0  # some thread replies
            comment = vk.state.add_comment(
                GROUP, post, f"во дворе дома {c} яма номер {n}-{c}", date + c, 5000 + c, reply_to
            )
            first = first or comment
    return POSTS * (COMMENTS + 1)


def ingested(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as reply:
            text = reply.read().decode()
    except OSError:
        return 0.0
    lines = [ln for ln in text.splitlines() if ln.startswith("otklik_messages_ingested_total")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_poller_killed_mid_round_and_restarted_stores_every_comment_once(
    vk: FakeVkServer, kafka_server: KafkaServer, database_url: str, model_dir: Path, tmp_path: Path
) -> None:
    expected = seed(vk)
    pipeline = Pipeline.prepare(
        kafka_server,
        database_url,
        model_dir,
        tmp_path,
        SOURCES,
        vk.clock,
        OTKLIK_VK_API_URL=vk.url,
        OTKLIK_SECRETS=json.dumps({"reader": "user-token"}),
        OTKLIK_VK_POLL_INTERVAL_SECONDS="0.5",
        OTKLIK_VK_USER_RPS="100",
    )
    engine = create_engine(sqlalchemy_url(database_url))
    stored = select(func.count()).select_from(messages)
    try:
        poller = pipeline.start("poller", "ingest", "vk")
        port = pipeline.metrics_ports["poller"]
        wait_until(lambda: ingested(port) >= expected // 5, 120, "the poller to be a fifth in")
        poller.kill()
        poller.wait()
        stored_at_kill = scalar(engine, stored)  # nothing downstream runs yet: 0

        post = max(vk.state.group(GROUP).posts)
        for c in range(7):  # written while the poller was down
            written = int(vk.clock().timestamp())
            vk.state.add_comment(GROUP, post, f"пока никто не смотрел {c}", written, 9000)
        expected += 7
        pipeline.start("poller-2", "ingest", "vk")
        pipeline.start("classifier", "classify")
        pipeline.start("sla", "sla")
        wait_until(lambda: scalar(engine, stored) >= expected, 240, "every comment to be stored")
        second = ingested(pipeline.metrics_ports["poller-2"])
        assert 0 < second < expected, "the restart did not resume from the stored cursors"
        time.sleep(1.5)  # a few more polling rounds: nothing new may appear
        assert stored_at_kill == 0
        assert scalar(engine, stored) == expected
    finally:
        pipeline.stop_all()
        engine.dispose()
