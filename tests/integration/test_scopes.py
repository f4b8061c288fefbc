"""Scopes end to end on a real PostgreSQL: a moderator of severogorsk does not see its
neighbour zarechny's residents' texts through the queue (API and pages), the incident page,
the drill-down, the exports or the live stream; reassignment stays within the supervisor's
scope; a department-limited user sees the municipality's indicators but only their
departments' incidents. Route by route: test_authorization_matrix.py (SCOPE)."""

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import select

from kernel.contracts.classification import ClassifiedMessage
from kernel.db.schema import incidents
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.scopes import Scope
from services.auth.store import add_user
from services.web.app import create_app
from services.web.ui.events import ChangeFeed
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message
from tests.integration.test_authorization_matrix import announced

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
MONTH = "2026-09"
OWN_TEXT = "Северогорск: не вывозят мусор"
SECRET = "Заречный: прорвало трубу у школы"
USERS = {
    "anna": (Role.MODERATOR, Scope(municipalities=frozenset({"severogorsk"}))),
    "sever": (Role.SUPERVISOR, Scope(municipalities=frozenset({"severogorsk"}))),
    "demo": (Role.SUPERVISOR, Scope(regions=frozenset({"demo"}))),
    "roads": (Role.VIEWER, Scope(departments=frozenset({"Дороги"}))),
}


@dataclass
class Site:
    client: httpx.AsyncClient
    app: FastAPI
    context: SlaContext
    own: str  # severogorsk's incident
    secret: str  # zarechny's


def incident_of(item: int, municipality: str, text: str) -> ClassifiedMessage:
    message = raw_message(item, text=text).model_copy(update={"municipality": municipality})
    return classified(message)


@pytest.fixture
async def site(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[Site]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for login, (role, scope) in USERS.items():
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login,
                scope=scope,
            )  # fmt: skip
    await context.service.on_classified(incident_of(1, "severogorsk", OWN_TEXT))
    await context.service.on_classified(incident_of(2, "zarechny", SECRET))
    await context.aggregator.run_once()
    async with context.db.engine.connect() as connection:
        rows = await connection.execute(select(incidents.c.municipality, incidents.c.incident_id))
        found = {municipality: incident_id for municipality, incident_id in rows}
    app = create_app(context, settings)
    app.state.otklik_feed = ChangeFeed(context.db, context.clock, interval=0.2)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield Site(client, app, context, found["severogorsk"], found["zarechny"])
    await context.db.close()


