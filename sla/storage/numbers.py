"""Short incident numbers: the next of a municipality's year, given in the creating transaction.

The counter row of (municipality, year) is created or incremented by one upsert, which locks it
until the transaction ends: a concurrent creation in the same municipality and year waits and
then counts on from the committed value; a rolled-back creation gives its numbers back. Keys are
taken in sorted order so two batches never wait for each other in a cycle."""

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import incident_counters, incidents, messages
from sla.domain.numbers import parse_number

Key = tuple[str, int]


async def message_years(
    connection: AsyncConnection, wanted: Sequence[tuple[str, str]], zone_of: Callable[[str], tzinfo]
) -> dict[str, int]:
    """The year each (message id, municipality) was written in, in the municipality's zone."""
    rows = await connection.execute(
        select(messages.c.message_id, messages.c.created_at).where(
            messages.c.message_id.in_([message_id for message_id, _ in wanted])
        )
    )
    written: dict[str, datetime] = {row.message_id: row.created_at for row in rows}
    return {
        message_id: written[message_id].astimezone(zone_of(municipality)).year
        for message_id, municipality in wanted
    }


async def take_numbers(connection: AsyncConnection, keys: Sequence[Key]) -> list[int]:
    """A new number for each key, in the order given (one key may come several times)."""
    counts = Counter(keys)
    last: dict[Key, int] = {}
    for key in sorted(counts):
        municipality, year = key
        upsert = insert(incident_counters).values(
            municipality=municipality, year=year, last=counts[key]
        )
        statement = upsert.on_conflict_do_update(
            index_elements=[incident_counters.c.municipality, incident_counters.c.year],
            set_={"last": incident_counters.c.last + upsert.excluded.last},
        ).returning(incident_counters.c.last)
        last[key] = int((await connection.execute(statement)).scalar_one())
    first = {key: last[key] - counts[key] for key in counts}
    numbers = []
    for key in keys:
        first[key] += 1
        numbers.append(first[key])
    return numbers


async def incident_id_of(
    connection: AsyncConnection, wanted: str, municipality_of: Callable[[str], str | None]
) -> str:
    """The id of the incident whose number is ``wanted`` («СЕВ-2026-000123», any case); what
    is not a known number is taken as an id as it is."""
    number = parse_number(wanted)
    municipality = None if number is None else municipality_of(number.prefix)
    if number is None or municipality is None:
        return wanted
    found = await connection.scalar(
        select(incidents.c.incident_id).where(
            incidents.c.number_municipality == municipality,
            incidents.c.number_year == number.year,
            incidents.c.number == number.number,
        )
    )
    return wanted if found is None else str(found)
