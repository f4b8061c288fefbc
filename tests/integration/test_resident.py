"""The resident on the incident page (real PostgreSQL): their other messages, newest first and
at most ten, only those within the reader's reach, each with its incident; none once their data
were removed on request."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kernel.db.schema import incidents
from kernel.observability import Metrics
from sla.stage import SlaContext, open_sla
from sla.storage.queue import EVERYWHERE, Reach
from sla.storage.redaction import redact
from sla.storage.resident import Resident, resident_of
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
FIRST = raw_message(1, author_id=55, created_at=T0).message_id


@pytest.fixture
async def sla(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[SlaContext]:
    """Resident 55 wrote 14 messages an hour apart (the even ones incidents of ЖКХ, the odd
    ones not incidents); resident 77 one."""
    context = await open_sla(
        settings_factory(database_url=database_url), Metrics(), clock=lambda: T0 + timedelta(days=2)
    )
    for item in range(1, 15):
        message = raw_message(
            item, author_id=55, text=f"Сообщение {item}", created_at=T0 + timedelta(hours=item)
        )
        await context.service.on_classified(classified(message, incident=item % 2 == 0))
    other = raw_message(20, author_id=77, created_at=T0 + timedelta(hours=20))
    await context.service.on_classified(classified(other))
    yield context
    await context.db.close()


async def resident(context: SlaContext, reach: Reach = EVERYWHERE) -> Resident | None:
    async with context.db.engine.connect() as connection:
        return await resident_of(connection, message_id=FIRST, reach=reach)


async def test_the_other_messages_are_the_latest_ten_each_with_its_incident(
    sla: SlaContext,
) -> None:
    found = await resident(sla)
    assert found is not None
    assert (found.ref, found.profile, found.redacted) == ("vk:id55", "https://vk.com/id55", False)
    assert [m["text"] for m in found.others] == [f"Сообщение {i}" for i in range(14, 4, -1)]
    async with sla.db.engine.connect() as connection:
        pairs = await connection.execute(select(incidents.c.message_id, incidents.c.incident_id))
    opened = {message_id: incident_id for message_id, incident_id in pairs}
    assert [m["incident_id"] for m in found.others] == [
        opened.get(m["message_id"]) for m in found.others
    ]
    assert sum(m["incident_id"] is not None for m in found.others) == 5


async def test_only_messages_within_the_readers_reach_are_listed(sla: SlaContext) -> None:
    elsewhere = await resident(sla, Reach(municipalities=frozenset({"zarechny"})))
    assert elsewhere is not None and elsewhere.others == []
    # A department-limited reader sees that department's incidents, not messages of no incident.
    housing = await resident(sla, Reach(departments=frozenset({"ЖКХ"})))
    assert housing is not None
    assert [m["text"] for m in housing.others] == [f"Сообщение {i}" for i in range(14, 1, -2)]
    town = await resident(sla, Reach(municipalities=frozenset({"testgrad"})))
    assert town is not None and len(town.others) == 10


async def test_a_redacted_author_shows_no_name_no_link_and_no_other_messages(
    sla: SlaContext,
) -> None:
    async with sla.db.transaction() as connection:
        await redact(connection, now=T0 + timedelta(days=1), author_ref="vk:id55")
    found = await resident(sla)
    assert found is not None and found.redacted
    assert (found.name, found.contact, found.profile, found.others) == (None, None, None, [])