async def login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    response = await client.post("/api/login", json={"login": user, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_a_moderator_does_not_see_the_neighbours_texts(site: Site) -> None:
    client = site.client
    anna = await login(client, "anna")

    async def get(url: str, **params: str) -> httpx.Response:
        return await client.get(url, headers=anna, params=params)

    me = (await get("/api/me")).json()
    assert me["scope"] == {"municipalities": ["severogorsk"]}  # what the client is told
    listed = (await get("/api/incidents")).json()
    assert [item["incident_id"] for item in listed["items"]] == [site.own]
    # A filter on a municipality outside the scope is an empty page, like one without incidents.
    assert (await get("/api/incidents", municipality="zarechny")).json() == {
        "total": 0, "items": [],
    }  # fmt: skip
    for url in ("/queue", "/queue/results"):
        shown = await get(url)
        assert shown.status_code == 200 and SECRET not in shown.text, url
    # A filter on a municipality outside the scope is refused as one that does not exist.
    outside_filter = await get("/queue", status="all", municipality="zarechny")
    typo_filter = await get("/queue", status="all", municipality="zarechnyy")
    assert outside_filter.status_code == typo_filter.status_code == 400
    assert SECRET not in outside_filter.text and "Заречный" not in outside_filter.text
    assert "значения «zarechny» нет" in outside_filter.text
    assert OWN_TEXT in (await get("/queue")).text
    # Nor is zarechny offered in the filters or as a reassignment target.
    assert "Заречный" not in (await get("/queue")).text
    # The incident: 404 as a missing one, through the API and the page.
    missing, outside = (
        await get("/api/incidents/vk:nope"),
        await get(f"/api/incidents/{site.secret}"),
    )
    assert (outside.status_code, outside.json()) == (missing.status_code, missing.json()) == (
        404, {"detail": "Инцидент не найден"},
    )  # fmt: skip
    page = await get(f"/incidents/{site.secret}")
    assert page.status_code == 404 and SECRET not in page.text and "Инцидент не найден" in page.text
    # Drill-down (the residents' negative messages carry their texts): 404 as an unknown id.
    for url in ("/api/indicators/drill-down", "/indicators/drill-down"):
        drilled = await get(url, month=MONTH, municipality="zarechny", measure="negative")
        typo = await get(url, month=MONTH, municipality="zarechnyy", measure="negative")
        assert drilled.status_code == typo.status_code == 404, url
        assert SECRET not in drilled.text
        assert drilled.text.count("zarechny") == typo.text.count("zarechny")  # only as asked
    own = await get("/api/indicators/drill-down", month=MONTH, municipality="severogorsk",
                    measure="negative")  # fmt: skip
    assert [row["text"] for row in own.json()["items"]] == [OWN_TEXT]
    # Indicators, the region and the exports hold severogorsk only.
    records = (await get("/api/indicators", month=MONTH)).json()
    assert [r["municipality"] for r in records] == ["severogorsk"]
    region = (await get("/api/indicators/region", month=MONTH, region="demo")).json()
    assert region["municipalities"] == 1
    assert [r["municipality"] for r in region["ranking"]] == ["severogorsk"]
    report = (await get("/api/reports/plan-fact", period="2026")).json()
    assert [s["municipality"] for s in report["municipalities"]] == ["severogorsk"]
    html = await get("/api/reports/plan-fact", period="2026", format="html")
    assert "Северогорск" in html.text and "Заречный" not in html.text
    xlsx = await get("/api/reports/plan-fact", period="2026", format="xlsx")
    cells = [
        str(cell) for sheet in load_workbook(io.BytesIO(xlsx.content)).worksheets
        for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None
    ]  # fmt: skip
    assert any("Северогорск" in cell for cell in cells)
    assert not any("Заречный" in cell or "zarechny" in cell for cell in cells)
    programme = await get("/indicators", period="2026")
    assert programme.status_code == 200 and "zarechny" not in programme.text
    refused = await get("/indicators", period="2026", municipality="zarechny")
    assert refused.status_code == 404
    # The live stream announces severogorsk's change, not zarechny's.
    seen = await announced(site.app, site.context, anna, site.own, site.secret)
    assert site.own in seen and site.secret not in seen


async def test_a_moderator_cannot_act_on_the_neighbours_incidents(site: Site) -> None:
    client = site.client
    anna, sever = await login(client, "anna"), await login(client, "sever")
    for action, body in (("claim", None), ("answer", {"text": "Ответ"}), ("close", None),
                         ("reject", {"reason": "нет"}), ("reopen", {"reason": "снова"}),
                         ("category", {"category": "roads"})):  # fmt: skip
        refused = await client.post(
            f"/api/incidents/{site.secret}/{action}", headers=anna, json=body
        )
        assert (refused.status_code, refused.json()) == (404, {"detail": "Инцидент не найден"})
    bulk = await client.post(
        "/api/incidents/bulk", headers=sever,
        json={"action": "claim", "incident_ids": [site.own, site.secret]},
    )  # fmt: skip
    assert [(o["status"], o["error"]) for o in bulk.json()] == [
        ("in_work", None), (None, "Инцидент не найден"),
    ]  # fmt: skip
    async with site.context.db.engine.connect() as connection:
        untouched = await connection.scalar(
            select(incidents.c.status).where(incidents.c.incident_id == site.secret)
        )
    assert untouched == "assigned"


async def test_reassignment_stays_within_the_supervisors_scope(site: Site) -> None:
    client = site.client
    sever, demo, anna = [await login(client, user) for user in ("sever", "demo", "anna")]
    body = {"municipality": "zarechny", "reason": "их территория"}
    across = await client.post(f"/api/incidents/{site.own}/reassign", headers=sever, json=body)
    assert across.status_code == 403
    assert "вне вашей области доступа" in across.json()["detail"]
    # A supervisor whose scope covers both hands it over; it then leaves severogorsk's view.
    moved = await client.post(f"/api/incidents/{site.own}/reassign", headers=demo, json=body)
    assert moved.status_code == 200, moved.text
    gone = await client.get(f"/api/incidents/{site.own}", headers=anna)
    assert gone.status_code == 404
    back = await client.post(f"/api/incidents/{site.own}/reassign", headers=sever, json=body)
    assert back.status_code == 404  # no longer severogorsk's: not there for its supervisor


async def test_a_department_limited_user_sees_the_indicators_but_only_their_incidents(
    site: Site,
) -> None:
    client = site.client
    roads = await login(client, "roads")
    assert (await client.get("/api/incidents", headers=roads)).json()["total"] == 0  # all ЖКХ
    records = (await client.get("/api/indicators", headers=roads, params={"month": MONTH})).json()
    assert {r["municipality"] for r in records} == {"severogorsk", "zarechny"}
    for measure in ("assigned", "negative"):
        drilled = await client.get(
            "/api/indicators/drill-down", headers=roads,
            params={"month": MONTH, "municipality": "severogorsk", "measure": measure},
        )  # fmt: skip
        assert drilled.status_code == 200 and drilled.json()["items"] == [], measure
        assert drilled.json()["revision"] == 1
    page = await client.get(
        "/indicators/drill-down", headers=roads,
        params={"month": MONTH, "municipality": "severogorsk", "measure": "assigned"},
    )  # fmt: skip
    assert page.status_code == 200 and "только ваших подразделений (Дороги)" in page.text
