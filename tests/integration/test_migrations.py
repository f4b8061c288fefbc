"""Migrations: the schema they make is the metadata's, 0007's re-keying and its way back, and an
upgrade rolled back and redone on a copy of a working database."""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from kernel.db.engine import sqlalchemy_url
from kernel.db.migrate import alembic_config, upgrade
from kernel.db.schema import metadata
from kernel.observability import Metrics
from services.cli import app as cli_app
from sla.stage import open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def test_migrated_schema_matches_the_metadata_and_upgrade_is_repeatable(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []


def test_vk_threads_are_rekeyed_by_their_root_and_back(database_url: str) -> None:
    """0007: a post's comments move into the post's thread; photos, videos, products and
    topics get their roots' names; appeals and dialogs are untouched; downgrade restores."""
    before = {
        "vk:vk_wall:-7:3:0": "vk:wall-7_3",
        "vk:vk_comment:-7:3:5": "vk:vk_comment-7_3",
        "vk:vk_photo_comment:-7:4:6": "vk:vk_photo_comment-7_4",
        "vk:vk_video_comment:-7:5:7": "vk:vk_video_comment-7_5",
        "vk:vk_market_comment:-7:6:8": "vk:vk_market_comment-7_6",
        "vk:vk_board:-7:9:10": "vk:vk_board-7_9",
        "vk:vk_message:-7:55:11": "vk:im-7_55",
        "appeal:web:portal:1": "appeal:portal:vk:vk_comment-7_3",
    }
    after = {
        **before,
        "vk:vk_comment:-7:3:5": "vk:wall-7_3",
        "vk:vk_photo_comment:-7:4:6": "vk:photo-7_4",
        "vk:vk_video_comment:-7:5:7": "vk:video-7_5",
        "vk:vk_market_comment:-7:6:8": "vk:market-7_6",
        "vk:vk_board:-7:9:10": "vk:topic-7_9",
    }
    upgrade(database_url, "0006")
    engine = create_engine(sqlalchemy_url(database_url))
    insert = text(
        "INSERT INTO messages (message_id, source_kind, channel, source_id, thread_key, text,"
        " attachments, is_official, created_at, received_at, municipality)"
        " VALUES (:id, 'vk_comment', 'vk', 'vk:-7', :key, '', '[]', false, now(), now(), 'm')"
    )
    with engine.begin() as connection:
        for message_id, key in before.items():
            connection.execute(insert, {"id": message_id, "key": key})

    def keys() -> dict[str, str]:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT message_id, thread_key FROM messages"))
            return {row.message_id: row.thread_key for row in rows}

    upgrade(database_url)
    assert keys() == after
    command.downgrade(alembic_config(database_url), "0006")
    assert keys() == before
    engine.dispose()


async def test_an_upgrade_is_rolled_back_and_redone_on_a_copy_with_data(
    settings_factory: SettingsFactory, database_url: str, postgres_base_url: str
) -> None:
    """docs/operations.md, "Upgrade and roll back": on a copy of a working database, every
    migration goes down (`otklik db downgrade`) to the first and up again (`otklik db upgrade`);
    the residents' messages, incidents and their history survive the round trip, and the schema
    is the current one again."""
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics(), clock=lambda: T0 + timedelta(days=2))
    for item in range(1, 5):
        created = T0 + timedelta(hours=item)
        await context.service.on_classified(classified(raw_message(item, created_at=created)))
    await context.aggregator.run_once()
    await context.db.close()
    copy = f"rehearsal_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_base_url, autocommit=True) as connection:
        name = make_url(database_url).database
        connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    copy_url = make_url(postgres_base_url).set(database=copy).render_as_string(False)
    before = kept_rows(copy_url)
    assert before["incidents"] == 4

    env = {"OTKLIK_DATABASE_URL": copy_url, "OTKLIK_DATA_DIR": str(settings.data_dir)}
    runner = CliRunner()
    revisions = [script.revision for script in ScriptDirectory.from_config(
        alembic_config(copy_url)).walk_revisions()]  # fmt: skip
    for revision in revisions[1:]:  # newest first: one release back at a time
        down = runner.invoke(cli_app, ["db", "downgrade", revision], env=env)
        assert down.exit_code == 0 and f"database is at {revision}" in down.output, down.output
    assert runner.invoke(cli_app, ["db", "current"], env=env).output.strip() == revisions[-1]
    up = runner.invoke(cli_app, ["db", "upgrade"], env=env)
    assert up.exit_code == 0, up.output
    assert runner.invoke(cli_app, ["db", "current"], env=env).output.strip() == revisions[0]
    assert kept_rows(copy_url) == before
    engine = create_engine(sqlalchemy_url(copy_url))
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    engine.dispose()


def kept_rows(url: str) -> dict[str, int]:
    """Rows of the tables every revision has: what a rollback must not lose."""
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as connection:
        counts = {
            table: int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
            for table in ("messages", "incidents", "incident_events")
        }
    engine.dispose()
    return counts
