"""Apply Alembic migrations programmatically (``otklik db upgrade`` and every service start)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from kernel.db.engine import sqlalchemy_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = sqlalchemy_url(url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
