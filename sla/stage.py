"""Wiring of the SLA slice: database, policy, service, outbox relay, aggregator."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from kernel.bus.port import Publisher, Stage, Subscription
from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.contracts.classification import ClassifiedMessage
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.topics import Topic
from kernel.db.deadletters import store_dead_letter
from kernel.db.engine import Database, open_database
from kernel.db.migrate import upgrade
from kernel.db.outbox import OutboxRelay
from kernel.observability import Metrics
from kernel.settings import Settings
from sla.aggregator import Aggregator
from sla.deadline_watcher import DeadlineWatcher
from sla.domain.calendar import last_year
from sla.domain.policy import SlaPolicy
from sla.gauges import SlaGauges, run_indicator_export
from sla.policy_file import load_policy_file
from sla.service import IncidentService


@dataclass
class SlaContext:
    db: Database
    policy: SlaPolicy
    service: IncidentService
    aggregator: Aggregator
    metrics: Metrics
    clock: Callable[[], datetime]


async def open_sla(
    settings: Settings, metrics: Metrics, clock: Callable[[], datetime] | None = None
) -> SlaContext:
    """Database (migrated), policy and services; publishing is left to the outbox relay. The
    clock is the settings' unless a test passes its own."""
    clock = clock or settings.clock
    db = open_database(settings)
    await asyncio.to_thread(upgrade, db.url)
    policy = load_policy_file(settings.policy_file)
    return SlaContext(
        db=db,
        policy=policy,
        service=IncidentService(db, policy, metrics, clock),
        aggregator=Aggregator(
            db,
            policy.timezone,
            settings.indicator_threshold_t,
            clock,
            close=(settings.indicators_close_day, settings.indicators_close_time),
            known=policy.spec.municipalities,
            registry=metrics.registry,
        ),
        metrics=metrics,
        clock=clock,
    )


@asynccontextmanager
async def sla_for_command(settings: Settings) -> AsyncIterator[SlaContext]:
    """The SLA context of one command (CLI, replay, report): opened, and closed whatever
    happens."""
    context = await open_sla(settings, Metrics())
    try:
        yield context
    finally:
        await context.db.close()


def sla_stage(context: SlaContext, settings: Settings, publisher: Publisher) -> Stage:
    relay = OutboxRelay(context.db, publisher, context.metrics)
    # For the alert that the calendar is about to run out (deadlines past it are refused).
    context.metrics.calendar_last_year.set(last_year())

    async def store(letter: DeadLetter) -> None:
        await store_dead_letter(context.db, letter)

    async def run_relay() -> None:
        await relay.run(settings.outbox_poll_seconds)

    async def watch() -> None:
        await DeadlineWatcher(context.service).run(settings.deadline_watch_seconds)

    async def gauges() -> None:
        refresher = SlaGauges(context.db, context.policy, context.metrics, context.clock)
        await refresher.run(settings.deadline_watch_seconds)

    return Stage(
        name="sla",
        subscriptions=[
            Subscription(
                Topic.CLASSIFIED_MESSAGES,
                "sla",
                ClassifiedMessage,
                context.service.on_classified,
                context.service.on_classified_batch,
            ),
            Subscription(Topic.DEAD_LETTERS, "deadletters", DeadLetter, store),
            Subscription(
                Topic.ANSWER_DELIVERIES,
                "sla-deliveries",
                AnswerDelivery,
                context.service.on_delivery,
            ),
        ],
        background=[run_relay, watch, gauges],
        closers=[context.db.close],
    )


def aggregator_stage(context: SlaContext, settings: Settings, publisher: Publisher) -> Stage:
    relay = OutboxRelay(context.db, publisher, context.metrics)

    async def aggregate() -> None:
        await context.aggregator.run(settings.aggregate_interval_seconds)

    async def run_relay() -> None:
        await relay.run(settings.outbox_poll_seconds)

    async def export() -> None:
        interval = settings.aggregate_interval_seconds
        names = context.policy.municipality_names()
        await run_indicator_export(context.db, context.metrics, interval, names)

    return Stage(
        name="aggregator", background=[aggregate, run_relay, export], closers=[context.db.close]
    )
