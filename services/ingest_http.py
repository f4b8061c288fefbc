"""`otklik ingest http`: the VK Callback API receiver and the appeal intake, behind the city's
reverse proxy; /metrics on OTKLIK_METRICS_PORT, inside the cluster or the compose network only."""

import uvicorn
from prometheus_client import start_http_server

from ingest.sources_file import load_sources
from ingest.stage import http_app
from kernel.bus.kafka import KafkaTransport
from kernel.observability import Metrics
from kernel.settings import Settings
from services.bundled import default_sources_file
from services.web.serve import uvicorn_config


async def run_ingest_http(settings: Settings) -> None:
    metrics = Metrics()
    transport = KafkaTransport(settings, metrics, client_id="otklik-ingest-http")
    app = http_app(settings, load_sources(default_sources_file(settings)), transport, metrics)
    await transport.start()
    metrics_server, _ = start_http_server(
        settings.metrics_port, addr=settings.http_host, registry=metrics.registry
    )
    try:
        config = uvicorn_config(app, settings.http_host, settings.ingest_http_port)
        await uvicorn.Server(config).serve()
    finally:
        metrics_server.shutdown()
        await transport.stop()
