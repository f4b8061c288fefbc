"""Notifications for people on a real PostgreSQL, a real SMTP server (tools/smtp.py, aiosmtpd)
and the local fake of Telegram's Bot API (tools/telegram_fake.py): an overdue incident reaches
the moderator whose scope covers it — one e-mail, one Telegram message — and nobody else; a
second round and a restarted process send nothing more; a digest user gets one message at their
local hour listing both incidents; flood control (429) is waited out as Telegram asks; «chat
not found» is marked failed with Telegram's reason and not tried again; an answer VK
refused (answer_failed) is told like the deadlines. The test's clock is
kernel/clock.py's Clock, moved by the test; no wall-clock wait."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from kernel.clock import Clock
from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.db.schema import incidents, notifications
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.scopes import Scope
from services.auth.store import add_user
from services.notifications.preferences import Preferences
from services.notifications.sender import Notifier, notifier_for
from services.notifications.store import recent_events, save_preferences
from sla.domain.lifecycle import Answer
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message
from tools.smtp import SmtpServer
from tools.telegram_fake import FakeTelegram

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Moscow
LATE = T0 + timedelta(days=20)  # both deadlines of an incident opened at T0 are long past
TOKEN = "123456:test-token"
OURS, THEIRS = "1001", "2002"  # the chats the fake knows


class MovingClock:
    """The process clock: kernel/clock.py's Clock, set by the test to a moment of its choosing."""

    def __init__(self, at: datetime) -> None:
        self.to(at)

    def to(self, at: datetime) -> None:
        self._clock = Clock.starting_at(at)

    def __call__(self) -> datetime:
        return self._clock()


@dataclass
class World:
    context: SlaContext
    clock: MovingClock
    settings: Settings


@pytest.fixture
async def world(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[World]:
    clock = MovingClock(T0)
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics(), clock=clock)
    yield World(context, clock, settings)
    await context.db.close()


async def person(world: World, login: str, municipality: str, chosen: Preferences) -> None:
    async with world.context.db.transaction() as connection:
        await add_user(
            connection, login=login, password="длинный-пароль-1", role=Role.MODERATOR,
            display_name=login, scope=Scope(municipalities=frozenset({municipality})),
        )  # fmt: skip
        await save_preferences(connection, login, chosen, T0)


async def overdue(world: World, *items: int) -> list[str]:
    """Incidents opened at T0 whose deadlines LATE has passed; returns their municipalities."""
    for item in items:
        await world.context.service.on_classified(classified(raw_message(item)))
    world.clock.to(LATE)
    assert await world.context.service.watch_deadlines() == 4 * len(items)  # 2 warned, 2 late
    async with world.context.db.engine.connect() as connection:
        return list(await connection.scalars(select(incidents.c.municipality)))


async def rows(world: World) -> list[tuple[object, ...]]:
    async with world.context.db.engine.connect() as connection:
        found = await connection.execute(
            select(
                notifications.c.login, notifications.c.kind, notifications.c.channel,
                notifications.c.status, notifications.c.attempts, notifications.c.last_error,
            ).order_by(notifications.c.login, notifications.c.channel)
        )  # fmt: skip
        return [tuple(row) for row in found]


def notifier(
    world: World,
    smtp: SmtpServer | None,
    telegram: FakeTelegram,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Notifier:
    """As `otklik sla` makes one from its settings (a new one: a restarted process)."""
    settings = world.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1" if smtp else None, "smtp_port": smtp.port if smtp else 25,
            "smtp_from": "otklik@city.example", "telegram_api": telegram.api,
            "telegram_token_secret": "telegram", "secrets": {"telegram": SecretStr(TOKEN)},
        }
    )  # fmt: skip
    return notifier_for(
        world.context.db, world.context.policy, world.clock, settings, sleep,
        metrics=world.context.metrics,
    )  # fmt: skip


def counted(world: World, channel: str, result: str) -> float | None:
    return world.context.metrics.registry.get_sample_value(
        "otklik_notifications_total", {"channel": channel, "result": result}
    )


async def test_an_overdue_incident_reaches_the_moderator_in_scope_once(world: World) -> None:
    municipality = (await overdue(world, 1))[0]
    elsewhere = next(m for m in world.context.policy.municipality_names() if m != municipality)
    only_overdue = ["overdue"]
    await person(world, "ours", municipality, Preferences(
        email="ours@city.example", telegram_chat=OURS, kinds=only_overdue))  # fmt: skip
    await person(world, "theirs", elsewhere, Preferences(
        email="theirs@city.example", telegram_chat=THEIRS))  # fmt: skip
    with SmtpServer() as smtp, FakeTelegram(TOKEN, chats={OURS, THEIRS}) as telegram:
        sending = notifier(world, smtp, telegram)
        # Two overdue events (the first response's and the final answer's): one notification.
        assert await sending.plan() == 2
        assert await sending.send_due() == 2
        assert [(m.recipients, m.subject) for m in smtp.received] == [
            (("ours@city.example",), "Отклик: TES-2026-000001 — срок ответа пропущен")
        ]
        assert [m.chat_id for m in telegram.sent] == [OURS]
        assert "TES-2026-000001: срок ответа пропущен — testgrad — housing — срок " in (
            telegram.sent[0].text
        )
        assert await rows(world) == [
            ("ours", "overdue", "email", "sent", 1, None),
            ("ours", "overdue", "telegram", "sent", 1, None),
        ]

        # Again, and as a restarted process, a day later: nothing more.
        assert await sending.plan() == 0 and await sending.send_due() == 0
        world.clock.to(LATE + timedelta(days=1))
        restarted = notifier(world, smtp, telegram)
        assert await restarted.plan() == 0 and await restarted.send_due() == 0
        assert len(smtp.received) == 1 and telegram.requests == 1
    assert counted(world, "email", "sent") == counted(world, "telegram", "sent") == 1


