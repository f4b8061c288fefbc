"""`otklik ingest imap`: the appeal mailboxes polled into Kafka, once or until stopped."""

import asyncio
import logging

from ingest.sources_file import load_sources
from ingest.stage import imap_pollers, imap_stage
from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Publisher, Stage
from kernel.contracts.messages import Channel
from kernel.db.engine import open_database
from kernel.db.migrate import upgrade
from kernel.observability import Metrics
from kernel.settings import Settings
from services.bundled import default_sources_file
from services.kafka_runner import run_stage_on_kafka

log = logging.getLogger(__name__)


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
        return imap_stage(settings, catalog, db, publisher, metrics)

    await run_stage_on_kafka(settings, "imap", factory)
    return 0
