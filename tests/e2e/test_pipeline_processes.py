"""The whole pipeline with every stage as its own OS process on real Kafka and PostgreSQL.

1,000 raw messages in → each stored exactly once, the flagged ones are incidents, the month's
indicator row exists; the classifier is killed with SIGKILL halfway and restarted, and the whole
input is replayed once more (redelivery): still exactly once.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from services.contracts.topics import Topic, topic_name
from services.db.engine import sqlalchemy_url
from services.db.migrate import upgrade
from services.db.schema import dead_letters, incidents, indicator_values, messages
from services.local.kafka import KafkaServer, free_port
from tests.factories import SOURCES_YAML, write_vk_events

pytestmark = pytest.mark.e2e
N = 1000


class Pipeline:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        env = {**self.env, "OTKLIK_METRICS_PORT": str(free_port())}
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args], env=env, stdout=log, stderr=log
        )
        self.processes[name] = process
        return process

    def run(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env={**self.env, "OTKLIK_METRICS_PORT": str(free_port())},
            check=True,
            timeout=120,
        )

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def pipeline(
    kafka_server: KafkaServer, database_url: str, model_dir: Path, tmp_path: Path
) -> Iterator[Pipeline]:
    run = uuid.uuid4().hex[:6]
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES_YAML, encoding="utf-8")
    env = {
        **os.environ,
        "OTKLIK_KAFKA_BOOTSTRAP": kafka_server.bootstrap,
        "OTKLIK_DATABASE_URL": database_url,
        "OTKLIK_TOPIC_NAMESPACE": f"e2e{run}.",
        "OTKLIK_CONSUMER_GROUP_PREFIX": f"e2e{run}",
        "OTKLIK_MODEL_DIR": str(model_dir),
        "OTKLIK_SOURCES_FILE": str(sources),
        "OTKLIK_DATA_DIR": str(tmp_path / "data"),
        "OTKLIK_LOG_LEVEL": "WARNING",
    }
    upgrade(database_url)
    running = Pipeline(env, tmp_path)
    yield running
    running.stop_all()


def scalar(engine: Engine, query: object) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(query) or 0)  # type: ignore[call-overload]


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


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
    pipeline: Pipeline, kafka_server: KafkaServer, database_url: str, tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    write_vk_events(events_file, N)
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

    with engine.connect() as connection:
        ids = connection.execute(select(messages.c.message_id)).scalars().all()
        flagged = set(
            connection.execute(
                select(messages.c.message_id).where(messages.c.is_incident)
            ).scalars()
        )
        incident_ids = set(connection.execute(select(incidents.c.message_id)).scalars())
        letters = connection.scalar(select(func.count()).select_from(dead_letters))
        row = connection.execute(
            select(indicator_values.c.record)
            .where(
                indicator_values.c.municipality == "testgrad", indicator_values.c.month == "2026-09"
            )
            .order_by(indicator_values.c.revision.desc())
        ).first()
    engine.dispose()
    assert len(ids) == N == len(set(ids))
    assert 0 < len(flagged) < N
    assert incident_ids == flagged
    assert letters == 0
    assert row is not None
    assert row.record["n_assigned"] == len(flagged)
