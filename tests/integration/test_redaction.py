"""Personal data removed on request without moving any indicator (real PostgreSQL)."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kernel.db.schema import message_authors, message_revisions, messages
from kernel.observability import Metrics
from services.cli import app as cli_app
from sla.stage import SlaContext, open_sla
from sla.storage.redaction import REDACTED_TEXT, redact
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
async def sla(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[SlaContext]:
    context = await open_sla(
        settings_factory(database_url=database_url),
        Metrics(),
        clock=lambda: T0 + timedelta(days=60),
    )
    for item, author in ((1, 55), (2, 55), (3, 77), (4, 55)):
        message = raw_message(item, author_id=author, created_at=T0 + timedelta(hours=item))
        await context.service.on_classified(classified(message))
    yield context
    await context.db.close()


async def authors(context: SlaContext) -> dict[str, tuple[str | None, str | None]]:
    async with context.db.engine.connect() as connection:
        rows = await connection.execute(
            select(
                message_authors.c.message_id, message_authors.c.ref, message_authors.c.redacted_at
            )
        )
        return {row.message_id[-1]: (row.ref, row.redacted_at and "yes") for row in rows}


async def test_an_authors_data_and_texts_go_and_the_indicators_stay(sla: SlaContext) -> None:
    before = await sla.aggregator.publish_month("testgrad", "2026-09")
    assert before is not None and before.n_assigned == 4
    async with sla.db.transaction() as connection:
        report = await redact(connection, now=T0, author_ref="vk:id55", texts=True)
    assert (report.messages, report.texts) == (3, 3)
    refs = await authors(sla)
    [pseudonym] = {str(refs[i][0]) for i in "124"}  # one pseudonym for the one author
    # A random token, not derived from the id: "55" may appear in it by chance.
    assert re.fullmatch(r"redacted:[0-9a-f]{16}", pseudonym), pseudonym
    assert {refs[i][1] for i in "124"} == {"yes"}
    assert refs["3"] == ("vk:id77", None)  # another resident is untouched
    async with sla.db.engine.connect() as connection:
        texts = dict(
            (await connection.execute(select(messages.c.message_id, messages.c.text))).all()
        )
        history = set((await connection.execute(select(message_revisions.c.text))).scalars())
    assert sorted(t == REDACTED_TEXT for t in texts.values()) == [False, True, True, True]
    assert REDACTED_TEXT in history and len(history) == 2
    # Same inputs, so no new revision: every number stays as it was reported.
    assert await sla.aggregator.publish_month("testgrad", "2026-09") is None


def test_cli_redacts_one_message_and_refuses_an_unclear_request(
    settings_factory: SettingsFactory, database_url: str
) -> None:
    async def load() -> None:
        context = await open_sla(settings_factory(database_url=database_url), Metrics())
        await context.service.on_classified(classified(raw_message(9, author_id=99)))
        await context.db.close()

    asyncio.run(load())
    env = {"OTKLIK_DATABASE_URL": database_url, "OTKLIK_DATA_DIR": str(settings_factory.tmp_path)}
    message_id = raw_message(9).message_id
    done = CliRunner().invoke(cli_app, ["redact", "--message", message_id], env=env)
    assert done.exit_code == 0, done.output
    assert "обезличено сообщений: 1; удалено текстов: 0" in done.output
    both = CliRunner().invoke(
        cli_app, ["redact", "--message", message_id, "--author", "x"], env=env
    )
    assert both.exit_code == 2
