"""Run one stage as its own process on Kafka, with /metrics, until SIGTERM or Ctrl+C."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from prometheus_client import start_http_server

from kernel.bus.kafka import KafkaTransport
from kernel.bus.port import Publisher, Stage
from kernel.observability import Metrics
from kernel.settings import Settings
from services.supervision import keep_running

log = logging.getLogger(__name__)

StageFactory = Callable[[Publisher, Metrics], Awaitable[Stage]]


async def wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def run_stage_on_kafka(settings: Settings, name: str, factory: StageFactory) -> None:
    metrics = Metrics()
    transport = KafkaTransport(settings, metrics, client_id=f"otklik-{name}")
    stage = await factory(transport, metrics)
    for subscription in stage.subscriptions:
        transport.subscribe(subscription)
    server, _ = start_http_server(
        settings.metrics_port, addr=settings.http_host, registry=metrics.registry
    )
    await transport.start()
    tasks = [asyncio.create_task(keep_running(loop)) for loop in stage.background]
    log.info(
        "%s running on %s; /metrics on port %d",
        name,
        settings.kafka_bootstrap,
        settings.metrics_port,
    )
    try:
        await wait_for_stop_signal()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await transport.stop()
        await stage.close()
        server.shutdown()
