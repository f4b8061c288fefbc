"""The backup and restore procedure of docs/operations.md, run on a real PostgreSQL: the shipped
scheduled backup (deploy/tools/backup.sh) making a dump in the custom format, pg_restore into an
empty database, and the restored database serves the same incidents and indicators (and takes new
work, its sequences restored too)."""

import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from kernel.db.engine import sqlalchemy_url
from kernel.db.schema import metadata
from kernel.observability import Metrics
from sla.stage import open_sla
from sla.storage.aggregation import current_records
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
BIN = Path(psycopg.__file__).parents[1] / "pgserver" / "pginstall" / "bin"
SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "tools" / "backup.sh"
NOW = datetime(2026, 9, 20, 9, 0, tzinfo=UTC)
STALE_MTIME = datetime(2020, 1, 1, tzinfo=UTC).timestamp()


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as connection:
        counts = {
            table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in metadata.sorted_tables
        }
        counts["alembic_version"] = len(
            connection.execute(text("SELECT * FROM alembic_version")).all()
        )
    engine.dispose()
    return counts


def empty_database(base_url: str) -> str:
    name = f"restored_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def backup(url: str, directory: Path) -> Path:
    """The scheduled backup as shipped (deploy/tools/backup.sh, the compose service and the
    CronJob), once: a custom-format dump, restorable selectively; older dumps past the kept days
    are deleted."""
    directory.mkdir(exist_ok=True)
    stale = directory / "otklik-2020-01-01T000000Z.dump"
    stale.write_bytes(b"old")
    os.utime(stale, (STALE_MTIME, STALE_MTIME))  # years older than any kept day
    env = {
        **os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DATABASE_URL": url,
        "BACKUP_DIR": str(directory), "BACKUP_KEEP_DAYS": "14", "BACKUP_ONCE": "1",
    }  # fmt: skip
    subprocess.run(["/bin/sh", str(SCRIPT)], env=env, check=True)
    assert not stale.exists()  # past the kept days
    (dump,) = directory.glob("otklik-*.dump")  # and no .partial left
    assert [p.name for p in directory.iterdir()] == [dump.name]
    return dump


def restore(dump: Path, url: str) -> None:
    command = [
        str(BIN / "pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        f"--dbname={url}",
        str(dump),
    ]
    subprocess.run(command, check=True)


async def test_a_dump_restored_into_an_empty_database_serves_the_same_data(
    settings_factory: SettingsFactory, database_url: str, postgres_base_url: str, tmp_path: Path
) -> None:
    source = await open_sla(settings_factory(database_url=database_url), Metrics(), lambda: NOW)
    for item in range(1, 7):
        created = NOW - timedelta(days=item)
        await source.service.on_classified(classified(raw_message(item, created_at=created)))
    await source.aggregator.run_once()
    await source.db.close()
    before = table_counts(database_url)
    assert before["incidents"] == 6 and before["indicator_values"] > 0

    dump = backup(database_url, tmp_path / "backups")
    target = empty_database(postgres_base_url)
    restore(dump, target)
    assert table_counts(target) == before

    restored = await open_sla(settings_factory(database_url=target), Metrics(), lambda: NOW)
    try:
        async with restored.db.engine.connect() as connection:
            records = await current_records(connection, "2026-09")
        assert [r.n_assigned for r in records] == [6]
        await restored.service.on_classified(classified(raw_message(99, created_at=NOW)))
    finally:
        await restored.db.close()
    assert table_counts(target)["incidents"] == 7
