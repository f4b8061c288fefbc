"""Where each source resumes, kept in PostgreSQL (table ingest_cursors).

A cursor is advanced only after what it covers has been published durably, so a crash between
the two re-reads a little (deduplicated downstream by the deterministic message id) and never
skips anything.
"""

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from kernel.db.engine import Database
from kernel.db.schema import ingest_cursors


class CursorStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, source_id: str, key: str) -> Any:
        """The stored value, or None when this source and key never advanced."""
        async with self._db.engine.connect() as connection:
            return await connection.scalar(
                select(ingest_cursors.c.value).where(
                    ingest_cursors.c.source_id == source_id, ingest_cursors.c.key == key
                )
            )

    async def all(self, source_id: str, prefix: str = "") -> dict[str, Any]:
        query = select(ingest_cursors.c.key, ingest_cursors.c.value).where(
            ingest_cursors.c.source_id == source_id,
            ingest_cursors.c.key.startswith(prefix, autoescape=True),
        )
        async with self._db.engine.connect() as connection:
            return {row.key: row.value for row in await connection.execute(query)}

    async def put(self, source_id: str, key: str, value: Any) -> None:
        statement = insert(ingest_cursors).values(source_id=source_id, key=key, value=value)
        async with self._db.transaction() as connection:
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[ingest_cursors.c.source_id, ingest_cursors.c.key],
                    set_={
                        "value": statement.excluded.value,
                        "updated_at": statement.excluded.updated_at,
                    },
                )
            )

    async def delete(self, source_id: str, key: str) -> None:
        statement = delete(ingest_cursors).where(
            ingest_cursors.c.source_id == source_id, ingest_cursors.c.key == key
        )
        async with self._db.transaction() as connection:
            await connection.execute(statement)
