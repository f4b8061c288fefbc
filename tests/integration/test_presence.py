"""Who has an incident open (services/web/presence.py) on PostgreSQL, on explicit times: those
heard of within the TTL, by name; a goodbye and an expired row leave nothing behind."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kernel.db.engine import Database
from kernel.db.schema import incident_viewers
from kernel.observability import Metrics
from services.web.presence import TTL, Viewer, report, viewers
from sla.stage import open_sla
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
ANNA, BORIS = Viewer("Анна Петрова", "anna"), Viewer("Борис Иванов", "boris")


@pytest.fixture
async def db(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[Database]:

    context = await open_sla(settings_factory(database_url=database_url), Metrics())
    yield context.db
    await context.db.close()


async def test_viewers_are_those_heard_of_within_the_ttl(db: Database) -> None:
    async with db.transaction() as connection:
        await report(connection, "inc-1", BORIS, T0, leaving=False)
        await report(connection, "inc-1", ANNA, T0 + timedelta(seconds=5), leaving=False)
        await report(connection, "inc-2", ANNA, T0 + timedelta(seconds=5), leaving=False)
        assert await viewers(connection, "inc-1", T0 + timedelta(seconds=5)) == [ANNA, BORIS]
        # Boris's page stopped reporting (closed without a goodbye, or the network): gone.
        later = T0 + TTL + timedelta(seconds=1)
        await report(connection, "inc-1", ANNA, later, leaving=False)
        assert await viewers(connection, "inc-1", later) == [ANNA]
        assert await viewers(connection, "inc-3", later) == []
        kept = await connection.scalar(select(func.count()).select_from(incident_viewers))
        assert kept == 2  # Anna on inc-1 and inc-2: Boris's old row went with the report


async def test_a_closed_page_says_goodbye_and_nothing_is_kept_for_it(db: Database) -> None:
    async with db.transaction() as connection:
        await report(connection, "inc-1", ANNA, T0, leaving=False)
        await report(connection, "inc-1", ANNA, T0 + timedelta(seconds=1), leaving=True)
        assert await viewers(connection, "inc-1", T0 + timedelta(seconds=1)) == []
        assert await connection.scalar(select(func.count()).select_from(incident_viewers)) == 0
