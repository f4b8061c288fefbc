"""One-shot commands on the SLA slice's database: `otklik users add`, `replay`, `indicators`,
`redact`."""

from pathlib import Path

from kernel.contracts.indicators import IndicatorRecord
from kernel.settings import Settings
from services.auth import store
from services.auth.roles import Role
from sla.replay import ReplayReport, replay_history
from sla.stage import sla_for_command
from sla.storage.aggregation import current_records
from sla.storage.redaction import RedactionReport, redact


async def add_user(settings: Settings, login: str, password: str, role: Role, name: str) -> None:
    async with sla_for_command(settings) as context, context.db.transaction() as connection:
        await store.add_user(
            connection, login=login, password=password, role=role, display_name=name
        )


async def replay_history_file(settings: Settings, file: Path) -> ReplayReport:
    async with sla_for_command(settings) as context:
        with file.open("rb") as lines:
            return await replay_history(context.db, context.service, lines)


async def month_indicators(
    settings: Settings, month: str, municipality: str | None
) -> list[IndicatorRecord]:
    """Compute on demand (a new revision only if inputs changed), then read the latest."""
    async with sla_for_command(settings) as context:
        await context.aggregator.run_once(month)
        async with context.db.engine.connect() as connection:
            return await current_records(connection, month, municipality)


async def redact_personal_data(
    settings: Settings, *, author_ref: str | None, message_id: str | None, texts: bool
) -> RedactionReport:
    async with sla_for_command(settings) as context, context.db.transaction() as connection:
        return await redact(
            connection,
            now=context.clock(),
            author_ref=author_ref,
            message_id=message_id,
            texts=texts,
        )
