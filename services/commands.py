"""One-shot commands on the SLA slice's database: `otklik users …`, `replay`, `indicators`,
`redact`."""

import asyncio
import getpass
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.indicators import IndicatorRecord
from kernel.settings import Settings
from services.auth import store
from services.auth.roles import Role
from services.auth.scopes import Scope, ScopeError
from sla.domain.policy import SlaPolicy
from sla.replay import ReplayReport, replay_history
from sla.reports.indicator_views import (
    IndicatorReadError,
    NoDataError,
    NoRevisionError,
    month_records,
)
from sla.stage import sla_for_command
from sla.storage.redaction import RedactionReport, redact

T = TypeVar("T")


def cli_actor(name: str | None = None) -> str:
    """The audit log's «who» of a command: ``cli:`` and ``--actor``, else the OS user."""
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a bare container)
            name = "unknown"
    return f"cli:{name}"


async def add_user(
    settings: Settings,
    login: str,
    password: str,
    role: Role,
    name: str,
    *,
    scope: Scope | None = None,
    actor: str | None = None,
) -> None:
    async def add(connection: AsyncConnection, by: store.Change, policy: SlaPolicy) -> None:
        await store.add_user(
            connection,
            login=login,
            password=password,
            role=role,
            display_name=name,
            scope=scope,
            by=by,
            policy=policy,
        )

    await change_account(settings, add, cli_actor(actor))


async def change_account(
    settings: Settings,
    change: Callable[[AsyncConnection, store.Change, SlaPolicy], Awaitable[T]],
    actor: str,
) -> T:
    """Run one account change in one transaction, stamped with ``actor`` and the clock."""
    async with sla_for_command(settings) as context, context.db.transaction() as connection:
        return await change(connection, store.Change(actor, context.clock()), context.policy)


async def list_accounts(settings: Settings) -> list[store.Account]:
    async with sla_for_command(settings) as context, context.db.engine.connect() as connection:
        return await store.list_users(connection, context.clock())


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as bad:
        raise typer.BadParameter(f"неизвестная роль {value}") from bad


def scope_of(
    municipalities: list[str] | None, regions: list[str] | None, departments: list[str] | None
) -> Scope:
    return Scope(
        frozenset(municipalities or ()), frozenset(regions or ()), frozenset(departments or ())
    )


async def disable_user(settings: Settings, login: str, actor: str) -> bool:
    return await change_account(settings, lambda c, by, _: store.disable_user(c, login, by), actor)


async def enable_user(settings: Settings, login: str, actor: str) -> bool:
    return await change_account(settings, lambda c, by, _: store.enable_user(c, login, by), actor)


async def reset_password(settings: Settings, login: str, password: str, actor: str) -> None:
    await change_account(
        settings, lambda c, by, _: store.reset_password(c, login, password, by), actor
    )


async def set_role(settings: Settings, login: str, role: Role, actor: str) -> bool:
    return await change_account(
        settings, lambda c, by, _: store.set_role(c, login, role, by), actor
    )


async def set_scope(settings: Settings, login: str, scope: Scope, actor: str) -> bool:
    return await change_account(
        settings, lambda c, by, policy: store.set_scope(c, login, scope, by, policy), actor
    )


async def end_sessions(settings: Settings, login: str, actor: str) -> int:
    return await change_account(settings, lambda c, by, _: store.end_sessions(c, login, by), actor)


def run_account(change: Coroutine[Any, Any, T]) -> T:
    """Run an account command for the CLI: a refusal (unknown user, last admin, bad scope or
    password) goes to stderr in Russian with exit code 2."""
    try:
        return asyncio.run(change)
    except (store.AccountError, ScopeError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error


async def replay_history_file(settings: Settings, file: Path) -> ReplayReport:
    async with sla_for_command(settings) as context:
        with file.open("rb") as lines:
            return await replay_history(context.db, context.service, lines)


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
