"""One-shot commands on the SLA slice's database: `otklik users add`, `replay`, `indicators`,
`redact`."""

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer

from kernel.contracts.indicators import IndicatorRecord
from kernel.settings import Settings
from services.auth import store
from services.auth.roles import Role
from sla.replay import ReplayReport, replay_history
from sla.reports.indicator_views import (
    IndicatorReadError,
    NoDataError,
    NoRevisionError,
    month_records,
)
from sla.stage import sla_for_command
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


T = TypeVar("T")


def run_read(reading: Coroutine[Any, Any, T]) -> T:
    """Run a read of the indicators for the CLI: a refusal goes to stderr with its exit code,
    1 when there is nothing to show yet (no revision, no data), 2 for an unknown id or
    revision."""
    try:
        return asyncio.run(reading)
    except IndicatorReadError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1 if isinstance(error, NoRevisionError | NoDataError) else 2) from error


async def month_indicators(
    settings: Settings, month: str, municipality: str | None, revision: int | None = None
) -> list[IndicatorRecord]:
    """Stored revisions only (the aggregator writes them): the latest of each municipality, or
    the municipality's ``revision``; errors are sla.reports.indicator_views' IndicatorReadError."""
    async with sla_for_command(settings) as context:
        return await month_records(context, month, municipality, revision)


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
