"""`otklik ingest vk`: the VK listeners, pollers and answer posting as one process on Kafka."""

import asyncio

from ingest.sources_file import load_sources
from ingest.stage import vk_stage
from kernel.bus.port import Publisher, Stage
from kernel.db.engine import open_database
from kernel.db.migrate import upgrade
from kernel.observability import Metrics
from kernel.settings import Settings
from services.bundled import default_sources_file
from services.kafka_runner import run_stage_on_kafka


async def run_vk(settings: Settings) -> None:
    catalog = load_sources(default_sources_file(settings))

    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        db = open_database(settings, pool_size=2)
        await asyncio.to_thread(upgrade, db.url)
        return vk_stage(settings, catalog, db, publisher, metrics)

    await run_stage_on_kafka(settings, "ingest-vk", factory)
