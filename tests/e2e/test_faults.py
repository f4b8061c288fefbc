"""Faults on the real thing: every stage its own OS process on a dedicated Kafka broker and a
dedicated PostgreSQL, and in the middle of one stream the ingestor, the SLA tracker and the
classifier are killed with SIGKILL, Kafka is restarted, the SLA tracker's database connections
are cut inside their transactions, and PostgreSQL is restarted.

Afterwards: every message stored exactly once, every flagged message exactly one incident, each
deadline event recorded once, nothing dead-lettered, and the month's indicators equal to a
recomputation of the same raw events by the in-process pipeline into a fresh database.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from kernel.clock import Clock
from kernel.contracts.topics import Topic, topic_name
from kernel.db.embedded import start_embedded_postgres
from kernel.db.engine import sqlalchemy_url
from kernel.db.schema import incident_events, incidents, messages, outbox
from kernel.settings import Settings
from services.demo.embedded import run_embedded
from tests.conftest import unavailable
from tests.e2e.processes import Pipeline, scalar, wait_until
from tests.e2e.processes import stored as stored_rows
from tests.factories import GROUP, SOURCES_YAML, vk_comment_event
from tests.kafka_topics import topic_size
from tools.kafka import KafkaServer

pytestmark = pytest.mark.e2e
COMMENTS = 300
# The stream lies a month before the test's moment: every deadline has passed by then, even
# across the New Year holidays, so every incident has its deadline events whatever the moment.
HISTORY = timedelta(days=30)


def official_reply(comment: dict[str, Any], reply_id: int) -> dict[str, Any]:
    """The community answers a resident's comment two hours later, in its thread."""
    resident = comment["object"]
    return {
        **comment,
        "object": {
            **resident,
            "id": reply_id,
            "from_id": -GROUP,
            "date": resident["date"] + 7200,
            "text": "Здравствуйте! Проблема устранена, спасибо за сигнал.",
            "reply_to_comment": resident["id"],
            "parents_stack": [resident["id"]],
        },
        "event_id": f"r{reply_id:039x}",
    }


def write_stream(path: Path, start: datetime) -> int:
    """Residents' comments over a day and a half and the community's answers to every fifth, in
    the order VK delivers them (by time); returns the number of events."""
    comments = [vk_comment_event(i, start) for i in range(COMMENTS)]
    replies = [official_reply(c, 100_000 + i) for i, c in enumerate(comments) if i % 5 == 0]
    events = sorted(comments + replies, key=lambda e: (e["object"]["date"], e["object"]["id"]))
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", "utf-8")
    return len(events)


