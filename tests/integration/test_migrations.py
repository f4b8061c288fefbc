import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from kernel.db.engine import sqlalchemy_url
from kernel.db.migrate import upgrade
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
