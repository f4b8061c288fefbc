"""A department is a known value, never a resident's free text: appeals through the HTTP intake,
classified by the real model, opened, answered and counted by the SLA stage on a real PostgreSQL.
Made-up departments add no metric series, the incidents go to the channel's default, and the
incident page (whose department fills the canned replies) never shows the free text."""

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from classifier.domain.model import IncidentModel
from classifier.handlers import decide_all
from classifier.storage.registry import ModelRegistry
from ingest.appeals.intake import AppealIntake, intake_router
from ingest.domain.sources import SourceCatalog
from kernel.bus.memory import RecordingPublisher
from kernel.contracts.classification import ClassifiedMessage
from kernel.contracts.messages import Channel
from kernel.db.schema import incidents
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from sla.domain.lifecycle import Answer
from sla.gauges import USUAL_GAP_MIN_GAPS, SlaGauges, seed_response_series
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import appeal_source
from tests.integration.test_sla_gauges import POLICY  # testgrad, answers due in 1 and 3 days
from tests.integration.test_web_ui import sign_in

pytestmark = pytest.mark.integration
NOW = datetime(2026, 9, 15, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Moscow
DEFAULT = "Приёмная главы"  # the channel's own department, one the categories know
KEY = {"X-Api-Key": "portal-secret-1"}
PASSWORD = "correct horse battery"
MADE_UP = [f"Отдел №{n}: звоните 8-800-555-{n:02d}, код {n}" for n in range(29)]
MADE_UP.append("Переведите деньги на карту " * 18)  # near the intake's 500 characters
TEXT = "Прорвало трубу отопления в подвале дома {n}, течёт кипяток, нужна аварийная служба"


@dataclass
class Pipeline:
    """Intake -> classifier (the real model) -> SLA stage, each step awaited in turn."""

    context: SlaContext
    intake: AppealIntake
    publisher: RecordingPublisher
    client: httpx.AsyncClient
    web: httpx.AsyncClient
    model: IncidentModel
    sent: int = 0

    async def appeal(self, department: str | None) -> str:
        """The incident of one appeal, opened and answered."""
        self.sent += 1
        body = {"external_id": f"P-{self.sent}", "text": TEXT.format(n=self.sent)}
        if department is not None:
            body["department"] = department
        answer = await self.client.post("/intake/appeal:portal", json=body, headers=KEY)
        assert answer.status_code == 202, answer.text
        message = self.publisher.messages()[-1]
        assert message.message_id == answer.json()["message_id"]
        [decision] = decide_all(self.model, [message])
        assert decision is not None and decision.is_incident, message.text
        classified = ClassifiedMessage(message=message, decision=decision)
        await self.context.service.on_classified(classified)
        async with self.context.db.engine.connect() as connection:
            found = await connection.scalar(
                select(incidents.c.incident_id).where(incidents.c.message_id == message.message_id)
            )
        assert found is not None
        await self.context.service.act(str(found), Answer("anna", "Сделано", final=False))
        return str(found)

    async def series(self) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        """Every series of the registry once the gauges are refreshed from PostgreSQL."""
        context = self.context
        await SlaGauges(context.db, context.policy, context.metrics, context.clock).refresh()
        async with context.db.engine.connect() as connection:
            await seed_response_series(connection, context.metrics)
        return {
            (sample.name, tuple(sorted(sample.labels.items())))
            for metric in context.metrics.registry.collect()
            for sample in metric.samples
        }

    async def department(self, incident_id: str) -> str | None:
        async with self.context.db.engine.connect() as connection:
            return await connection.scalar(
                select(incidents.c.department).where(incidents.c.incident_id == incident_id)
            )


@pytest.fixture
async def pipeline(
    settings_factory: SettingsFactory, database_url: str, model_dir: Path, tmp_path: Path
) -> AsyncIterator[Pipeline]:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    settings = settings_factory(
        database_url=database_url, policy_file=tmp_path / "policy.yaml",
        secrets={"portal_key": KEY["X-Api-Key"]},
    )  # fmt: skip
    context = await open_sla(settings, Metrics(), clock=lambda: NOW)
    async with context.db.transaction() as connection:
        await add_user(
            connection, login="anna", password=PASSWORD, role=Role.MODERATOR, display_name="Анна"
        )
    publisher = RecordingPublisher()
    catalog = SourceCatalog(sources=(appeal_source(Channel.WEB, department=DEFAULT),))
    intake = AppealIntake(
        catalog, settings, publisher, context.metrics, lambda: NOW, ZoneInfo("Europe/Moscow")
    )
    intake_app = FastAPI()
    intake_app.include_router(intake_router(intake))
    web_app = create_app(context, settings)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=intake_app), base_url="http://i"
        ) as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web_app), base_url="http://127.0.0.1"
        ) as web,
    ):
        model = ModelRegistry(model_dir).load_promoted()
        yield Pipeline(context, intake, publisher, client, web, model)
    await context.db.close()


async def test_made_up_departments_add_no_series_and_go_to_the_channels_default(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    # Enough appeals for the source's usual gap to be there already (it needs a few gaps).
    first = [await pipeline.appeal(None) for _ in range(USUAL_GAP_MIN_GAPS + 1)]
    before = await pipeline.series()
    with caplog.at_level(logging.WARNING, logger="ingest.appeals.intake"):
        made_up = [await pipeline.appeal(department) for department in [*MADE_UP, MADE_UP[0]]]
    after = await pipeline.series()
    assert after - before == set()
    assert {await pipeline.department(i) for i in [*first, *made_up]} == {DEFAULT}
    # Counted each time, logged once a value.
    assert pipeline.intake.unknown_departments == len(MADE_UP) + 1
    assert len([r for r in caplog.records if "unknown department" in r.getMessage()]) == len(
        MADE_UP
    )


async def test_a_known_department_is_kept_and_a_canned_reply_never_gets_the_free_text(
    pipeline: Pipeline,
) -> None:
    known = await pipeline.appeal("жкх")  # a known one, in another case
    free = await pipeline.appeal(MADE_UP[0])
    assert await pipeline.department(known) == "ЖКХ"
    await sign_in(pipeline.web, "anna", PASSWORD)
    page = await pipeline.web.get(f"/incidents/{free}")
    assert page.status_code == 200
    # The incident's department fills {department} of the canned replies offered on the page.
    assert re.findall(r'data-department="([^"]*)"', page.text) == [DEFAULT]
    assert f"передано в {DEFAULT}." in page.text
    assert "8-800" not in page.text and "Отдел №0" not in page.text
