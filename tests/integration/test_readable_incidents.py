"""What a person reads about an incident (real PostgreSQL, through the pages and the API): its
number in the queue, the page title, the API and the drill-down, and findable by it; otklik's
own actors in Russian; the deadlines' rule in words; moments in the municipality's zone."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

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
POLICY = """version: "readable"
defaults: {timezone: Europe/Moscow}
municipalities:
  testgrad: {name: "Тестград", timezone: Asia/Yekaterinburg}
  other: {name: "Тестовый посёлок", code: ТП}
rules:
  - match: {channel: vk}
    first_response: {working_hours: 8}
    final_answer: {working_days: 5}
  - match: {}
    first_response: {working_days: 1}
    final_answer: {calendar_days: 30}
"""


@pytest.fixture
async def site(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, SlaContext]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    plans = tmp_path / "plans.yaml"
    plans.write_text("years: {2026: {default: {a2: 1.0}}}\n", encoding="utf-8")
    settings = settings_factory(database_url=database_url, policy_file=policy, plans_file=plans)
    context = await open_sla(settings, Metrics(), clock=lambda: T0 + timedelta(days=1))
    async with context.db.transaction() as connection:
        await add_user(
            connection, login="anna", password=PASSWORD, role=Role.MODERATOR, display_name="Анна"
        )
    for item in (1, 2):
        message = raw_message(item, created_at=T0 + timedelta(hours=item))
        await context.service.on_classified(classified(message))
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.post("/api/login", json={"login": "anna", "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield client, context
    await context.db.close()


async def test_the_number_is_in_the_api_and_finds_the_incident(
    site: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = site
    items = (await client.get("/api/incidents")).json()["items"]
    by_message = {item["message_id"]: item for item in items}
    first = by_message[raw_message(1).message_id]
    assert first["number"] == "ТЕС-2026-000001"
    assert by_message[raw_message(2).message_id]["number"] == "ТЕС-2026-000002"
    assert "number_seq" not in first and "number_year" not in first
    found = await client.get("/api/incidents/тес-2026-000001")
    assert found.status_code == 200
    assert found.json()["incident_id"] == first["incident_id"]
    assert found.json()["number"] == "ТЕС-2026-000001"
    assert (await client.get("/api/incidents/ТЕС-2026-000009")).status_code == 404
    assert (await client.get("/api/incidents/ТП-2026-000001")).status_code == 404


async def test_the_pages_show_the_number_russian_actors_the_rule_in_words_and_local_times(
    site: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = site
    queue = await client.get("/queue")
    assert ">ТЕС-2026-000001<" in queue.text and ">ТЕС-2026-000002<" in queue.text
    moved = await client.get("/incidents/ТЕС-2026-000001")
    assert moved.status_code == 303
    page = await client.get(moved.headers["location"])
    assert "<title>Инцидент ТЕС-2026-000001 — Отклик</title>" in page.text
    # 08:00 UTC is 13:00 in Yekaterinburg; the history's actors in Russian.
    assert "01.09.2026 13:00" in page.text
    # What a person reads: the text and titles, not the scripts' moments (data-*, a meta).
    read = re.sub(r' (data-[a-z-]+|content)="[^"]*"', "", page.text)
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", read) is None
    assert "<td>классификатор</td>" in page.text and "<td>маршрутизатор</td>" in page.text
    assert "<td>classifier</td>" not in page.text and "<td>router</td>" not in page.text
    assert (
        "ВКонтакте, все категории: первый ответ — 8 раб. ч, ответ по существу — 5 раб. дн."
        in page.text
    )
    # Answered: whether it was on time, in words and local times (the stored reason is the
    # audit's, with UTC and the rule's index).
    incident_id = moved.headers["location"].rpartition("/")[2]
    answered = await client.post(
        f"/api/incidents/{incident_id}/answer", json={"text": "Яму засыпали.", "final": True}
    )
    assert answered.status_code == 200, answered.text
    page = await client.get(moved.headers["location"])
    read = re.sub(r' (data-[a-z-]+|content)="[^"]*"', "", page.text)
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", read) is None
    assert "rules[" not in read
    assert '<dt>В срок</dt><dd>да <span class="hint">оба срока соблюдены</span>' in read
    assert "<td>Анна</td>" in read and "<td>anna</td>" not in read  # who answered, by name
    missing = await client.get("/incidents/ТЕС-2026-000777")
    assert missing.status_code == 404
    found = await client.get("/queue", params={"number": "тес-2026-000002"})
    assert found.status_code == 303 and found.headers["location"].startswith("/incidents/inc-")
    unknown = await client.get("/queue", params={"number": "ТЕС-2026-000777"})
    assert unknown.status_code == 400
    assert "Инцидента с номером «ТЕС-2026-000777» нет" in unknown.text


async def test_the_months_table_names_the_municipality(
    site: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, context = site
    await context.aggregator.run_once()
    page = await client.get("/indicators", params={"period": "2026-09"})
    assert page.status_code == 200, page.text[-1500:]
    assert "<td>Тестград</td>" in page.text and "<td>testgrad</td>" not in page.text