async def test_a_digest_user_gets_one_message_at_their_hour_listing_both(world: World) -> None:
    municipality = (await overdue(world, 1, 2))[0]  # LATE: 21 September, 17:00 in Vladivostok
    await person(world, "digest", municipality, Preferences(
        telegram_chat=OURS, kinds=["overdue"], digest=True, digest_hour=2,
        timezone="Asia/Vladivostok"))  # fmt: skip
    with FakeTelegram(TOKEN, chats={OURS}) as telegram:
        sending = notifier(world, None, telegram)
        assert await sending.plan() == 2
        assert await sending.send_due() == 0  # not before 02:00 in Vladivostok
        world.clock.to(datetime(2026, 9, 21, 15, 59, tzinfo=UTC))  # 01:59 there
        assert await sending.send_due() == 0 and telegram.requests == 0
        world.clock.to(datetime(2026, 9, 21, 16, 0, tzinfo=UTC))  # 02:00 on the 22nd there
        assert await sending.send_due() == 1
        assert await sending.plan() == 0 and await sending.send_due() == 0
    [message] = telegram.sent
    assert message.text.startswith("Отклик: сводка за 22.09.2026 (2)")
    assert "• TES-2026-000001: срок ответа пропущен" in message.text
    assert "• TES-2026-000002: срок ответа пропущен" in message.text
    assert [status for *_, status, _, _ in await rows(world)] == ["sent", "sent"]


async def test_flood_control_is_waited_out_as_telegram_asks(world: World) -> None:
    municipality = (await overdue(world, 1))[0]
    await person(world, "ours", municipality, Preferences(telegram_chat=OURS, kinds=["overdue"]))
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    with FakeTelegram(TOKEN, chats={OURS}) as telegram:
        telegram.flood(retry_after=3)
        sending = notifier(world, None, telegram, sleep=sleep)
        await sending.plan()
        assert await sending.send_due() == 1
    assert waited == [3.0]
    assert telegram.requests == 2 and [m.chat_id for m in telegram.sent] == [OURS]
    assert await rows(world) == [("ours", "overdue", "telegram", "sent", 1, None)]


async def test_an_unknown_chat_is_marked_failed_with_the_reason_and_left(world: World) -> None:
    municipality = (await overdue(world, 1))[0]
    await person(world, "ours", municipality, Preferences(telegram_chat="777", kinds=["overdue"]))
    with FakeTelegram(TOKEN, chats={OURS}) as telegram:
        sending = notifier(world, None, telegram)
        await sending.plan()
        assert await sending.send_due() == 0
        assert await rows(world) == [
            ("ours", "overdue", "telegram", "failed", 1, "Bad Request: chat not found")
        ]
        world.clock.to(LATE + timedelta(days=2))  # past any backoff: still not tried again
        assert await sending.send_due() == 0
        assert telegram.requests == 1
    assert counted(world, "telegram", "failed") == 1 and counted(world, "telegram", "sent") is None


async def test_an_answer_vk_refused_is_told_too(world: World) -> None:
    service = world.context.service
    await service.on_classified(classified(raw_message(1)))
    async with world.context.db.engine.connect() as connection:
        incident_id, municipality = (
            await connection.execute(select(incidents.c.incident_id, incidents.c.municipality))
        ).one()
    await service.claim(incident_id, "ours", timedelta(minutes=30))
    answered = await service.act(incident_id, Answer("ours", "Трубу починят до пятницы"))
    attempt = f"{incident_id}:{answered.seq}"
    await service.on_delivery(
        AnswerDelivery(
            incident_id=incident_id, answer_event_id=attempt, attempt_id=attempt, posted=False,
            reason="ВКонтакте отказал: доступ запрещён", retryable=True,
            at=T0 + timedelta(minutes=5),
        )
    )  # fmt: skip
    await person(world, "ours", municipality, Preferences(telegram_chat=OURS))
    with FakeTelegram(TOKEN, chats={OURS}) as telegram:
        sending = notifier(world, None, telegram)
        assert await sending.plan() == 1
        assert await sending.send_due() == 1
    assert (
        "TES-2026-000001: ответ не доставлен во ВКонтакте (ВКонтакте отказал: доступ запрещён)"
        in telegram.sent[0].text
    )
    assert await rows(world) == [("ours", "answer_failed", "telegram", "sent", 1, None)]


async def test_each_round_reads_the_notified_events_through_their_index(world: World) -> None:
    """With sequential scans priced out (a test database is too small for the planner to bother),
    the round's query reads incident_events through the kinds' partial index, not the whole
    history (migration 0016)."""
    sql = str(
        recent_events(T0).compile(
            dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
    )
    async with world.context.db.engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN {sql}")))
    assert "ix_incident_events_notified" in plan, plan
