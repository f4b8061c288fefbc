"""Teamwork through the API on a real PostgreSQL: internal notes with @mentions (recorded in the
history, moving nothing, never posted to VK), the «упоминания» view, and the full-text search
over messages and notes with Russian morphology."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from ingest.domain.sources import SourceCatalog
from ingest.vk.answers import VkAnswerPoster
from kernel.contracts.incidents import EventType, IncidentEvent
from kernel.db.schema import incidents
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.scopes import Scope
from services.auth.store import add_user
from services.web.app import create_app
from sla.stage import SlaContext, open_sla
from sla.storage.changes import changed_since
from sla.storage.queue import QueueFilter, queue_query
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
TEXTS = {1: "Во дворе бегают бездомные собаки", 2: "Яма на дороге у школы"}


@dataclass
class Site:
    client: httpx.AsyncClient
    context: SlaContext
    ids: dict[int, str]  # raw_message item -> incident id
    settings: Settings


@pytest.fixture
async def site(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[Site]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics(), clock=lambda: T0 + timedelta(hours=3))
    async with context.db.transaction() as connection:
        for login, scope in (
            ("anna", None),
            ("boris", None),
            ("sever", Scope(municipalities=frozenset({"severogorsk"}))),
        ):
            await add_user(
                connection, login=login, password=PASSWORD, role=Role.MODERATOR,
                display_name=login, scope=scope,
            )  # fmt: skip
    ids = {}
    for item, words in TEXTS.items():
        message = raw_message(item, text=words, created_at=T0 + timedelta(minutes=item))
        await context.service.on_classified(classified(message))
        async with context.db.engine.connect() as connection:
            ids[item] = str(
                await connection.scalar(
                    select(incidents.c.incident_id).where(
                        incidents.c.message_id == message.message_id
                    )
                )
            )
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield Site(client, context, ids, settings)
    await context.db.close()


async def bearer(client: httpx.AsyncClient, login: str) -> dict[str, str]:
    answer = await client.post("/api/login", json={"login": login, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def listed(client: httpx.AsyncClient, who: dict[str, str], query: str) -> list[str]:
    page = await client.get(f"/api/incidents?{query}", headers=who)
    assert page.status_code == 200, page.text
    return [item["incident_id"] for item in page.json()["items"]]


async def test_a_note_mentions_a_colleague_and_moves_nothing(site: Site) -> None:
    client, target = site.client, site.ids[1]
    anna, boris = await bearer(client, "anna"), await bearer(client, "boris")
    url = f"/api/incidents/{target}"
    assert (await client.post(f"{url}/claim", headers=anna)).status_code == 200
    before = (await client.get(url, headers=anna)).json()
    # boris notes on anna's claimed incident: a note is no action on it, the claim stays hers.
    noted = await client.post(
        f"{url}/notes", json={"text": "@anna звонили из УК, см. письмо"}, headers=boris
    )
    assert noted.status_code == 200, noted.text
    assert noted.json()["mentions"] == ["anna"]
    after = (await client.get(url, headers=anna)).json()
    for kept in ("status", "claimed_by", "final_answer_due", "first_response_at"):
        assert after[kept] == before[kept]
    note = after["history"][-1]
    assert (note["type"], note["actor"], note["status"]) == ("noted", "boris", "in_work")
    assert note["data"] == {"text": "@anna звонили из УК, см. письмо", "mentions": "anna"}
    assert await listed(client, anna, "view=mentions") == [target]
    assert await listed(client, boris, "view=mentions") == []
    # The live feed names who made the latest change: Anna's page shows the banner, Boris's not.
    async with site.context.db.engine.connect() as connection:
        changes = await changed_since(connection, T0 - timedelta(days=1))
    assert [(c.actor, c.event) for c in changes if c.incident_id == target] == [("boris", "noted")]


async def test_unknown_or_blind_mentions_are_refused_by_name(site: Site) -> None:
    client, url = site.client, f"/api/incidents/{site.ids[1]}/notes"
    anna = await bearer(client, "anna")
    refused = await client.post(
        url, json={"text": "@nobody @sever @boris посмотрите"}, headers=anna
    )
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert "нет пользователей @nobody" in detail and "вне области доступа @sever" in detail
    assert "@boris" not in detail
    history = (await client.get(f"/api/incidents/{site.ids[1]}", headers=anna)).json()["history"]
    assert all(event["type"] != "noted" for event in history)  # nothing recorded
    # An e-mail address is not a mention.
    mail = await client.post(url, json={"text": "письмо на dvor@mail.ru"}, headers=anna)
    assert mail.status_code == 200 and mail.json()["mentions"] == []
    viewer_only = await client.post(url, json={"text": "   "}, headers=anna)
    assert viewer_only.status_code == 422


async def test_search_finds_inflected_words_in_messages_and_notes(site: Site) -> None:
    client = site.client
    anna = await bearer(client, "anna")
    dogs, pit = site.ids[1], site.ids[2]
    assert await listed(client, anna, "q=собака") == [dogs]  # «собаки» in the message
    assert await listed(client, anna, "q=ямы") == [pit]
    assert await listed(client, anna, "q=кошка") == []
    note = {"text": "Подрядчик обещал асфальтирование до пятницы"}
    assert (
        await client.post(f"/api/incidents/{pit}/notes", json=note, headers=anna)
    ).status_code == 200
    assert await listed(client, anna, "q=подрядчики") == [pit]  # found by its note
    assert await listed(client, anna, "q=собака -бездомный") == []
    assert await listed(client, anna, "q=собака&view=mentions") == []


async def test_a_note_is_never_posted_to_vk() -> None:
    posted: list[object] = []

    class Client:
        async def acall(self, method: str, params: object) -> object:
            posted.append((method, params))
            return {"comment_id": 1}

    class Publisher:
        async def publish(self, *args: object) -> None:
            posted.append(args)

    catalog = SourceCatalog.model_validate(
        {"sources": [{"id": "vk:-210000001", "name": "Город", "kind": "vk_group",
                      "group_id": 210000001, "managed": True, "municipality": "testgrad",
                      "token": "city"}]}
    )  # fmt: skip
    poster = VkAnswerPoster(catalog, lambda source: Client(), Metrics(), Publisher(), lambda: T0)  # type: ignore[arg-type, return-value]
    message_id = raw_message(1).message_id
    event = IncidentEvent(
        event_id="inc-1:4", incident_id="inc-1", message_id=message_id, seq=4, type="noted",
        status="in_work", actor="anna", at=T0, municipality="testgrad",
        data={"text": "Не публиковать: жилец просил не писать в комментариях", "mentions": ""},
    )  # fmt: skip
    await poster.handle(event)
    assert posted == []
    answered = event.model_copy(update={"type": EventType.ANSWERED, "data": {"text": "Ответ"}})
    await poster.handle(answered)
    assert posted  # the same event as an answer is posted: the check above can fail


async def test_assignment_puts_the_incident_in_the_holders_mine(site: Site) -> None:
    client, target = site.client, site.ids[2]
    async with site.context.db.transaction() as connection:
        await add_user(
            connection, login="glava", password=PASSWORD, role=Role.SUPERVISOR,
            display_name="glava",
        )  # fmt: skip
    anna, boris = await bearer(client, "anna"), await bearer(client, "boris")
    glava = await bearer(client, "glava")
    url = f"/api/incidents/{target}/assign"
    # A moderator may take it only for themselves (a claim); Boris may not give it to Anna.
    refused = await client.post(url, json={"login": "anna"}, headers=boris)
    assert refused.status_code == 403
    mine = await client.post(url, json={"login": "boris"}, headers=boris)
    assert mine.status_code == 200 and mine.json()["status"] == "in_work"
    assert await listed(client, boris, "view=mine") == [target]
    # The supervisor hands it to Anna over Boris's live claim; no one outside scope or unknown.
    for login in ("sever", "nobody"):
        bad = await client.post(url, json={"login": login}, headers=glava)
        assert bad.status_code == 422 and f"@{login}" in bad.json()["detail"]
    given = await client.post(url, json={"login": "anna"}, headers=glava)
    assert given.status_code == 200
    assert await listed(client, anna, "view=mine") == [target]
    assert await listed(client, boris, "view=mine") == []
    detail = (await client.get(f"/api/incidents/{target}", headers=anna)).json()
    assert detail["claimed_by"] == "anna"
    claimed = detail["history"][-1]
    assert (claimed["type"], claimed["actor"], claimed["data"]["assignee"]) == (
        "claimed", "glava", "anna",
    )  # fmt: skip
    # Anna holds it now: Boris's own claim is refused as any colleague's would be.
    assert (await client.post(f"/api/incidents/{target}/claim", headers=boris)).status_code == 409
    # Answered, it stays hers to close; closed, it leaves «Мои».
    answer = {"text": "Яму засыпали", "final": True}
    ok = await client.post(f"/api/incidents/{target}/answer", json=answer, headers=anna)
    assert ok.status_code == 200
    assert await listed(client, anna, "view=mine") == [target]
    assert (await client.post(f"/api/incidents/{target}/close", headers=anna)).status_code == 200
    assert await listed(client, anna, "view=mine") == []
    assert (await client.get("/api/incidents?view=nope", headers=anna)).status_code == 422


async def test_presence_lists_who_has_the_incident_open(site: Site) -> None:
    """Boris's page is served by another web replica (a second app on the same database)."""
    client, url = site.client, f"/api/incidents/{site.ids[1]}/presence"
    replica = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(site.context, site.settings)),
        base_url="http://127.0.0.1",
    )
    async with replica:
        anna, boris = await bearer(client, "anna"), await bearer(replica, "boris")
        sever = await bearer(client, "sever")
        assert (await replica.post(url, json={}, headers=boris)).status_code == 200
        seen = (await client.post(url, json={}, headers=anna)).json()
        assert [v["login"] for v in seen["viewers"]] == ["anna", "boris"]
        assert seen["claimed_by"] is None
        assert (await client.post(url, json={}, headers=sever)).status_code == 404  # out of scope
        await replica.post(url, json={"leaving": True}, headers=boris)
        seen = (await client.post(url, json={}, headers=anna)).json()
        assert [v["login"] for v in seen["viewers"]] == ["anna"]


async def test_the_search_is_answered_from_its_gin_indexes(site: Site) -> None:
    """With sequential scans priced out (a test database is too small for the planner to
    bother), the plan reads the messages and the notes through their GIN indexes: the query
    spells the expressions as the indexes do."""
    flt = QueueFilter(search="собака", open_only=False)
    sql = str(
        queue_query(flt, T0).compile(
            dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
    )
    async with site.context.db.engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN {sql}")))
    assert "ix_messages_text_search" in plan and "ix_incident_events_note_search" in plan, plan
