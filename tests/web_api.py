"""The web app on a real PostgreSQL database with one user per role and a few incidents, for the
tests that send the API what an outsider would (tests/integration/test_input_validation.py,
test_api_schema.py)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kernel.db.schema import incidents
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

PASSWORD = "correct horse battery"


@dataclass
class WebApi:
    app: FastAPI
    context: SlaContext
    incident_ids: list[str]

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

    async def bearer(self, role: Role) -> dict[str, str]:
        """The headers of a fresh session of the user of ``role`` (login = the role's name)."""
        async with self.client() as client:
            response = await client.post(
                "/api/login", json={"login": role.value, "password": PASSWORD}
            )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(name="web_api")
async def web_api_fixture(
    settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[WebApi]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for role in Role:
            await add_user(
                connection, login=role.value, password=PASSWORD, role=role, display_name=role
            )
    for n in range(1, 4):
        await context.service.on_classified(classified(raw_message(n)))
    await context.aggregator.run_once()  # the month's indicators, so those routes answer 200
    async with context.db.engine.connect() as connection:
        ids = list((await connection.scalars(select(incidents.c.incident_id))).all())
    yield WebApi(create_app(context, settings), context, ids)
    await context.db.close()
