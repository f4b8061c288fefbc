"""Test session fixtures: a real PostgreSQL (pgserver) and a real Kafka (KRaft, Maven jars).

Both start lazily, once per session, only when a test asks for them, and stop at the end, also on
failure. With CI=true a server that cannot start fails the test, and any skipped test fails the
run: CI never passes by skipping.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from kernel.clock import Clock
from kernel.db.embedded import start_embedded_postgres
from kernel.db.engine import Database, open_database
from kernel.db.migrate import upgrade
from kernel.settings import Settings
from tests.moments import DEFAULT, SUITE_MOMENTS, chosen
from tools import slapd
from tools.kafka import INSTALL_HINT, KafkaServer, ToolMissingError, missing_tools
from tools.slapd import SlapdServer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--moment", choices=SUITE_MOMENTS, default=DEFAULT,
        help=f"the moment the suite's clock starts at (tests/moments.py; default {DEFAULT})",
    )  # fmt: skip


def unavailable(reason: str) -> None:
    """Fail under CI, skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if IN_CI and skipped and exitstatus == 0:
        print(f"\nCI=true: {skipped} test(s) skipped; failing the run")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="otk-pg-", dir="/tmp"))
    try:
        handle, url = start_embedded_postgres(directory)
    except Exception as error:
        unavailable(f"PostgreSQL (pgserver) could not start: {error!r}")
        raise
    yield url
    handle.cleanup()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def database_url(postgres_base_url: str) -> str:
    """A fresh, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_base_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(postgres_base_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[KafkaServer]:
    missing = missing_tools()
    if missing:
        unavailable(f"{', '.join(missing)} missing. {INSTALL_HINT}")
    directory = Path(tempfile.mkdtemp(prefix="otk-kafka-"))
    server = KafkaServer(directory)
    try:
        server.start()
    except (ToolMissingError, RuntimeError, TimeoutError, OSError) as error:
        unavailable(f"Kafka could not start: {error}")
    print(f"\nKafka started in {server.startup_seconds:.1f}s on {server.bootstrap}")
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def slapd_server() -> Iterator[SlapdServer]:
    """Debian's slapd on a free port, an empty directory (tools/slapd.py); tests add their own
    people and groups under names of their own."""
    if slapd.missing_tools():
        unavailable(f"slapd missing. {slapd.INSTALL_HINT}")
    directory = Path(tempfile.mkdtemp(prefix="otk-slapd-"))
    server = SlapdServer(directory)
    try:
        server.start()
    except (RuntimeError, TimeoutError, OSError) as error:
        unavailable(f"slapd could not start: {error}")
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def model_dir() -> Iterator[Path]:
    """One default model trained and promoted for the whole session (seconds, not zero)."""
    from classifier.bootstrap import ensure_promoted_model

    directory = Path(tempfile.mkdtemp(prefix="otk-models-"))
    ensure_promoted_model(directory)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def moment(request: pytest.FixtureRequest) -> datetime:
    """When the test runs: never the wall clock's day (tests/moments.py; ``@every_moment``)."""
    return chosen(request.config)


@pytest.fixture
def clock(moment: datetime) -> Clock:
    """Reads ``moment`` when the test starts and runs on from there, like the system clock."""
    return Clock.starting_at(moment)


@pytest.fixture
async def db(settings_factory: "SettingsFactory", database_url: str) -> AsyncIterator[Database]:
    """A migrated database of this test, opened as the stages open theirs."""
    database = open_database(settings_factory(database_url=database_url))
    await asyncio.to_thread(upgrade, database.url)
    yield database
    await database.close()


@pytest.fixture
def settings_factory(tmp_path: Path, clock: Clock) -> "SettingsFactory":
    return SettingsFactory(tmp_path, clock)


class SettingsFactory:
    """Settings for one test: its own data dir and topic namespace, and the test's clock; tests
    that need the trained model pass ``model_dir=model_dir`` (the session fixture)."""

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        self.tmp_path = tmp_path
        self.clock = clock
        self.namespace = f"t{uuid.uuid4().hex[:8]}."

    def __call__(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "clock_offset": self.clock.offset,
            "data_dir": self.tmp_path / "data",
            "topic_namespace": self.namespace,
            "consumer_group_prefix": self.namespace.rstrip("."),
            "aggregate_interval_seconds": 1.0,
            "outbox_poll_seconds": 0.2,
        }
        values.update(overrides)
        return Settings.model_validate(values)