class Postgres:
    """A PostgreSQL of this test alone, so that restarting it disturbs no other test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.handle, self.url = start_embedded_postgres(directory)

    def restart(self) -> None:
        self.handle.cleanup()
        self.handle, url = start_embedded_postgres(self.directory)
        assert url == self.url

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def servers() -> Iterator[tuple[KafkaServer, Postgres]]:
    directory = Path(tempfile.mkdtemp(prefix="otk-f-", dir="/tmp"))
    kafka = KafkaServer(directory / "kafka")
    try:
        kafka.start()
        postgres = Postgres(directory / "pg")
    except Exception as error:  # any reason the servers cannot run here
        kafka.stop()
        unavailable(f"Kafka or PostgreSQL for the fault test could not start: {error!r}")
        raise
    yield kafka, postgres
    kafka.stop()
    postgres.handle.cleanup()
    shutil.rmtree(directory, ignore_errors=True)


def cut_connections(database_url: str, application: str) -> int:
    """Terminate the backends of the other processes on this database: whatever transaction
    they are in is rolled back by PostgreSQL, as when a network link drops."""
    name = make_url(database_url).database
    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() AND application_name = %s",
            (name, application),
        ).fetchall()
    return len(rows)


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def latest_indicators(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    query = text(
        "SELECT DISTINCT ON (municipality, month) municipality, month, record"
        " FROM indicator_values ORDER BY municipality, month, revision DESC"
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    ignored = {"revision", "computed_at"}
    return {
        (m, month): {k: v for k, v in record.items() if k not in ignored}
        for m, month, record in rows
    }


def recompute(
    database_url: str, events: Path, model_dir: Path, tmp_path: Path, clock: Clock
) -> Engine:
    """The same raw events through the in-process pipeline into a fresh database."""
    settings = Settings.model_validate(
        {
            "clock_offset": clock.offset,
            "database_url": database_url,
            "model_dir": model_dir,
            "data_dir": tmp_path / "recompute",
            "sources_file": tmp_path / "sources.yaml",
        }
    )
    asyncio.run(run_embedded(settings, events, serve=False, as_recorded=True))
    return create_engine(sqlalchemy_url(database_url))


def test_stream_survives_kills_broker_restart_cut_connections_and_database_restart(
    servers: tuple[KafkaServer, Postgres], model_dir: Path, tmp_path: Path, clock: Clock
) -> None:
    kafka, postgres = servers
    database_url = postgres.create_database("faults")
    events_file = tmp_path / "events.jsonl"
    total = write_stream(events_file, clock() - HISTORY)
    pipeline = Pipeline.prepare(
        kafka, database_url, model_dir, tmp_path, SOURCES_YAML, clock,
        OTKLIK_DEADLINE_WATCH_SECONDS="1", OTKLIK_OUTBOX_POLL_SECONDS="0.2",
        # Small batches: with the default 500 a stage takes the whole stream in one or two
        # transactions and the faults below would land after it, not in the middle.
        OTKLIK_KAFKA_BATCH_RECORDS="3",
    )  # fmt: skip
    raw_topic = topic_name(Topic.RAW_MESSAGES, pipeline.env["OTKLIK_TOPIC_NAMESPACE"])
    engine = create_engine(sqlalchemy_url(database_url), pool_pre_ping=True)
    stored = select(func.count()).select_from(messages)

    def raw_size() -> int:
        return asyncio.run(topic_size(kafka.bootstrap, raw_topic))

    try:
        ingest = pipeline.start("ingest", "ingest", "replay", str(events_file))
        wait_until(lambda: raw_size() >= total // 4, 120, "a quarter ingested")
        kill(ingest)
        pipeline.run("ingest", "replay", str(events_file))  # the restarted ingestor: everything

        sla = pipeline.start("sla", "sla")
        classifier = pipeline.start("classifier", "classify")
        wait_until(lambda: scalar(engine, stored) >= total // 6, 300, "a sixth stored")
        kill(sla)
        pipeline.start("sla-2", "sla")
        wait_until(lambda: scalar(engine, stored) >= total // 3, 300, "a third stored")
        kill(classifier)
        pipeline.start("classifier-2", "classify")
        wait_until(lambda: scalar(engine, stored) >= total // 2, 300, "half stored")
        kafka.stop()
        kafka.start()
        wait_until(lambda: scalar(engine, stored) >= 2 * total // 3, 300, "two thirds stored")
        wait_until(  # retried: at one instant a process may hold no connection
            lambda: cut_connections(database_url, "otklik") > 0, 60, "an otklik connection to cut"
        )
        wait_until(lambda: scalar(engine, stored) >= 5 * total // 6, 300, "five sixths stored")
        engine.dispose()
        postgres.restart()
        wait_until(lambda: scalar(engine, stored) >= total, 300, "every message stored")
        wait_until(
            lambda: settled(engine, clock()), 300, "incidents, deadline events and outbox to settle"
        )
    finally:
        pipeline.stop_all()
    pipeline.run("aggregate", "--once")

    result = stored_rows(engine)
    with engine.connect() as connection:
        deadline_events = connection.execute(
            text(
                "SELECT incident_id, type, data->>'clock', count(*) FROM incident_events"
                " WHERE type IN ('deadline_warning', 'overdue')"
                " GROUP BY incident_id, type, data->>'clock'"
            )
        ).all()
    ids, flagged = result.message_ids, result.flagged
    assert len(ids) == total == len(set(ids))
    assert 0 < len(flagged) < total and sorted(result.incident_message_ids) == sorted(flagged)
    assert deadline_events, "no deadline event was due: the test proves nothing about them"
    assert {row[3] for row in deadline_events} == {1}
    assert result.dead_letters == 0

    expected = recompute(
        postgres.create_database("recomputed"), events_file, model_dir, tmp_path, clock
    )
    assert latest_indicators(engine) == latest_indicators(expected)
    assert any(r["n_handled_on_time"] > 0 for r in latest_indicators(engine).values())
    engine.dispose()
    expected.dispose()


def settled(engine: Engine, now: datetime) -> bool:
    """Every flagged message has its incident, every incident that is overdue now has its
    overdue events, and the outbox is empty."""
    with engine.connect() as connection:
        flagged = connection.scalar(
            select(func.count()).select_from(messages).where(messages.c.is_incident)
        )
        opened = connection.scalar(select(func.count()).select_from(incidents))
        waiting = connection.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        due = connection.scalar(
            select(func.count())
            .select_from(incidents)
            .where(
                incidents.c.final_answer_at.is_(None),
                incidents.c.final_answer_due < now - timedelta(seconds=1),
                ~select(incident_events.c.seq)
                .where(
                    incident_events.c.incident_id == incidents.c.incident_id,
                    incident_events.c.type == "overdue",
                    text("incident_events.data->>'clock' = 'final_answer'"),
                )
                .exists(),
            )
        )
    return bool(flagged) and flagged == opened and waiting == 0 and due == 0
