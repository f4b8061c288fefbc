"""`otklik web`: the web app served by uvicorn, with the response-time series seeded."""

import asyncio
import contextlib

from kernel.observability import Metrics
from kernel.settings import Settings
from sla.gauges import run_response_seeding
from sla.stage import open_sla


async def run_web(settings: Settings) -> None:
    import uvicorn

    from services.web.app import create_app

    metrics = Metrics()
    context = await open_sla(settings, metrics)
    config = uvicorn.Config(
        create_app(context, settings), host=settings.http_host, port=settings.http_port,
        timeout_graceful_shutdown=5,  # open pages hold event streams (services/web/ui/events.py)
    )  # fmt: skip
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
        await context.db.close()
