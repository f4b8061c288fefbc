"""Each user's own notification preferences through the API and the «Уведомления» page, on a real
PostgreSQL: a moderator reads the defaults, puts their own (refused in Russian when an address
is not one), sees them on the page, and the notifier plans by them; another user's stay theirs."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.notifications.sender import Notifier
from services.web.app import create_app
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message
from tests.integration.test_restore_rejected import PASSWORD, bearer

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
async def site(
    settings_factory: SettingsFactory, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, SlaContext]]:
    settings = settings_factory(database_url=database_url)
    now = [T0]
    context = await open_sla(settings, Metrics(), clock=lambda: now[0])
    async with context.db.transaction() as connection:
        for login in ("anna", "boris"):
            await add_user(
                connection, login=login, password=PASSWORD, role=Role.MODERATOR,
                display_name=login,
            )  # fmt: skip
    await context.service.on_classified(classified(raw_message(1)))
    now[0] = T0 + timedelta(days=20)
    await context.service.watch_deadlines()
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, context
    await context.db.close()


async def test_a_user_sets_their_own_preferences_and_is_notified_by_them(
    site: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, context = site
    anna, boris = await bearer(client, "anna"), await bearer(client, "boris")
    defaults = (await client.get("/api/me/notifications", headers=anna)).json()
    assert defaults == {
        "email": None, "telegram_chat": None, "kinds": ["deadline_warning", "overdue",
        "answer_failed"], "digest": False, "digest_hour": 9, "timezone": None,
    }  # fmt: skip

    wrong = await client.put(
        "/api/me/notifications", headers=anna, json={"email": "не адрес", "kinds": ["overdue"]}
    )
    assert wrong.status_code == 422 and "имя@домен" in wrong.text
    chosen = {"email": "anna@city.example", "telegram_chat": "1001", "kinds": ["overdue"]}
    put = await client.put("/api/me/notifications", headers=anna, json=chosen)
    assert put.status_code == 200, put.text
    mine = (await client.get("/api/me/notifications", headers=anna)).json()
    assert {key: mine[key] for key in chosen} == chosen
    assert (await client.get("/api/me/notifications", headers=boris)).json() == defaults

    page = await client.get("/notifications", headers=anna)
    assert page.status_code == 200
    assert 'value="anna@city.example"' in page.text and 'value="1001"' in page.text

    # Boris has no address: only Anna's two channels are planned.
    notifier = Notifier(context.db, context.policy, context.clock, smtp=None, telegram=None)
    assert await notifier.plan() == 2
