"""Moderator decisions through the real queue API on a real PostgreSQL become labels: one row per
message, the latest decision wins, written in the same transaction as the decision."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kernel.db.schema import incidents, moderator_labels
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.retrain import load_label_examples
from services.web.app import create_app
from sla.domain.labels import ModeratorLabel
from sla.stage import SlaContext, open_sla
from sla.storage import repository
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
TEXTS = {
    1: "Продам гараж на Заречной, недорого",
    2: "Во дворе дома 7 прорвало трубу, течёт кипяток",
    3: "Яма на Садовой у остановки, пробил колесо",
    4: "Нет света в подъезде дома 12 третий день",
}


@dataclass
class Api:
    client: httpx.AsyncClient
    context: SlaContext
    ids: dict[int, str]  # incident id of each message in TEXTS
    tokens: dict[str, str] = field(default_factory=dict)

    async def act(self, user: str, incident: str, action: str, **body: Any) -> int:
        response = await self.client.post(
            f"/api/incidents/{incident}/{action}",
            json=body or None,
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
        )
        return response.status_code

    async def labels(self) -> dict[str, tuple[Any, ...]]:
        """Stored labels by text: (is_incident, category, decision, actor)."""
        async with self.context.db.engine.connect() as connection:
            rows = (await connection.execute(select(moderator_labels))).all()
        return {r.text: (r.is_incident, r.category, r.decision, r.actor) for r in rows}


@pytest.fixture
async def api(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[Api]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for login, role in {"anna": Role.MODERATOR, "vera": Role.VIEWER}.items():
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login
            )
    ids = {}
    for item, text in TEXTS.items():
        message = raw_message(item, text=text, created_at=context.clock() - timedelta(hours=1))
        await context.service.on_classified(classified(message))  # category "housing"
        ids[item] = repository.incident_id_for(message.message_id)
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = Api(client, context, ids)
        for login in ("anna", "vera"):
            response = await client.post("/api/login", json={"login": login, "password": PASSWORD})
            api.tokens[login] = response.json()["token"]
        client.cookies.clear()  # each call names its user explicitly
        yield api
    await context.db.close()


async def test_reject_answer_and_category_change_store_labels_latest_wins(api: Api) -> None:
    ids = api.ids
    assert await api.act("anna", ids[1], "reject", reason="реклама") == 200
    assert await api.act("anna", ids[2], "answer", text="Взяли в работу", final=False) == 200
    assert await api.act("anna", ids[3], "answer", text="Яму заделают к пятнице") == 200
    assert await api.act("anna", ids[3], "close") == 200
    assert await api.act("anna", ids[4], "category", category="landscaping") == 200
    assert await api.labels() == {
        TEXTS[1]: (False, None, "rejected", "anna"),
        TEXTS[2]: (True, "housing", "answered", "anna"),
        TEXTS[3]: (True, "housing", "closed", "anna"),
        TEXTS[4]: (True, "landscaping", "recategorised", "anna"),
    }
    # Later decisions replace earlier ones: still one row per message.
    assert await api.act("anna", ids[2], "category", category="housing") == 409  # same one
    assert await api.act("anna", ids[2], "category", category="roads") == 200
    assert await api.act("anna", ids[4], "reject", reason="это новость, не жалоба") == 200
    assert await api.act("anna", ids[1], "category", category="roads") == 409  # rejected
    stored = await api.labels()
    assert stored[TEXTS[1]] == (False, None, "rejected", "anna")
    assert stored[TEXTS[2]] == (True, "roads", "recategorised", "anna")
    assert stored[TEXTS[4]] == (False, None, "rejected", "anna")
    assert len(stored) == 4
    examples = await load_label_examples(api.context.db)
    assert {e.text: (e.is_incident, e.category) for e in examples} == {
        TEXTS[1]: (False, "none"), TEXTS[2]: (True, "roads"),
        TEXTS[3]: (True, "housing"), TEXTS[4]: (False, "none"),
    }  # fmt: skip


async def test_an_older_decision_never_overwrites_a_newer_one(api: Api) -> None:
    """E.g. a history file loaded after live decisions were taken."""
    ids = api.ids
    assert await api.act("anna", ids[2], "reject", reason="не инцидент") == 200
    async with api.context.db.transaction() as connection:
        incident = await repository.load_incident(connection, incident_id=ids[2], lock=False)
        assert incident is not None
        older = ModeratorLabel(
            incident.message_id, ids[2], True, "roads", "answered", "history",
            api.context.clock() - timedelta(days=30),
        )  # fmt: skip
        await repository.save_label(connection, older)
    assert (await api.labels())[TEXTS[2]] == (False, None, "rejected", "anna")
    async with api.context.db.transaction() as connection:
        await repository.save_label(connection, replace(older, decided_at=api.context.clock()))
    assert (await api.labels())[TEXTS[2]] == (True, "roads", "answered", "history")


async def test_category_change_checks_category_and_role(api: Api) -> None:
    ids = api.ids
    assert await api.act("anna", ids[3], "category", category="погода") == 422
    assert await api.act("vera", ids[3], "category", category="roads") == 403
    assert await api.act("anna", "inc-missing", "category", category="roads") == 404
    assert await api.labels() == {}


async def test_a_label_that_cannot_be_stored_undoes_the_decision(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = api.ids

    async def broken(*_: object) -> None:
        raise RuntimeError("labels unavailable")

    monkeypatch.setattr(repository, "save_label", broken)
    with pytest.raises(RuntimeError):
        await api.act("anna", ids[1], "reject", reason="реклама")
    async with api.context.db.engine.connect() as connection:
        status = await connection.scalar(
            select(incidents.c.status).where(incidents.c.incident_id == ids[1])
        )
    assert status == "assigned"
