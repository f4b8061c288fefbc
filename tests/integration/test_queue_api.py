"""The moderator queue API on a real PostgreSQL: roles on every endpoint, claims that exactly
one of several concurrent moderators wins, the lifecycle through HTTP."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from kernel.clock import Clock
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message
from tests.moments import MOSCOW, every_moment

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
USERS = {
    "anna": Role.MODERATOR,
    "boris": Role.MODERATOR,
    "vera": Role.VIEWER,
    "glava": Role.SUPERVISOR,
}


@pytest.fixture
async def api(
    settings_factory: SettingsFactory, database_url: str, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, SlaContext]]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for login, role in USERS.items():
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login
            )
    now = clock()
    for item in range(1, 6):
        await context.service.on_classified(
            classified(raw_message(item, created_at=now - timedelta(minutes=item)))
        )
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, context
    await context.db.close()


async def login(client: httpx.AsyncClient, user: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/api/login", json={"login": user, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # each call below names its user explicitly
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def first_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    page = (await client.get("/api/incidents", headers=headers)).json()
    return str(page["items"][0]["incident_id"])


async def test_every_endpoint_needs_a_session(api: tuple[httpx.AsyncClient, SlaContext]) -> None:
    client, _ = api
    for method, path in [
        ("GET", "/api/incidents"), ("GET", "/api/incidents/x"), ("POST", "/api/incidents/x/claim"),
        ("POST", "/api/incidents/x/answer"), ("POST", "/api/incidents/bulk"), ("GET", "/api/me"),
        ("GET", "/api/indicators?month=2026-09"), ("GET", "/api/reply-templates"),
        ("GET", "/api/indicators/region?month=2026-09"),
        ("GET", "/api/indicators/drill-down?month=2026-09&municipality=m&measure=assigned"),
    ]:  # fmt: skip
        response = await client.request(method, path, json={})
        assert response.status_code == 401, (method, path)


async def test_wrong_password_is_refused(api: tuple[httpx.AsyncClient, SlaContext]) -> None:
    client, _ = api
    response = await client.post("/api/login", json={"login": "anna", "password": "nope"})
    assert response.status_code == 401
    response = await client.post("/api/login", json={"login": "nobody", "password": "nope"})
    assert response.status_code == 401


async def test_session_cookie_is_httponly_and_samesite(
    api: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = api
    response = await client.post("/api/login", json={"login": "anna", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


async def test_viewer_reads_but_cannot_act(api: tuple[httpx.AsyncClient, SlaContext]) -> None:
    client, _ = api
    viewer = await login(client, "vera")
    incident = await first_id(client, viewer)
    assert (
        await client.post(f"/api/incidents/{incident}/claim", headers=viewer)
    ).status_code == 403
    answer = await client.post(
        f"/api/incidents/{incident}/answer", headers=viewer, json={"text": "x"}
    )
    assert answer.status_code == 403
    moderator = await login(client, "anna")
    reassign = await client.post(
        f"/api/incidents/{incident}/reassign", headers=moderator,
        json={"municipality": "zarechny", "reason": "не наш район"},
    )  # fmt: skip
    assert reassign.status_code == 403


async def test_concurrent_claims_exactly_one_wins(
    api: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = api
    anna, boris = await login(client, "anna"), await login(client, "boris")
    incident = await first_id(client, anna)
    responses = await asyncio.gather(
        *[client.post(f"/api/incidents/{incident}/claim", headers=h) for h in (anna, boris) * 4]
    )
    winners = {r.request.headers["authorization"] for r in responses if r.status_code == 200}
    assert len(winners) == 1
    assert all(r.status_code in (200, 409) for r in responses)
    loser = boris if winners == {anna["Authorization"]} else anna
    blocked = await client.post(
        f"/api/incidents/{incident}/answer", headers=loser, json={"text": "я отвечу"}
    )
    assert blocked.status_code == 409
    assert "в работе у" in blocked.json()["detail"]


async def test_lifecycle_through_http(api: tuple[httpx.AsyncClient, SlaContext]) -> None:
    client, _ = api
    anna, glava = await login(client, "anna"), await login(client, "glava")
    incident = await first_id(client, anna)
    steps = [
        (anna, "claim", None, "in_work"),
        (anna, "answer", {"text": "Взяли в работу", "final": False}, "answered"),
        (anna, "answer", {"text": "Отремонтировано", "final": True}, "answered"),
        (anna, "close", None, "closed"),
        (anna, "reopen", {"reason": "житель пишет снова"}, "assigned"),
        (
            glava,
            "reassign",
            {"municipality": "zarechny", "department": "ЖКХ", "reason": "адрес в районе"},
            "assigned",
        ),
    ]
    for headers, action, body, status in steps:
        response = await client.post(
            f"/api/incidents/{incident}/{action}", headers=headers, json=body
        )
        assert response.status_code == 200, (action, response.text)
        assert response.json()["status"] == status
    history = (await client.get(f"/api/incidents/{incident}", headers=anna)).json()["history"]
    assert [event["type"] for event in history] == [
        "opened", "assigned", "claimed", "answered", "answered", "closed", "reopened", "reassigned",
    ]  # fmt: skip
    assert all(event["actor"] for event in history)
    refused = await client.post(f"/api/incidents/{incident}/close", headers=anna)
    assert refused.status_code == 409


async def test_a_reassignment_names_a_place_the_policy_knows(
    api: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = api
    glava = await login(client, "glava")
    incident = await first_id(client, glava)
    for body, expected in (
        ({"municipality": "zarechnyy"}, "неизвестный муниципалитет «zarechnyy»"),
        ({"municipality": "zarechny", "department": "Дороги"}, "неизвестное подразделение"),
    ):
        response = await client.post(
            f"/api/incidents/{incident}/reassign", headers=glava, json={**body, "reason": "район"}
        )
        assert response.status_code == 422
        assert expected in response.json()["detail"]
    detail = (await client.get(f"/api/incidents/{incident}", headers=glava)).json()
    assert [event["type"] for event in detail["history"]] == ["opened", "assigned"]


async def test_reject_needs_a_reason_and_bulk_reports_each(
    api: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = api
    anna, glava = await login(client, "anna"), await login(client, "glava")
    page = (await client.get("/api/incidents", headers=anna)).json()
    ids = [item["incident_id"] for item in page["items"]]
    no_reason = await client.post(
        f"/api/incidents/{ids[0]}/reject", headers=anna, json={"reason": ""}
    )
    assert no_reason.status_code == 422
    outcomes = (
        await client.post(
            "/api/incidents/bulk", headers=glava,
            json={"action": "reject", "incident_ids": [*ids[:2], "missing"], "reason": "реклама"},
        )
    ).json()  # fmt: skip
    assert [o["status"] for o in outcomes[:2]] == ["rejected", "rejected"]
    assert outcomes[2]["error"] == "Инцидент не найден"
    queue = (await client.get("/api/incidents", headers=anna)).json()
    assert queue["total"] == len(ids) - 2


async def test_filters_overdue_and_due_within(api: tuple[httpx.AsyncClient, SlaContext]) -> None:
    client, _ = api
    anna = await login(client, "anna")
    everything = (await client.get("/api/incidents", headers=anna)).json()["total"]
    overdue = (await client.get("/api/incidents", headers=anna, params={"overdue": True})).json()[
        "total"
    ]
    not_overdue = (
        await client.get("/api/incidents", headers=anna, params={"overdue": False})
    ).json()["total"]
    assert overdue + not_overdue == everything
    soon = await client.get("/api/incidents", headers=anna, params={"due_within_hours": 24 * 60})
    assert soon.json()["total"] == not_overdue
    templates = (await client.get("/api/reply-templates", headers=anna)).json()
    assert {t["id"] for t in templates} >= {"accepted", "done"}


async def test_queue_is_sorted_by_the_deadline_still_to_be_met_and_filters_by_source(
    api: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = api
    anna = await login(client, "anna")
    before = (await client.get("/api/incidents", headers=anna)).json()["items"]
    most_urgent = before[0]["incident_id"]
    # An intermediate reply meets the first-response clock: the final answer is due much later.
    answered = await client.post(
        f"/api/incidents/{most_urgent}/answer", headers=anna,
        json={"text": "Взяли в работу", "final": False},
    )  # fmt: skip
    assert answered.status_code == 200, answered.text
    after = (await client.get("/api/incidents", headers=anna)).json()["items"]
    assert [i["incident_id"] for i in after] == [i["incident_id"] for i in before[1:]] + [
        most_urgent
    ]
    dues = [i["next_due"] for i in after]
    assert dues == sorted(dues)
    mine = await client.get("/api/incidents", headers=anna, params={"source": "vk:-210000001"})
    other = await client.get("/api/incidents", headers=anna, params={"source": "vk:-1"})
    assert (mine.json()["total"], other.json()["total"]) == (5, 0)


@every_moment
async def test_region_ranking_and_drill_down_for_a_viewer(
    api: tuple[httpx.AsyncClient, SlaContext],
    moment: datetime,
) -> None:
    client, context = api
    viewer = await login(client, "vera")
    month = moment.astimezone(MOSCOW).strftime("%Y-%m")
    # Reads never compute: before the aggregator's round the month has data but no revision.
    unread = await client.get("/api/indicators/region", headers=viewer, params={"month": month})
    assert unread.status_code == 404
    assert unread.json()["detail"].startswith(f"за {month} нет опубликованной ревизии")
    await context.aggregator.run_once()
    region = await client.get("/api/indicators/region", headers=viewer, params={"month": month})
    assert region.status_code == 200, region.text
    assert [(r["place"], r["municipality"]) for r in region.json()["ranking"]] == [(1, "testgrad")]
    assert region.json()["n_assigned"] == 5
    drilled = await client.get(
        "/api/indicators/drill-down", headers=viewer,
        params={"month": month, "municipality": "testgrad", "measure": "assigned"},
    )  # fmt: skip
    assert drilled.status_code == 200, drilled.text
    body = drilled.json()
    assert (body["count"], body["revision"]) == (5, 1)
    assert {item["status"] for item in body["items"]} == {"assigned"}
    empty = await client.get("/api/indicators/region", headers=viewer, params={"month": "2001-01"})
    assert empty.status_code == 404
    typo = await client.get(
        "/api/indicators", headers=viewer, params={"month": month, "municipality": "tstgrad"}
    )
    assert typo.status_code == 404
    assert typo.json()["detail"].startswith("неизвестный муниципалитет «tstgrad»; известны: ")
    earlier = await client.get(
        "/api/indicators", headers=viewer,
        params={"month": month, "municipality": "testgrad", "revision": 1},
    )  # fmt: skip
    assert [(r["municipality"], r["revision"]) for r in earlier.json()] == [("testgrad", 1)]
    missing = await client.get(
        "/api/indicators", headers=viewer,
        params={"month": month, "municipality": "testgrad", "revision": 9},
    )  # fmt: skip
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"у «testgrad» за {month} нет ревизии 9; есть: 1"
