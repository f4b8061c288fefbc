"""The embedded mode end to end: the bundled VK sample through every stage in one process."""

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from kernel.clock import Clock
from kernel.contracts.incidents import Status
from kernel.db.engine import open_database
from kernel.db.schema import dead_letters, incidents, messages
from services.bundled import DEMO_DATA
from services.demo.embedded import DEMO_LOGIN, run_embedded
from sla.storage.thread import root_of
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
SAMPLE = DEMO_DATA / "vk_sample.jsonl"


def distinct_message_events(path: Path) -> int:
    kinds = {
        "wall_post_new",
        "wall_reply_new",
        "board_post_new",
        "photo_comment_new",
        "message_new",
    }
    return sum(
        1 for line in path.read_text("utf-8").splitlines() if json.loads(line)["type"] in kinds
    )


async def test_demo_replays_the_sample_and_publishes_both_months(
    settings_factory: SettingsFactory, database_url: str, model_dir: Path
) -> None:
    settings = settings_factory(database_url=database_url, model_dir=model_dir)
    result = await run_embedded(settings, SAMPLE, serve=False, as_recorded=True)
    # A second replay changes nothing.
    again = await run_embedded(settings, SAMPLE, serve=False, as_recorded=True)

    months = {(r.municipality, r.month) for r in result.records}
    assert {("severogorsk", "2026-09"), ("severogorsk", "2026-10")} <= months
    assert any(r.n_assigned > 0 and r.n_handled_on_time > 0 for r in result.records)
    assert [r.model_dump(exclude={"computed_at"}) for r in again.records] == [
        r.model_dump(exclude={"computed_at"}) for r in result.records
    ]
    db = open_database(settings)
    async with db.engine.connect() as connection:
        stored = await connection.scalar(select(func.count()).select_from(messages))
        letters = await connection.scalar(select(func.count()).select_from(dead_letters))
        answered = await connection.scalar(
            select(func.count())
            .select_from(incidents)
            .where(incidents.c.final_answer_at.is_not(None))
        )
        on_walls = (
            await connection.scalars(
                select(incidents.c.message_id).where(incidents.c.message_id.like("vk:vk_comment:%"))
            )
        ).all()
        posts = [await root_of(connection, message_id=m) for m in on_walls]
    await db.close()
    assert stored == distinct_message_events(SAMPLE)
    assert letters == 0
    assert answered and answered > 0
    # Every incident that is a comment shows the post it was written under.
    assert on_walls and all(post is not None for post in posts)


async def test_queue_api_lists_and_answers(
    settings_factory: SettingsFactory, database_url: str, model_dir: Path
) -> None:
    from kernel.observability import Metrics
    from services.web.app import create_app
    from sla.stage import open_sla

    settings = settings_factory(database_url=database_url, model_dir=model_dir)
    demo = await run_embedded(settings, SAMPLE, serve=False)
    metrics = Metrics()
    context = await open_sla(settings, metrics)
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/api/incidents")).status_code == 401
        login = {"login": DEMO_LOGIN, "password": demo.password}
        token = (await client.post("/api/login", json=login)).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        page = (await client.get("/api/incidents", params={"limit": 5})).json()
        assert page["total"] > 0 and len(page["items"]) <= 5
        dues = [item["next_due"] for item in page["items"]]
        assert dues == sorted(dues)
        target = page["items"][0]["incident_id"]
        answered = await client.post(
            f"/api/incidents/{target}/answer",
            json={"text": "Исправлено"},
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "answered"
        detail = (await client.get(f"/api/incidents/{target}")).json()
        assert detail["history"][-1]["type"] == "answered"
        again = await client.post(f"/api/incidents/{target}/answer", json={"text": "ещё раз"})
        assert again.status_code == 409
        assert (await client.get("/api/incidents/nope")).status_code == 404
        metrics_text = (await client.get("/metrics")).text
        assert "otklik_incident_transitions_total" in metrics_text
    await context.db.close()


async def test_the_living_demo_ends_this_week_and_its_queue_runs_from_fresh_to_overdue(
    settings_factory: SettingsFactory, database_url: str, model_dir: Path, clock: Clock
) -> None:
    settings = settings_factory(database_url=database_url, model_dir=model_dir)
    await run_embedded(settings, SAMPLE, serve=False)
    now = clock()
    db = open_database(settings)
    async with db.engine.connect() as connection:
        written = (await connection.scalars(select(messages.c.created_at))).all()
        open_dues = (
            await connection.scalars(
                select(incidents.c.final_answer_due).where(
                    incidents.c.final_answer_at.is_(None),
                    incidents.c.status.not_in([Status.REJECTED, Status.CLOSED]),
                )
            )
        ).all()
    await db.close()
    assert now - timedelta(days=7) < max(written) <= now
    assert min(written) > now - timedelta(days=70)  # two months of the sample, not more
    assert any(due < now for due in open_dues) and any(due > now for due in open_dues)
