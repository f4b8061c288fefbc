"""Many rows in one INSERT: the rows travel as one JSON document and PostgreSQL turns it back
into rows of the table's own types (``json_populate_recordset``). One short statement,
prepared once whatever the number of rows, and one parameter serialised by the json module:
executemany sends a statement per row, a multi-row VALUES is a statement as long as the batch
(parsed anew each time), and arrays per column are escaped value by value."""

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnClause, Table, Text, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSON, Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection

# PostgreSQL's name for the row number WITH ORDINALITY adds when the alias lists no columns.
ORDINAL = "ordinality"


@cache
def _statement(table: Table, names: tuple[str, ...], skip_conflicts: bool) -> Insert:
    # NULL::<table> gives the row type: each field is read as its column's type, by name.
    row_type: ColumnClause[Any] = literal_column(f"NULL::{table.name}")
    document = bindparam("rows", type_=Text).cast(JSON)
    rows = func.json_populate_recordset(row_type, document).table_valued(
        *names, with_ordinality=ORDINAL
    )
    # In the given order, so that serial ids (the outbox's) follow it.
    in_order = select(*(rows.c[name] for name in names)).order_by(rows.c[ORDINAL])
    statement = insert(table).from_select(list(names), in_order)
    return statement.on_conflict_do_nothing() if skip_conflicts else statement


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


async def insert_rows(
    connection: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts: bool = False,
) -> None:
    """Insert ``rows`` (all with the same keys) in one statement; with ``skip_conflicts`` a row
    that would violate a unique constraint is left out, as ON CONFLICT DO NOTHING does. None
    is SQL NULL in every column, JSON ones included."""
    if not rows:
        return
    names = tuple(rows[0])
    document = json.dumps(rows, ensure_ascii=False, default=_plain)
    await connection.execute(_statement(table, names, skip_conflicts), {"rows": document})
