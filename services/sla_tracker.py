"""`otklik sla`: the SLA tracker stage as its own process on Kafka, with the notifier for people
(services/notifications) beside the deadline watcher whose events it tells."""

from kernel.bus.port import Publisher, Stage
from kernel.observability import Metrics
from kernel.settings import Settings
from services.kafka_runner import run_stage_on_kafka
from services.notifications.sender import notifier_for
from sla.stage import open_sla, sla_stage


async def run_sla(settings: Settings) -> None:
    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        context = await open_sla(settings, metrics)
        stage = sla_stage(context, settings, publisher)
        notifier = notifier_for(
            context.db, context.policy, context.clock, settings, metrics=context.metrics
        )

        async def notify() -> None:
            await notifier.run(settings.notify_seconds)

        stage.background.append(notify)
        return stage

    await run_stage_on_kafka(settings, "sla", factory)
