"""The SLA service on a real PostgreSQL: exactly-once storage, incidents, answers, deletions."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.messages import (
    MessageAction,
    RawMessage,
    SourceKind,
    vk_message_id,
    vk_thread_key,
)
from kernel.db.schema import incident_events, incidents, message_revisions, messages, outbox
from kernel.observability import Metrics
from sla.domain.lifecycle import Incident, Reject
from sla.service import IncidentNotFoundError
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import GROUP, classified, raw_message

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Moscow


@pytest.fixture
async def sla(settings_factory: SettingsFactory, database_url: str) -> AsyncIterator[SlaContext]:
    context = await open_sla(
        settings_factory(database_url=database_url),
        Metrics(),
        clock=lambda: T0 + timedelta(days=30),
    )
    yield context
    await context.db.close()


async def count(context: SlaContext, table: object) -> int:
    async with context.db.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def test_redelivered_message_is_stored_once_and_opens_one_incident(sla: SlaContext) -> None:
    message = classified(raw_message(1))
    for _ in range(3):
        await sla.service.on_classified(message)
    assert await count(sla, messages) == 1
    assert await count(sla, incidents) == 1
    assert await count(sla, incident_events) == 2  # opened, assigned
    assert await count(sla, outbox) == 2


async def test_an_incident_the_caller_may_not_act_on_does_not_exist_for_them(
    sla: SlaContext,
) -> None:
    """``admit`` is asked on the locked incident (the web's scope), and a refusal changes
    nothing."""
    await sla.service.on_classified(classified(raw_message(1)))
    async with sla.db.engine.connect() as connection:
        incident_id = str(await connection.scalar(select(incidents.c.incident_id)))
    seen: list[str] = []

    def elsewhere(incident: Incident) -> bool:
        seen.append(incident.municipality)
        return False

    with pytest.raises(IncidentNotFoundError):
        await sla.service.act(incident_id, Reject("anna", "реклама"), admit=elsewhere)
    assert seen == ["testgrad"]
    assert await count(sla, incident_events) == 2  # opened, assigned: nothing more


async def test_non_incident_is_stored_without_incident(sla: SlaContext) -> None:
    await sla.service.on_classified(classified(raw_message(1, text="Спасибо!"), incident=False))
    assert (await count(sla, messages), await count(sla, incidents)) == (1, 0)


async def test_official_reply_answers_the_incident_on_time(sla: SlaContext) -> None:
    await sla.service.on_classified(classified(raw_message(1)))
    reply = raw_message(
        2, text="Здравствуйте! Водоснабжение восстановлено.", created_at=T0 + timedelta(hours=2),
        author_id=-210000001, official=True, reply_to=1,
    )  # fmt: skip
    await sla.service.on_classified(classified(reply))
    await sla.service.on_classified(classified(reply))
    async with sla.db.engine.connect() as connection:
        row = (await connection.execute(select(incidents))).one()
    assert row.status == "answered"
    assert row.final_answer_at == T0 + timedelta(hours=2)
    assert row.on_time is True
    assert row.policy_version is not None


async def test_deleted_comment_keeps_history_and_marks_the_incident(sla: SlaContext) -> None:
    created = raw_message(1)
    await sla.service.on_classified(classified(created))
    deleted = created.model_copy(
        update={"action": MessageAction.DELETED, "text": "", "created_at": T0 + timedelta(hours=1)}
    )
    await sla.service.on_classified(classified(deleted))
    await sla.service.on_classified(classified(deleted))
    async with sla.db.engine.connect() as connection:
        status = await connection.scalar(select(incidents.c.status))
        text = await connection.scalar(select(messages.c.text))
    assert status == "source_deleted"
    assert text == "Нет воды"  # the original text stays: history is kept
    assert await count(sla, message_revisions) == 2


async def test_deadline_watcher_catches_up_exactly_once_across_restarts(
    settings_factory: SettingsFactory, database_url: str
) -> None:
    settings = settings_factory(database_url=database_url)
    now = [T0]
    context = await open_sla(settings, Metrics(), clock=lambda: now[0])
    await context.service.on_classified(classified(raw_message(1)))
    assert await context.service.watch_deadlines() == 0
    now[0] = T0 + timedelta(days=20)  # the watcher was down for weeks
    assert await context.service.watch_deadlines() == 4
    assert await context.service.watch_deadlines() == 0
    await context.db.close()
    restarted = await open_sla(settings, Metrics(), clock=lambda: now[0])
    assert await restarted.service.watch_deadlines() == 0
    async with restarted.db.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(incident_events.c.type, incident_events.c.at, incident_events.c.data)
                .where(incident_events.c.type.in_(["deadline_warning", "overdue"]))
                .order_by(incident_events.c.seq)
            )
        ).all()
        flags = (await connection.execute(select(incidents))).one()
    await restarted.db.close()
    assert [(r.type, r.data["clock"]) for r in rows] == [
        ("deadline_warning", "first_response"), ("overdue", "first_response"),
        ("deadline_warning", "final_answer"), ("overdue", "final_answer"),
    ]  # fmt: skip
    assert rows[1].at == flags.first_response_due  # timed when due, not when noticed
    assert flags.overdue_first_response and flags.overdue_final_answer


async def events_of(connection: AsyncConnection, *types: str) -> list[Row[Any]]:
    """The incidents' events of these types, in the order they were recorded."""
    query = select(incident_events).where(incident_events.c.type.in_(types))
    return list((await connection.execute(query.order_by(incident_events.c.seq))).all())


def dialog_message(item: int, text: str, at: datetime, *, city: bool = False) -> RawMessage:
    """A message of the resident's dialog with the community (VK's peer 55)."""
    return raw_message(item, text=text, created_at=at, official=city).model_copy(
        update={
            "message_id": vk_message_id(SourceKind.VK_MESSAGE, -GROUP, 55, item),
            "source_kind": SourceKind.VK_MESSAGE,
            "thread_key": vk_thread_key(SourceKind.VK_MESSAGE, -GROUP, 55),
        }
    )


async def status_of(sla: SlaContext) -> dict[str, tuple[str, datetime | None, datetime | None]]:
    async with sla.db.engine.connect() as connection:
        rows = await connection.execute(select(incidents))
        return {r.message_id: (r.status, r.first_response_at, r.final_answer_at) for r in rows}


async def test_the_communitys_reply_in_a_dialog_answers_what_the_resident_wrote_before(
    sla: SlaContext,
) -> None:
    first = dialog_message(1, "Нет воды третий день", T0)
    second = dialog_message(2, "И отопление не работает", T0 + timedelta(minutes=5))
    for message in (first, second):
        await sla.service.on_classified(classified(message))
    working = dialog_message(3, "Взяли в работу", T0 + timedelta(hours=1), city=True)
    await sla.service.on_classified(classified(working))
    later = dialog_message(4, "А свет?", T0 + timedelta(hours=2))
    await sla.service.on_classified(classified(later))
    answer = dialog_message(5, "Воду дали, отопление включат завтра", T0 + timedelta(hours=3),
                            city=True)  # fmt: skip
    await sla.service.on_classified(classified(answer))
    await sla.service.on_classified(classified(answer))  # redelivered: nothing more
    statuses = await status_of(sla)
    hour, three = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    assert statuses[first.message_id] == ("answered", hour, three)
    assert statuses[second.message_id] == ("answered", hour, three)
    # Written after the intermediate reply: only the final answer reached it.
    assert statuses[later.message_id] == ("answered", three, three)


async def test_a_top_level_community_comment_under_a_residents_post_answers_the_post(
    sla: SlaContext,
) -> None:
    comment = raw_message(1)  # under post 1 of the group
    post = comment.model_copy(
        update={
            "message_id": vk_message_id(SourceKind.VK_WALL, -GROUP, 1, 0),
            "source_kind": SourceKind.VK_WALL,
            "text": "Во дворе дома 5 прорвало трубу",
        }
    )
    await sla.service.on_classified(classified(post))
    await sla.service.on_classified(classified(comment))
    city = raw_message(
        9, text="Аварийная бригада выехала, воду дадут к вечеру", official=True,
        created_at=T0 + timedelta(hours=2), author_id=-GROUP,
    )  # fmt: skip
    await sla.service.on_classified(classified(city))
    statuses = await status_of(sla)
    assert statuses[post.message_id][0] == "answered"
    assert statuses[comment.message_id][0] == "assigned"  # not addressed to this comment


async def test_delete_and_restore_cycles_each_apply_once_and_restore_puts_the_incident_back(
    sla: SlaContext,
) -> None:
    """VK sends identical objects for every deletion and restoration of a comment and may send
    one event twice; its event id tells a second cycle from a resent event."""
    created = raw_message(1)
    await sla.service.on_classified(classified(created))
    working = raw_message(2, text="Взяли в работу", official=True, reply_to=1, author_id=-GROUP,
                          created_at=T0 + timedelta(minutes=30))  # fmt: skip
    await sla.service.on_classified(classified(working))

    def event(action: MessageAction, event_id: str, hours: int) -> RawMessage:
        return created.model_copy(
            update={"action": action, "source_event_id": event_id,
                    "created_at": T0 + timedelta(hours=hours),
                    "text": "" if action is MessageAction.DELETED else created.text}
        )  # fmt: skip

    cycles = [
        event(MessageAction.DELETED, "d1", 1), event(MessageAction.DELETED, "d1", 1),  # resent
        event(MessageAction.RESTORED, "r1", 2), event(MessageAction.DELETED, "d2", 3),
        event(MessageAction.RESTORED, "r2", 4), event(MessageAction.RESTORED, "r2", 4),  # resent
    ]  # fmt: skip
    for message in cycles:
        await sla.service.on_classified(classified(message))
    async with sla.db.engine.connect() as connection:
        history = await events_of(connection, "source_deleted", "source_restored")
        row = (
            await connection.execute(
                select(incidents).where(incidents.c.message_id == created.message_id)
            )
        ).one()
        text = await connection.scalar(
            select(messages.c.text).where(messages.c.message_id == created.message_id)
        )
    assert [(h.type, h.status, h.at) for h in history] == [
        ("source_deleted", "source_deleted", T0 + timedelta(hours=1)),
        ("source_restored", "answered", T0 + timedelta(hours=2)),
        ("source_deleted", "source_deleted", T0 + timedelta(hours=3)),
        ("source_restored", "answered", T0 + timedelta(hours=4)),
    ]
    assert row.status == "answered"  # where the intermediate reply had put it
    assert row.first_response_at == T0 + timedelta(minutes=30) and row.final_answer_at is None
    assert text == created.text
    assert await count(sla, message_revisions) == 6  # the two messages and four source events


async def test_the_city_editing_or_deleting_its_answer_in_vk_is_recorded(sla: SlaContext) -> None:
    await sla.service.on_classified(classified(raw_message(1)))
    reply = raw_message(2, text="Бригада выехала", official=True, reply_to=1, author_id=-GROUP,
                        created_at=T0 + timedelta(hours=1))  # fmt: skip
    await sla.service.on_classified(classified(reply))
    edited = reply.model_copy(
        update={"action": MessageAction.EDITED, "text": "Бригада выехала, воду дадут к 18:00",
                "created_at": T0 + timedelta(hours=2), "source_event_id": "e1"}
    )  # fmt: skip
    deleted = reply.model_copy(
        update={"action": MessageAction.DELETED, "text": "",
                "created_at": T0 + timedelta(hours=3), "source_event_id": "d1"}
    )  # fmt: skip
    for message in (edited, edited, deleted):
        await sla.service.on_classified(classified(message))
    async with sla.db.engine.connect() as connection:
        history = await events_of(connection, "answer_edited", "answer_deleted")
        row = (await connection.execute(select(incidents))).one()
    assert [(h.type, h.at, h.data.get("text")) for h in history] == [
        ("answer_edited", T0 + timedelta(hours=2), "Бригада выехала, воду дадут к 18:00"),
        ("answer_deleted", T0 + timedelta(hours=3), None),
    ]
    assert row.status == "answered"  # the answer was given: its time still counts
    assert row.final_answer_at == T0 + timedelta(hours=1)
