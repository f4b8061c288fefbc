"""`otklik import` and `otklik ingest replay`: a file of appeals (CSV/XLSX) or of VK events
(JSON lines) published to Kafka. The import reads and checks the whole file (a stream, within
its limits) before it connects, so a file that cannot be imported fails fast and publishes
nothing; then it reads the file again and publishes it in pipelined batches."""

import asyncio
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.appeals.importer import (
    ImportFileError,
    ImportReport,
    check_table,
    open_table,
    publish_table,
)
from ingest.domain.appeals import DEFAULT_ZONE
from ingest.domain.sources import Source, SourceCatalog
from ingest.handlers import VkEventIngestor
from ingest.replay import replay_vk_file
from ingest.sources_file import load_sources
from kernel.bus.kafka import KafkaTransport
from kernel.contracts.messages import Channel
from kernel.observability import Metrics
from kernel.settings import Settings
from services.bundled import default_sources_file


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
    received_at, local = settings.clock(), ZoneInfo(zone)
    table = await asyncio.to_thread(open_table, file)
    checked = await asyncio.to_thread(check_table, table, source, received_at, local)
    metrics = Metrics()
    transport = KafkaTransport(settings, metrics, client_id="otklik-import")
    await transport.start()
    try:
        return await publish_table(table, source, checked, transport, metrics, received_at, local)
    finally:
        await transport.stop()


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
