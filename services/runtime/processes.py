"""Entry points of the distributed mode: one stage per OS process, connected through Kafka.

The classifier (scikit-learn, ~110 MiB resident) and the web app (FastAPI, uvicorn) are
imported by the entry points that run them, not here: every other stage would carry them.
"""

import asyncio
import contextlib
from pathlib import Path

from ingest.handlers import VkEventIngestor
from ingest.replay import replay_vk_file
from ingest.sources_file import load_sources
from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Publisher, Stage
from kernel.contracts.indicators import IndicatorRecord
from kernel.db.outbox import OutboxRelay
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth import store
from services.auth.roles import Role
from services.demo.bundled import default_sources_file
from services.runtime.kafka_runner import run_stage_on_kafka
from sla.gauges import run_response_seeding
from sla.replay import ReplayReport, replay_history
from sla.stage import aggregator_stage, open_sla, sla_for_command, sla_stage
from sla.storage.aggregation import current_records


async def replay_to_kafka(settings: Settings, file: Path) -> tuple[int, int]:
    metrics = Metrics()
    transport = KafkaTransport(settings, metrics, client_id="otklik-ingest")
    await transport.start()
    try:
        catalog = load_sources(default_sources_file(settings))
        return await replay_vk_file(
            file, VkEventIngestor(catalog, transport, metrics, settings.clock)
        )
    finally:
        await transport.stop()


async def run_classifier(settings: Settings) -> None:
    from classifier.stage import create_stage as create_classifier_stage

    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        return await asyncio.to_thread(create_classifier_stage, settings, publisher, metrics)

    await run_stage_on_kafka(settings, "classifier", factory)


async def run_sla(settings: Settings) -> None:
    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        return sla_stage(await open_sla(settings, metrics), settings, publisher)

    await run_stage_on_kafka(settings, "sla", factory)


async def run_aggregator(settings: Settings, *, once: bool) -> None:
    if once:
        metrics = Metrics()
        transport = KafkaTransport(settings, metrics, client_id="otklik-aggregator")
        context = await open_sla(settings, metrics)
        await transport.start()
        try:
            await context.aggregator.run_once()
            await OutboxRelay(context.db, transport, metrics).drain()
        finally:
            await transport.stop()
            await context.db.close()
        return

    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        return aggregator_stage(await open_sla(settings, metrics), settings, publisher)

    await run_stage_on_kafka(settings, "aggregator", factory)


async def run_web(settings: Settings) -> None:
    import uvicorn

    from services.web.app import create_app

    metrics = Metrics()
    context = await open_sla(settings, metrics)
    config = uvicorn.Config(
        create_app(context, settings), host=settings.http_host, port=settings.http_port,
        timeout_graceful_shutdown=5,  # open pages hold event streams (services/web/ui/events.py)
    )  # fmt: skip
    # Moderators' answers are observed here: their histogram series must exist before them.
    seeding = asyncio.create_task(
        run_response_seeding(context.db, metrics, settings.deadline_watch_seconds)
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        seeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await seeding
        await context.db.close()


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
