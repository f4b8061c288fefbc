import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from kernel.db.engine import sqlalchemy_url
from kernel.db.migrate import alembic_config, upgrade
from kernel.db.schema import metadata

pytestmark = pytest.mark.integration


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
