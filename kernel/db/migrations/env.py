"""Alembic environment: online migrations only, URL passed in by kernel.db.migrate."""

from alembic import context
from sqlalchemy import create_engine, pool

from kernel.db.schema import metadata

url = context.config.attributes["url"]
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    # Several processes may start at once: one migrates, the others wait for it.
    connection.exec_driver_sql("SELECT pg_advisory_lock(7215)")
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
    connection.exec_driver_sql("SELECT pg_advisory_unlock(7215)")
    connection.commit()
engine.dispose()
