"""Embedded mode: every stage in one process on the in-process bus and an embedded PostgreSQL,
replaying a bundled sample of VK events; then the queue API and /metrics are served."""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from classifier.stage import classifier_stage
from ingest.handlers import VkEventIngestor
from ingest.replay import replay_vk_file
from ingest.sources_file import load_sources
from kernel.bus.memory import InMemoryBus
from kernel.contracts.indicators import IndicatorRecord
from kernel.db.outbox import OutboxRelay
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth import store
from services.auth.roles import Role
from services.bundled import default_sources_file
from services.demo.living import living_copy
from services.supervision import keep_running
from services.web.app import create_app
from services.web.serve import uvicorn_config
from sla.gauges import export_indicators
from sla.stage import SlaContext, open_sla, sla_stage
from sla.storage.aggregation import current_records, published_months

log = logging.getLogger(__name__)


DEMO_LOGIN = "demo"


@dataclass
class DemoResult:
    published: int
    skipped: int
    records: list[IndicatorRecord]
    password: str = ""


async def replay_all(
    context: SlaContext, bus: InMemoryBus, settings: Settings, sample: Path
) -> DemoResult:
    ingestor = VkEventIngestor(
        load_sources(default_sources_file(settings)), bus, context.metrics, context.clock
    )
    relay = OutboxRelay(context.db, bus, context.metrics)
    published, skipped = await replay_vk_file(sample, ingestor)
    await bus.drain()
    await relay.drain()
    await context.aggregator.run_once()
    # Served on /metrics afterwards.
    await export_indicators(context.db, context.metrics, context.policy.municipality_names())
    await relay.drain()
    async with context.db.engine.connect() as connection:
        months = await published_months(connection)
        records = [r for month in months for r in await current_records(connection, month)]
    return DemoResult(published, skipped, records, await demo_user(context))


async def demo_user(context: SlaContext) -> str:
    """The demo's administrator gets a fresh random password each run (printed, never stored
    in clear), so the served queue can be tried at once and no fixed password exists."""
    password = secrets.token_urlsafe(12)
    by = store.Change("demo", context.clock())  # in the audit log like any account change
    async with context.db.transaction() as connection:
        if not await store.set_password(connection, login=DEMO_LOGIN, password=password, by=by):
            await store.add_user(
                connection,
                login=DEMO_LOGIN,
                password=password,
                role=Role.ADMIN,
                display_name="Демо-администратор",
                by=by,
            )
    return password


async def run_embedded(
    settings: Settings, sample: Path, serve: bool, as_recorded: bool = False
) -> DemoResult:
    """Replay ``sample`` through every stage, print the indicators and, with ``serve``, serve the
    queue. Unless ``as_recorded``, the sample is first moved to end in the week before today
    (services/demo/living.py)."""
    metrics = Metrics()
    bus = InMemoryBus(metrics)
    context = await open_sla(settings, metrics)
    if not as_recorded:
        living = Path(settings.data_dir) / "demo" / sample.name
        weeks = living_copy(sample, living, context.clock())
        print(f"Выборка сдвинута на {weeks} нед., чтобы закончиться на этой неделе")
        sample = living
    stages = [classifier_stage(settings, bus, metrics), sla_stage(context, settings, bus)]
    for stage in stages:
        for subscription in stage.subscriptions:
            bus.subscribe(subscription)
    bus.start()
    try:
        result = await replay_all(context, bus, settings, sample)
        print_report(result)
        if serve:
            loops = [loop for stage in stages for loop in stage.background]
            await _serve(context, settings, loops, result.password)
    finally:
        await bus.stop()
        for stage in stages:
            await stage.close()
    return result


async def _serve(
    context: SlaContext,
    settings: Settings,
    loops: list[Callable[[], Coroutine[Any, Any, None]]],
    password: str,
) -> None:
    tasks = [asyncio.create_task(keep_running(loop)) for loop in loops]
    config = uvicorn_config(
        create_app(context, settings),
        settings.http_host,
        settings.http_port,
        log_level="warning",
        timeout_graceful_shutdown=5,  # open pages hold event streams; Ctrl+C must not wait
    )
    base = f"http://{settings.http_host}:{settings.http_port}"
    print(f"\nВеб-интерфейс: {base}/queue — логин {DEMO_LOGIN}, пароль {password}")
    print(f"API очереди: {base}/api/incidents  (OpenAPI: {base}/docs)")
    print(f"Метрики: {base}/metrics — Ctrl+C, чтобы остановить")
    try:
        await uvicorn.Server(config).serve()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def print_report(result: DemoResult) -> None:
    print(f"Принято событий: {result.published}; отклонено или пропущено: {result.skipped}")
    header = (
        f"{'Месяц':8} {'МО':12} {'N_назн':>7} {'N_отр':>6} {'k_об':>5} {'A_2':>6} "
        f"{'Обраб.%':>8} {'Негатив%':>9} {'Ред.':>4}"
    )
    print(header)
    for r in result.records:
        a2 = "нет данных" if r.a2 is None else f"{r.a2:.3f}"
        k = "-" if r.k_ob is None else f"{r.k_ob:.1f}"
        processed = "-" if r.share_processed is None else f"{r.share_processed:.1f}"
        negative = "-" if r.share_negative is None else f"{r.share_negative:.1f}"
        print(
            f"{r.month:8} {r.municipality:12} {r.n_assigned:>7} {r.n_handled_on_time:>6} "
            f"{k:>5} {a2:>6} {processed:>8} {negative:>9} {r.revision:>4}"
        )
