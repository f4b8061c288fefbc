"""otklik commands run as OS processes, for the end-to-end tests."""

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kernel.clock import Clock
from kernel.db.migrate import upgrade
from kernel.db.schema import dead_letters, incidents, messages
from tools.kafka import KafkaServer
from tools.processes import OtklikProcesses


class Pipeline(OtklikProcesses):
    @classmethod
    def prepare(
        cls,
        kafka: KafkaServer,
        database_url: str,
        model_dir: Path,
        tmp_path: Path,
        sources_yaml: str,
        clock: Clock,
        **extra_env: str,
    ) -> "Pipeline":
        """A migrated database, a sources file and an isolated topic namespace for one test;
        every process runs on the test's clock."""
        run = uuid.uuid4().hex[:6]
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml, encoding="utf-8")
        env = {
            **os.environ,
            "OTKLIK_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "OTKLIK_DATABASE_URL": database_url,
            "OTKLIK_TOPIC_NAMESPACE": f"e2e{run}.",
            "OTKLIK_CONSUMER_GROUP_PREFIX": f"e2e{run}",
            "OTKLIK_MODEL_DIR": str(model_dir),
            "OTKLIK_SOURCES_FILE": str(sources),
            "OTKLIK_DATA_DIR": str(tmp_path / "data"),
            "OTKLIK_LOG_LEVEL": "WARNING",
            "OTKLIK_CLOCK_OFFSET": str(clock.offset.total_seconds()),
            **extra_env,
        }
        upgrade(database_url)
        return cls(env, tmp_path)


@dataclass(frozen=True)
class Stored:
    """What a pipeline left in PostgreSQL, read back for the exactly-once checks."""

    message_ids: list[str]
    flagged: set[str]
    incident_message_ids: list[str]
    dead_letters: int


def stored(engine: Engine) -> Stored:
    with engine.connect() as connection:
        ids = connection.execute(select(messages.c.message_id)).scalars().all()
        flagged = connection.execute(
            select(messages.c.message_id).where(messages.c.is_incident)
        ).scalars()
        opened = connection.execute(select(incidents.c.message_id)).scalars().all()
        letters = connection.scalar(select(func.count()).select_from(dead_letters))
    return Stored(list(ids), set(flagged), list(opened), int(letters or 0))


def scalar(engine: Engine, query: object) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(query) or 0)  # type: ignore[call-overload]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)
