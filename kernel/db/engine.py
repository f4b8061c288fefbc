"""The database handle of one process: an async engine built from settings, never at import."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from kernel.settings import Settings


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL (psycopg 3, sync and async alike) for a plain postgresql:// URL."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@dataclass
class Database:
    engine: AsyncEngine
    url: str
    embedded_handle: Any = None  # keeps an embedded server alive while the process uses it

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            yield connection

    async def close(self) -> None:
        await self.engine.dispose()


def resolve_database_url(settings: Settings) -> tuple[str, Any]:
    """The configured URL, or an embedded PostgreSQL under data_dir when none is configured."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    from kernel.db.embedded import start_embedded_postgres

    handle, url = start_embedded_postgres(Path(settings.data_dir) / "pg")
    return url, handle


def open_database(settings: Settings, *, pool_size: int = 5) -> Database:
    url, handle = resolve_database_url(settings)
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=5,
        pool_pre_ping=True,
        # Named, so that an operator (and the fault test) can tell otklik's sessions apart in
        # pg_stat_activity.
        connect_args={"application_name": "otklik"},
    )
    return Database(engine=engine, url=url, embedded_handle=handle)
