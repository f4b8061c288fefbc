"""The ingest slice's wiring: the stage of `otklik ingest vk` (the Bots Long Poll of managed
communities, wall polling of monitored groups, moderators' answers posted back to VK), the app of
`otklik ingest http` (VK Callback API and the appeal intake) and the mailbox pollers of `otklik
ingest imap`. One VkClient per token, so a token shared by several groups keeps one rate limit."""

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from ingest.appeals.imap import ImapPoller
from ingest.appeals.intake import AppealIntake, intake_router
from ingest.domain.appeals import DEFAULT_ZONE
from ingest.domain.sources import Source, SourceCatalog
from ingest.handlers import STAGE as INGEST_STAGE
from ingest.handlers import VkEventIngestor
from ingest.storage.cursors import CursorStore
from ingest.vk.answers import VkAnswerPoster
from ingest.vk.callback import callback_router
from ingest.vk.client import VkClient
from ingest.vk.longpoll import LongPollListener
from ingest.vk.polling import WallPoller
from kernel.bus.port import Publisher, Stage, Subscription
from kernel.contracts.incidents import IncidentEvent
from kernel.contracts.messages import Channel, SourceKind
from kernel.contracts.topics import Topic
from kernel.db.engine import Database
from kernel.http_limits import BodyLimit
from kernel.observability import Metrics
from kernel.settings import Settings

log = logging.getLogger(__name__)
# Appeals whose date carries no zone (web forms usually send local time) are read in this zone.
APPEAL_ZONE = ZoneInfo("Europe/Moscow")
Loop = Callable[[], Coroutine[Any, Any, None]]


def series_at_zero(metrics: Metrics, catalog: SourceCatalog | None = None) -> None:
    """The counters an ingest process increments, created at 0 when it starts: rate() and
    increase() see an increment only between two scrapes, so a series born with its first
    increment would hide it (the first message of a source kind, the first dead letter). The
    polled groups' accessibility too, so that its alert has a series to watch from the start."""
    metrics.dead_letters.labels(stage=INGEST_STAGE)
    for kind in SourceKind:
        metrics.ingested.labels(source_kind=kind.value)
    for result in ("posted", "failed"):
        metrics.vk_replies.labels(result=result)
    for source in catalog.vk_groups(managed=False) if catalog is not None else []:
        if source.token is not None:
            metrics.vk_source_inaccessible.labels(source=source.id).set(0)


class VkClients:
    """One client per named token: community tokens get the community rate, others the user's."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings, self._metrics = settings, metrics
        self._clients: dict[str, VkClient] = {}

    def for_source(self, source: Source) -> VkClient:
        assert source.token is not None
        if source.token not in self._clients:
            rps = self._settings.vk_community_rps if source.managed else self._settings.vk_user_rps
            self._clients[source.token] = VkClient(
                self._settings.secret(source.token),
                token_name=source.token,
                metrics=self._metrics,
                api_url=self._settings.vk_api_url,
                api_version=self._settings.vk_api_version,
                rps=rps,
            )
        return self._clients[source.token]


def vk_loops(
    settings: Settings,
    catalog: SourceCatalog,
    ingestor: VkEventIngestor,
    cursors: CursorStore,
    clients: VkClients,
) -> list[Loop]:
    loops: list[Loop] = []
    for source in catalog.vk_groups(managed=True):
        if source.token is not None and source.callback is None:
            loops.append(
                LongPollListener(source, clients.for_source(source), ingestor, cursors).run
            )
    for source in catalog.vk_groups(managed=False):
        if source.token is not None:
            poller = WallPoller(
                source, clients.for_source(source), ingestor, cursors, settings.clock
            )
            loops.append(_every(settings.vk_poll_interval_seconds, poller.poll_once))
    return loops


def answer_subscriptions(
    catalog: SourceCatalog,
    clients: VkClients,
    metrics: Metrics,
    publisher: Publisher,
    clock: Callable[[], datetime],
) -> list[Subscription]:
    """Moderators' answers go back to VK for the communities that allow it; for the other VK
    communities the moderator is told that otklik does not post there."""
    if not catalog.vk_groups(managed=True) and not catalog.vk_groups(managed=False):
        return []
    poster = VkAnswerPoster(catalog, clients.for_source, metrics, publisher, clock)
    return [Subscription(Topic.INCIDENT_EVENTS, "vk-answers", IncidentEvent, poster.handle)]


def _every(seconds: float, work: Callable[[], Coroutine[Any, Any, int]]) -> Loop:
    async def loop() -> None:
        while True:
            published = await work()
            log.info("polling round published %d messages", published)
            await asyncio.sleep(seconds)

    return loop


def vk_stage(
    settings: Settings, catalog: SourceCatalog, db: Database, publisher: Publisher, metrics: Metrics
) -> Stage:
    """`otklik ingest vk`: listeners and pollers in the background, answers as a subscription."""
    series_at_zero(metrics, catalog)
    ingestor = VkEventIngestor(catalog, publisher, metrics, settings.clock)
    clients = VkClients(settings, metrics)
    loops = vk_loops(settings, catalog, ingestor, CursorStore(db), clients)
    if not loops:
        log.warning("no VK source has a token: nothing to listen to or poll")
    return Stage(
        "ingest-vk",
        subscriptions=answer_subscriptions(catalog, clients, metrics, publisher, settings.clock),
        background=loops,
        closers=[db.close],
    )


def http_app(
    settings: Settings, catalog: SourceCatalog, publisher: Publisher, metrics: Metrics
) -> FastAPI:
    """`otklik ingest http`: the VK Callback API and the appeal intake. Its /metrics are served on
    OTKLIK_METRICS_PORT by services/ingest_http.py, never on this public port."""
    series_at_zero(metrics)
    ingestor = VkEventIngestor(catalog, publisher, metrics, settings.clock)
    intake = AppealIntake(catalog, settings, publisher, metrics, settings.clock, APPEAL_ZONE)
    app = FastAPI(title="otklik — приём событий VK и обращений", version="1")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.include_router(callback_router(ingestor, settings))
    app.include_router(intake_router(intake))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def imap_pollers(
    settings: Settings, catalog: SourceCatalog, db: Database, publisher: Publisher, metrics: Metrics
) -> list[ImapPoller]:
    cursors = CursorStore(db)
    return [
        ImapPoller(
            source,
            password=settings.secret(source.imap.password),
            cursors=cursors,
            publisher=publisher,
            metrics=metrics,
            clock=settings.clock,
            zone=ZoneInfo(DEFAULT_ZONE),
        )
        for source in catalog.appeals(Channel.EMAIL)
        if source.imap is not None
    ]


def imap_stage(
    settings: Settings, catalog: SourceCatalog, db: Database, publisher: Publisher, metrics: Metrics
) -> Stage:
    """`otklik ingest imap`: every mailbox polled in the background."""
    pollers = imap_pollers(settings, catalog, db, publisher, metrics)
    loops = [
        functools.partial(poller.run, settings.imap_poll_interval_seconds) for poller in pollers
    ]
    return Stage(name="imap", background=list(loops), closers=[db.close])
