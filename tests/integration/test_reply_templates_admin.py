"""Canned replies managed on the admin page (real PostgreSQL, the app over httpx): the file's
templates fill the table once; an admin adds, changes and deletes templates, one with an unknown
placeholder or place is refused in Russian; the incident page offers only the templates for its
municipality and department; a deleted file template stays deleted after a restart."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from kernel.db.schema import audit_log
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from services.web.templates_store import load_reply_templates
from sla.stage import SlaContext, open_sla
from sla.storage.repository import incident_id_for
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message
from tests.integration.test_accounts_web import auth
from tests.integration.test_accounts_web import bearer as signed_in
from tests.integration.test_web_ui import sign_in

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
MINE = {
    "id": "lift", "title": "Лифт: передано", "final": False, "municipality": "severogorsk",
    "department": "ЖКХ", "text": "Заявка № {number} по лифту передана в {department}.",
}  # fmt: skip


@dataclass
class Web:
    client: httpx.AsyncClient
    context: SlaContext
    settings: Settings

    async def restart(self) -> httpx.AsyncClient:
        """The same database under a new app, as after a restart."""
        transport = httpx.ASGITransport(app=create_app(self.context, self.settings))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


@pytest.fixture
async def web(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[Web]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for login, role in (("root", Role.ADMIN), ("mod", Role.MODERATOR)):
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login
            )
    for item, municipality in ((1, "severogorsk"), (2, "zarechny")):
        resident = raw_message(item).model_copy(update={"municipality": municipality})
        await context.service.on_classified(classified(resident))  # department ЖКХ
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield Web(client, context, settings)
    await context.db.close()


async def bearer(client: httpx.AsyncClient, login: str) -> dict[str, str]:
    return auth(await signed_in(client, login, PASSWORD))


async def ids(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get("/api/admin/reply-templates", headers=headers)
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()]


async def page_offers(client: httpx.AsyncClient, item: int) -> bool:
    """Whether the incident page of raw_message(item) offers MINE (signed in as the moderator,
    with the page's cookie)."""
    if not client.cookies:
        await sign_in(client, "mod", PASSWORD)
    incident = incident_id_for(raw_message(item).message_id)
    page = await client.get(f"/incidents/{incident}")
    assert page.status_code == 200, page.text
    return "Лифт: передано" in page.text


async def test_an_admin_manages_templates_and_the_page_offers_those_of_its_place(
    web: Web,
) -> None:
    client = web.client
    admin = await bearer(client, "root")
    bundled = [t.id for t in load_reply_templates(None)]
    assert sorted(await ids(client, admin)) == sorted(bundled)  # filled from the file

    created = await client.post("/api/admin/reply-templates", json=MINE, headers=admin)
    assert created.status_code == 201, created.text
    again = await client.post("/api/admin/reply-templates", json=MINE, headers=admin)
    assert (again.status_code, again.json()["detail"]) == (
        409, "Шаблон «lift» уже есть: выберите другой код",
    )  # fmt: skip
    typo = {**MINE, "id": "typo", "text": "Починим до {dat}."}
    refused = await client.post("/api/admin/reply-templates", json=typo, headers=admin)
    assert refused.status_code == 422
    assert "неизвестные поля шаблона {dat}" in refused.text
    nowhere = {**MINE, "id": "nowhere", "municipality": "atlantis"}
    refused = await client.post("/api/admin/reply-templates", json=nowhere, headers=admin)
    assert refused.status_code == 422 and "неизвестный муниципалитет «atlantis»" in refused.text
    assert "typo" not in await ids(client, admin) and "nowhere" not in await ids(client, admin)

    assert await page_offers(client, 1)  # severogorsk, ЖКХ
    assert not await page_offers(client, 2)  # zarechny
    moved = {k: v for k, v in MINE.items() if k != "id"} | {"municipality": "zarechny"}
    client.cookies.clear()
    changed = await client.put("/api/admin/reply-templates/lift", json=moved, headers=admin)
    assert changed.status_code == 200, changed.text
    assert not await page_offers(client, 1) and await page_offers(client, 2)

    client.cookies.clear()
    moderator = await bearer(client, "mod")
    denied = await client.post("/api/admin/reply-templates", json=MINE, headers=moderator)
    assert denied.status_code == 403

    gone = await client.delete(f"/api/admin/reply-templates/{bundled[0]}", headers=admin)
    assert gone.status_code == 200, gone.text
    missing = await client.delete(f"/api/admin/reply-templates/{bundled[0]}", headers=admin)
    assert missing.status_code == 404
    async with await web.restart() as restarted:
        assert bundled[0] not in await ids(restarted, await bearer(restarted, "root"))
    async with web.context.db.engine.connect() as connection:
        actions = (await connection.scalars(select(audit_log.c.action))).all()
    assert actions.count("reply-templates-seeded") == 1
    assert {"reply-template-add", "reply-template-change", "reply-template-delete"} <= set(actions)
