"""`otklik web`: the web app served by uvicorn, with the response-time series seeded, and
/metrics on a port of its own (OTKLIK_METRICS_PORT, like every stage), not on the public one."""

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from prometheus_client import start_http_server

from kernel.observability import Metrics
from kernel.settings import Settings
from sla.gauges import run_response_seeding
from sla.stage import open_sla

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI


def uvicorn_config(app: "FastAPI", host: str, port: int, **options: Any) -> "uvicorn.Config":
    """uvicorn's configuration for every server otklik runs. ``log_config=None``: uvicorn's own
    logging set-up gives its loggers handlers of their own that bypass the root's, and with them
    the secret redaction of kernel/observability.py; without it they propagate to the root."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_config=None, **options)


def server_config(app: "FastAPI", settings: Settings) -> "uvicorn.Config":
    """uvicorn's configuration: behind a proxy of OTKLIK_FORWARDED_ALLOW_IPS the client address
    and scheme are the forwarded ones (the throttle counts that address, the Secure cookie follows
    that scheme); from any other peer X-Forwarded-* is ignored. Always passed explicitly, so
    uvicorn's own FORWARDED_ALLOW_IPS variable is never read."""
    return uvicorn_config(
        app, settings.http_host, settings.http_port,
        proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=5,  # open pages hold event streams (services/web/ui/events.py)
    )  # fmt: skip


async def run_web(settings: Settings) -> None:
    import uvicorn

    from services.web.app import create_app

    metrics = Metrics()
    context = await open_sla(settings, metrics)
    config = server_config(create_app(context, settings, serve_metrics=False), settings)
    # Prometheus scrapes this port inside the cluster or the compose network; the public port,
    # behind the city's proxy, answers 404 to /metrics.
    metrics_server, _ = start_http_server(
        settings.metrics_port, addr=settings.http_host, registry=metrics.registry
    )
    # Moderators' answers are observed here: their histogram series must exist before them.
    seeding = asyncio.create_task(
        run_response_seeding(context.db, metrics, settings.deadline_watch_seconds)
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        seeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await seeding
        metrics_server.shutdown()
        await context.db.close()
