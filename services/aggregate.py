"""`otklik aggregate`: the aggregator as its own process on Kafka, or one round (`--once`)."""

from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Publisher, Stage
from kernel.db.outbox import OutboxRelay
from kernel.observability import Metrics
from kernel.settings import Settings
from services.kafka_runner import run_stage_on_kafka
from sla.stage import aggregator_stage, open_sla


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
