"""Entry points of the appeal channels for the CLI: import a CSV/XLSX list, poll the mailboxes.

Both publish to Kafka. The import reads and checks the whole file before it connects, so a file
that cannot be imported fails fast and publishes nothing.
"""

import asyncio
import functools
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.appeals.imap import ImapPoller
from ingest.appeals.importer import (
    ImportFileError,
    ImportReport,
    plan_import,
    publish_plan,
    read_table,
)
from ingest.domain.appeals import DEFAULT_ZONE
from ingest.domain.sources import Source, SourceCatalog
from ingest.sources_file import load_sources
from ingest.storage.cursors import CursorStore
from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Publisher, Stage
from kernel.contracts.messages import Channel
from kernel.db.engine import Database, open_database
from kernel.db.migrate import upgrade
from kernel.observability import Metrics
from kernel.settings import Settings
from services.demo.bundled import default_sources_file
from services.runtime.kafka_runner import run_stage_on_kafka

log = logging.getLogger(__name__)


def import_source(catalog: SourceCatalog, name: str) -> Source:
    """The import channel called ``name`` (its id or its name)."""
    sources = catalog.appeals(Channel.IMPORT)
    for source in sources:
        if name in {source.id, source.name}:
            return source
    known = ", ".join(source.id for source in sources) or "нет ни одного"
    raise ImportFileError(f"нет канала импорта {name!r}; настроены: {known}")


async def import_appeals(
    settings: Settings, file: Path, source_name: str, zone: str = DEFAULT_ZONE
) -> ImportReport:
    source = import_source(load_sources(default_sources_file(settings)), source_name)
    table = await asyncio.to_thread(read_table, file)
    plan = plan_import(table, source, received_at=settings.clock(), zone=ZoneInfo(zone))
    metrics = Metrics()
    transport = KafkaTransport(settings, metrics, client_id="otklik-import")
    await transport.start()
    try:
        return await publish_plan(plan, table.name, transport, metrics)
    finally:
        await transport.stop()


def imap_pollers(
    settings: Settings, catalog: SourceCatalog, db: Database, publisher: Publisher, metrics: Metrics
) -> list[ImapPoller]:
    cursors = CursorStore(db)
    return [
        ImapPoller(
            source,
            password=settings.secret(source.imap.password),
            cursors=cursors,
            publisher=publisher,
            metrics=metrics,
            clock=settings.clock,
            zone=ZoneInfo(DEFAULT_ZONE),
        )
        for source in catalog.appeals(Channel.EMAIL)
        if source.imap is not None
    ]


async def run_imap(settings: Settings, *, once: bool) -> int:
    """Poll every e-mail channel: once (the number of messages published), or until stopped."""
    catalog = load_sources(default_sources_file(settings))
    if not catalog.appeals(Channel.EMAIL):
        log.warning("no e-mail appeal channels in %s", default_sources_file(settings))
        return 0
    db = open_database(settings)
    await asyncio.to_thread(upgrade, db.url)
    if once:
        metrics = Metrics()
        transport = KafkaTransport(settings, metrics, client_id="otklik-imap")
        await transport.start()
        try:
            pollers = imap_pollers(settings, catalog, db, transport, metrics)
            return sum([await poller.poll_once() for poller in pollers])
        finally:
            await transport.stop()
            await db.close()

    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        pollers = imap_pollers(settings, catalog, db, publisher, metrics)
        loops = [
            functools.partial(poller.run, settings.imap_poll_interval_seconds) for poller in pollers
        ]
        return Stage(name="imap", background=list(loops), closers=[db.close])

    await run_stage_on_kafka(settings, "imap", factory)
    return 0
