"""`otklik sla`: the SLA tracker stage as its own process on Kafka."""

from kernel.bus.port import Publisher, Stage
from kernel.observability import Metrics
from kernel.settings import Settings
from services.kafka_runner import run_stage_on_kafka
from sla.stage import open_sla, sla_stage


async def run_sla(settings: Settings) -> None:
    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        return sla_stage(await open_sla(settings, metrics), settings, publisher)

    await run_stage_on_kafka(settings, "sla", factory)
