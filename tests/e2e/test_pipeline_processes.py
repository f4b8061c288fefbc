"""The whole pipeline with every stage as its own OS process on real Kafka and PostgreSQL.

1,000 raw messages in → each stored exactly once, the flagged ones are incidents, the month's
indicator row exists; the classifier is killed with SIGKILL halfway and restarted, and the whole
input is replayed once more (redelivery): still exactly once.
"""

import asyncio
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import create_engine, func, select

from kernel.clock import Clock
from kernel.contracts.topics import Topic, topic_name
from kernel.db.engine import sqlalchemy_url
from kernel.db.schema import indicator_values, messages
from tests.e2e.processes import Pipeline, scalar, wait_until
from tests.e2e.processes import stored as stored_rows
from tests.factories import SOURCES_YAML, write_vk_events
from tests.moments import MOSCOW
from tools.kafka import KafkaServer

pytestmark = pytest.mark.e2e
N = 1000


@pytest.fixture
def pipeline(
    kafka_server: KafkaServer, database_url: str, model_dir: Path, tmp_path: Path, clock: Clock
) -> Iterator[Pipeline]:
    running = Pipeline.prepare(kafka_server, database_url, model_dir, tmp_path, SOURCES_YAML, clock)
    yield running
    running.stop_all()


def committed(bootstrap: str, group: str, topic: str) -> int:
    async def read() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        except KafkaError:  # the group or its coordinator does not exist yet
            return 0
        finally:
            await admin.close()
        return sum(
            meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0
        )

    return asyncio.run(read())


def test_every_message_exactly_once_across_a_classifier_crash(
    pipeline: Pipeline,
    kafka_server: KafkaServer,
    database_url: str,
    tmp_path: Path,
    clock: Clock,
) -> None:
    events_file = tmp_path / "events.jsonl"
    # The five days of comments lie at the start of the month before the test's moment: in the
    # past whatever the moment, and in one month, whose indicators are checked below.
    this_month = clock().astimezone(MOSCOW).replace(day=1, hour=9, minute=0, second=0)
    start = (this_month - timedelta(days=1)).replace(day=1)
    write_vk_events(events_file, N, start=start)
    engine = create_engine(sqlalchemy_url(database_url))
    stored = select(func.count()).select_from(messages)
    namespace = pipeline.env["OTKLIK_TOPIC_NAMESPACE"]
    raw_topic = topic_name(Topic.RAW_MESSAGES, namespace)
    prefix = pipeline.env["OTKLIK_CONSUMER_GROUP_PREFIX"]

    pipeline.run("ingest", "replay", str(events_file))  # the raw topic now holds all 1,000
    pipeline.start("sla", "sla")
    classifier = pipeline.start("classifier", "classify")
    wait_until(
        lambda: committed(kafka_server.bootstrap, f"{prefix}.classifier", raw_topic) >= N // 4,
        120,
        "the classifier to be a quarter through",
    )
    os.kill(classifier.pid, signal.SIGKILL)
    classifier.wait()
    at_kill = committed(kafka_server.bootstrap, f"{prefix}.classifier", raw_topic)
    assert at_kill < N, "the classifier finished before it was killed: the test proves nothing"

    pipeline.start("classifier-2", "classify")
    wait_until(lambda: scalar(engine, stored) >= N, 180, "all messages to be stored")
    pipeline.run("ingest", "replay", str(events_file))  # redelivery of everything
    wait_until(
        lambda: (
            committed(
                kafka_server.bootstrap,
                f"{prefix}.sla",
                topic_name(Topic.CLASSIFIED_MESSAGES, namespace),
            )
            >= 2 * N
        ),
        180,
        "the replayed copies to be consumed",
    )
    pipeline.run("aggregate", "--once")

    result = stored_rows(engine)
    with engine.connect() as connection:
        row = connection.execute(
            select(indicator_values.c.record)
            .where(
                indicator_values.c.municipality == "testgrad",
                indicator_values.c.month == f"{start:%Y-%m}",
            )
            .order_by(indicator_values.c.revision.desc())
        ).first()
    engine.dispose()
    ids, flagged = result.message_ids, result.flagged
    assert len(ids) == N == len(set(ids))
    assert 0 < len(flagged) < N
    assert set(result.incident_message_ids) == flagged
    assert result.dead_letters == 0
    assert row is not None
    assert row.record["n_assigned"] == len(flagged)
