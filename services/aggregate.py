"""`otklik aggregate`: the aggregator as its own process on Kafka, or one round (`--once`).

`--once` is the explicit "compute now": it writes the revisions and their outbox rows in
PostgreSQL (which is all the reads need), then hands the outbox to Kafka only if Kafka answers
within ``KAFKA_WAIT_SECONDS``. Without Kafka it says so and succeeds: the records stay in the
outbox and the running aggregator's relay (or the next `--once` with Kafka) publishes them.

Both record the report deliveries of each closed revision (OTKLIK_DELIVERY_FILE); the running
aggregator also sends them (e-mails with OTKLIK_SMTP_HOST, webhooks with
OTKLIK_WEBHOOK_SIGNING_SECRET), `--once` leaves them to it."""

import asyncio
import contextlib
import sys

from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Publisher, Stage
from kernel.db.outbox import OutboxRelay
from kernel.observability import Metrics
from kernel.settings import Settings
from services.bundled import default_plans_file
from services.kafka_runner import run_stage_on_kafka
from sla.delivery.sender import ReportSender, load_recipients
from sla.delivery.smtp import SmtpConfig
from sla.delivery.webhook import WebhookConfig
from sla.stage import SlaContext, aggregator_stage, open_sla

KAFKA_WAIT_SECONDS = 15.0


async def run_aggregator(settings: Settings, *, once: bool, month: str | None = None) -> None:
    if once:
        metrics = Metrics()
        context = await open_sla(settings, metrics)
        try:
            context.aggregator.recipients = load_recipients(settings.delivery_file, context.policy)
            records = await context.aggregator.run_once(month)
            print(f"новых ревизий: {len(records)}", file=sys.stderr)
            await _relay(settings, context, metrics)
        finally:
            await context.db.close()
        return

    async def factory(publisher: Publisher, metrics: Metrics) -> Stage:
        context = await open_sla(settings, metrics)
        context.aggregator.recipients = load_recipients(settings.delivery_file, context.policy)
        stage = aggregator_stage(context, settings, publisher)
        smtp = SmtpConfig.from_settings(settings)
        webhook = WebhookConfig.from_settings(settings)
        if smtp is not None or webhook is not None:
            sender = ReportSender(
                context.db, context.policy, default_plans_file(settings), smtp, context.clock,
                webhook=webhook,
            )  # fmt: skip

            async def send_reports() -> None:
                await sender.run(settings.aggregate_interval_seconds)

            stage.background.append(send_reports)
        return stage

    await run_stage_on_kafka(settings, "aggregator", factory)


async def _relay(settings: Settings, context: SlaContext, metrics: Metrics) -> None:
    transport = KafkaTransport(settings, metrics, client_id="otklik-aggregator")
    try:
        await asyncio.wait_for(transport.start(), KAFKA_WAIT_SECONDS)
    except Exception as error:  # unreachable, refused, timed out: the outbox keeps the records
        with contextlib.suppress(Exception):
            await transport.stop()
        print(
            f"Kafka ({settings.kafka_bootstrap}) недоступна ({type(error).__name__}): записи "
            "остаются в outbox, их опубликует работающий агрегатор (otklik aggregate)",
            file=sys.stderr,
        )
        return
    try:
        await OutboxRelay(context.db, transport, metrics).drain()
    finally:
        await transport.stop()
