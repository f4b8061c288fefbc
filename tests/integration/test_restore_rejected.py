"""«Не инцидент» undone by a supervisor (real PostgreSQL, through the API): the incident is back
in work with its deadlines, the month counts it again in a new revision, the classifier's label
says incident; a moderator may not undo, and only a rejected incident can be restored."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from kernel.db.schema import incidents, moderator_labels
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
async def site(
    settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, SlaContext]]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics(), clock=lambda: T0 + timedelta(days=3))
    async with context.db.transaction() as connection:
        for login, role in (("anna", Role.MODERATOR), ("glava", Role.SUPERVISOR)):
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login
            )
    for item in (1, 2):
        message = raw_message(item, created_at=T0 + timedelta(hours=item))
        await context.service.on_classified(classified(message))
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, context
    await context.db.close()


async def bearer(client: httpx.AsyncClient, login: str) -> dict[str, str]:
    answer = await client.post("/api/login", json={"login": login, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def test_a_supervisor_undoes_a_wrong_rejection_and_the_month_counts_it_again(
    site: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, context = site
    anna, glava = await bearer(client, "anna"), await bearer(client, "glava")
    async with context.db.engine.connect() as connection:
        target = await connection.scalar(
            select(incidents.c.incident_id).where(
                incidents.c.message_id == raw_message(1).message_id
            )
        )
        due_before = await connection.scalar(
            select(incidents.c.final_answer_due).where(incidents.c.incident_id == target)
        )
    assert target is not None
    url = f"/api/incidents/{target}"
    # Restoring what is not rejected is refused.
    assert (
        await client.post(f"{url}/restore", json={"reason": "x"}, headers=glava)
    ).status_code == 409
    rejected = await client.post(f"{url}/reject", json={"reason": "реклама"}, headers=anna)
    assert rejected.status_code == 200
    before = await context.aggregator.publish_month("testgrad", "2026-09")
    assert before is not None and before.n_assigned == 1
    # A moderator may not undo it; a supervisor must give a reason.
    refused = await client.post(f"{url}/restore", json={"reason": "жалоба"}, headers=anna)
    assert refused.status_code == 403
    no_reason = await client.post(f"{url}/restore", json={"reason": " "}, headers=glava)
    assert no_reason.status_code in (409, 422)
    restored = await client.post(
        f"{url}/restore", json={"reason": "это жалоба на яму"}, headers=glava
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "assigned"
    detail = (await client.get(url, headers=glava)).json()
    assert detail["history"][-1]["type"] == "restored"
    assert detail["history"][-1]["reason"] == "это жалоба на яму"
    async with context.db.engine.connect() as connection:
        row = (
            await connection.execute(
                select(incidents.c.final_answer_due, incidents.c.status).where(
                    incidents.c.incident_id == target
                )
            )
        ).one()
        label = (
            await connection.execute(
                select(moderator_labels.c.is_incident, moderator_labels.c.decision).where(
                    moderator_labels.c.incident_id == target
                )
            )
        ).one()
    assert row.final_answer_due == due_before  # the deadlines it had
    assert tuple(label) == (True, "restored")
    after = await context.aggregator.publish_month("testgrad", "2026-09")
    assert after is not None and after.n_assigned == 2
    assert after.revision == before.revision + 1
