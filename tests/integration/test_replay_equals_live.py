"""Property: a history loaded with `otklik replay` gives the same incidents and the same monthly
indicator inputs as the same history lived through the live handlers, driven by a fake clock
set to each event's time (on a real PostgreSQL, a database per path).

The histories are random but legal: a small model of the lifecycle below chooses each next event
among those the lifecycle allows, with lags in routing, intermediate replies, reassignments
across municipalities and months, reopenings, and deletions and restorations at the source (also
where the lifecycle ignores them: both paths must ignore them alike). Derandomised, so a run is
reproducible; the number of examples is in ``EXAMPLES``."""

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from kernel.contracts.categories import Category
from kernel.contracts.classification import ClassifiedMessage, Decision, Sentiment
from kernel.contracts.messages import Author, Channel, MessageAction, RawMessage, SourceKind
from kernel.db.engine import Database, open_database
from kernel.db.migrate import upgrade
from kernel.db.schema import incidents
from kernel.observability import Metrics
from kernel.settings import Settings
from sla.domain.lifecycle import Answer, Close, Command, Reassign, Reject, Reopen
from sla.domain.policy import SlaPolicy, load_policy
from sla.replay import replay_history
from sla.service import IncidentService
from sla.storage import repository
from sla.storage.aggregation import month_inputs
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration

EXAMPLES = 60
MSK = ZoneInfo("Europe/Moscow")
START = datetime(2026, 8, 24, 8, 0, tzinfo=MSK)
MONTH_ENDS = [datetime(2026, month, 26, 8, 0, tzinfo=MSK) for month in (8, 9, 10, 11)]
MUNICIPALITIES = ("severogorsk", "zarechny")
PLACES = [(m, d) for m in MUNICIPALITIES for d in (None, "ЖКХ", "Транспорт")]
MONTHS = ("2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
_KINDS = {
    "vk": SourceKind.VK_COMMENT,
    "web": SourceKind.APPEAL_WEB,
    "email": SourceKind.APPEAL_EMAIL,
}
TABLES = "messages, message_authors, message_revisions, incidents, incident_events, outbox, "
TABLES += "moderator_labels, indicator_values"
COMPARED = (
    "message_id", "status", "municipality", "department", "category", "assigned_at",
    "first_response_due", "final_answer_due", "first_response_at", "final_answer_at",
    "closed_at", "on_time",
)  # fmt: skip


def policy(restarts: bool) -> SlaPolicy:
    return load_policy(
        f"""
version: property
defaults: {{timezone: Europe/Moscow, working_hours: "09:00-18:00",
           reassignment_restarts_clock: {str(restarts).lower()}}}
municipalities:
  severogorsk: {{name: Северогорск}}
  zarechny: {{name: Заречный, working_hours: "08:00-17:00", timezone: Asia/Yekaterinburg}}
rules:
  - match: {{channel: vk}}
    first_response: {{working_hours: 8}}
    final_answer: {{working_days: 7}}
  - match: {{}}
    first_response: {{working_days: 1}}
    final_answer: {{calendar_days: 30}}
"""
    )


@dataclass
class Event:
    at: datetime
    event: str
    message_id: str
    fields: dict[str, Any] = field(default_factory=dict)

    def line(self) -> bytes:
        body = {"at": self.at.isoformat(), "event": self.event, "message_id": self.message_id}
        return json.dumps({**body, **self.fields}, ensure_ascii=False).encode()


# The lifecycle as the generator sees it: state -> the events allowed in it -> the next state.
# "assigned" stands for assigned, in work and reopened; "intermediate" for answered without a
# final answer; deletions and restorations are drawn anywhere (the lifecycle ignores most).
_NEXT: dict[str, dict[str, str]] = {
    "assigned": {
        "claimed": "assigned", "intermediate": "intermediate", "final": "final",
        "rejected": "rejected", "reassigned": "assigned",
    },
    "intermediate": {"intermediate": "intermediate", "final": "final", "reassigned": "assigned"},
    "final": {"closed": "closed", "reopened": "assigned"},
    "closed": {"reopened": "assigned"},
    "rejected": {},
    "deleted": {},
}  # fmt: skip
_DELETABLE = {"assigned", "intermediate", "final"}


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for number in range(draw(st.integers(1, 6))):
        message_id = f"h{number}"
        # Written in the last days of a month, so that lags, answers and reassignments cross
        # into the next one.
        at = draw(st.sampled_from(MONTH_ENDS)) + timedelta(minutes=draw(st.integers(0, 7200)))
        municipality = draw(st.sampled_from(MUNICIPALITIES))
        incident = draw(st.booleans()) or draw(st.booleans())
        # The live classifier always gives a sentiment; a history may not know it.
        sentiments = ["negative", "neutral", "positive"] + ([] if incident else [None])
        events.append(
            Event(
                at,
                "message",
                message_id,
                {
                    "channel": draw(st.sampled_from(sorted(_KINDS))),
                    "municipality": municipality,
                    "text": f"Обращение {number}",
                    "sentiment": draw(st.sampled_from(sentiments)),
                },
            )
        )
        if not incident:
            continue
        at += timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))  # routing lags
        department = draw(st.sampled_from((None, "ЖКХ")))
        category = draw(st.sampled_from([c.value for c in Category]))
        events.append(
            Event(at, "assigned", message_id, {"category": category, "department": department})
        )
        events += _lifecycle(draw, message_id, at, (municipality, department))
    return events


def _lifecycle(
    draw: st.DrawFn, message_id: str, at: datetime, place: tuple[str, str | None]
) -> list[Event]:
    events: list[Event] = []
    state, before_deletion, finally_answered = "assigned", "assigned", False
    for _ in range(draw(st.integers(0, 7))):
        if state == "rejected":
            break
        at += timedelta(minutes=draw(st.integers(1, 6 * 24 * 60)))
        step = _next_step(draw, state)
        if step == "source_deleted":
            events.append(Event(at, step, message_id))
            if state in _DELETABLE:
                state, before_deletion = "deleted", state
            continue
        if step == "source_restored":
            events.append(Event(at, step, message_id))
            state = before_deletion if state == "deleted" else state
            continue
        name, fields, place = _moderator_step(draw, step, place)
        events.append(Event(at, name, message_id, fields))
        state = _NEXT[state][step]
        # An intermediate reply after a reopening leaves the incident where it was.
        state = "assigned" if state == "intermediate" and finally_answered else state
        finally_answered = finally_answered or step == "final"
    return events


def _next_step(draw: st.DrawFn, state: str) -> str:
    """Reassignments twice as likely (the rule the paths used to disagree on); deletions and
    restorations at the source now and then, in any state."""
    choices = sorted(_NEXT[state])
    choices += ["reassigned"] if "reassigned" in choices else []
    if not choices or draw(st.integers(0, 5)) == 0:
        choices = ["source_deleted", "source_restored"]
    return draw(st.sampled_from(choices))


def _moderator_step(
    draw: st.DrawFn, step: str, place: tuple[str, str | None]
) -> tuple[str, dict[str, Any], tuple[str, str | None]]:
    """The history event of a moderator's step, and where the incident is after it."""
    if step in ("intermediate", "final"):
        text = "Взяли в работу" if step == "intermediate" else "Сделано"
        return "answered", {"actor": "anna", "text": text, "final": step == "final"}, place
    if step in ("rejected", "reopened"):
        return step, {"actor": "anna", "reason": "причина"}, place
    if step == "reassigned":
        place = draw(st.sampled_from([p for p in PLACES if p != place]))
        fields = {"actor": "boss", "municipality": place[0], "department": place[1]}
        return step, {**fields, "reason": "не наш"}, place
    return step, {"actor": "anna"}, place


class LivePath:
    """The live handlers: messages as the classifier hands them over, moderators' commands as
    the web app sends them, deletions as VK reports them; the clock is each event's time."""

    def __init__(self, db: Database, sla_policy: SlaPolicy) -> None:
        self.now = START
        self.service = IncidentService(db, sla_policy, Metrics(), lambda: self.now)
        self.messages: dict[str, RawMessage] = {}
        self.decisions: dict[str, Decision | None] = {}

    async def run(self, events: list[Event]) -> None:
        routed = {e.message_id for e in events if e.event == "assigned"}
        for event in sorted(events, key=lambda e: (e.at, e.event != "message")):
            self.now = event.at
            await self._apply(event, event.message_id in routed)

    async def _apply(self, event: Event, routed: bool) -> None:
        fields, message_id = event.fields, event.message_id
        if event.event == "message":
            self.messages[message_id] = _raw(event)
            sentiment = fields["sentiment"]
            self.decisions[message_id] = None if sentiment is None else Decision(
                is_incident=False, score=0.1, threshold=0.5, sentiment=Sentiment(sentiment),
                model_version="live",
            )  # fmt: skip
            if not routed:  # classified at once; an incident's message when it is routed
                await self._classified(self.messages[message_id], self.decisions[message_id])
            return
        if event.event == "assigned":
            before = self.decisions[message_id]
            assert before is not None
            decision = before.model_copy(
                update={
                    "is_incident": True,
                    "category": fields["category"],
                    "department": fields["department"],
                }
            )
            await self._classified(self.messages[message_id], decision)
            return
        if event.event in ("source_deleted", "source_restored"):
            action = MessageAction.DELETED if event.event == "source_deleted" else "restored"
            change = self.messages[message_id].model_copy(
                update={
                    "action": MessageAction(action),
                    "created_at": event.at,
                    "source_event_id": f"{event.event}@{event.at.isoformat()}",
                }
            )
            await self._classified(change, None)
            return
        incident_id = repository.incident_id_for(message_id)
        if event.event == "claimed":
            await self.service.claim(incident_id, fields["actor"], timedelta(0))
            return
        await self.service.act(incident_id, _command(event), override_claim=True)

    async def _classified(self, message: RawMessage, decision: Decision | None) -> None:
        await self.service.on_classified(ClassifiedMessage(message=message, decision=decision))


def _raw(event: Event) -> RawMessage:
    channel = event.fields["channel"]
    return RawMessage(
        message_id=event.message_id,
        source_kind=_KINDS[channel],
        channel=Channel(channel),
        source_id=f"history:{channel}",
        thread_key=f"history:{event.message_id}",
        author=Author(ref="resident"),
        text=event.fields["text"],
        created_at=event.at,
        municipality=event.fields["municipality"],
        received_at=event.at,
    )


def _command(event: Event) -> Command:
    fields = event.fields
    match event.event:
        case "answered":
            return Answer(fields["actor"], fields["text"], fields["final"])
        case "rejected":
            return Reject(fields["actor"], fields["reason"])
        case "reassigned":
            municipality, department = fields["municipality"], fields["department"]
            return Reassign(fields["actor"], municipality, department, fields["reason"])
        case "closed":
            return Close(fields["actor"])
        case _:
            return Reopen(fields["actor"], fields["reason"])


async def _state(
    db: Database, sla_policy: SlaPolicy
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every incident (compared columns) and every municipality-month's indicator inputs."""
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(*(incidents.c[name] for name in COMPARED)).order_by(incidents.c.message_id)
        )
        found = [dict(row._mapping) for row in rows]
        inputs = {
            f"{m}:{month}": await month_inputs(connection, m, month, sla_policy.timezone(m))
            for m in MUNICIPALITIES
            for month in MONTHS
        }
    return found, inputs


@pytest.fixture
def two_databases(
    postgres_base_url: str, settings_factory: SettingsFactory
) -> tuple[Settings, Settings]:
    """Two migrated databases for all the examples of a test (emptied before each)."""
    made = []
    for _ in range(2):
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_base_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = make_url(postgres_base_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        made.append(settings_factory(database_url=url))
    return made[0], made[1]


async def _compare(
    databases: tuple[Settings, Settings], history: list[Event], restarts: bool
) -> None:
    sla_policy = policy(restarts)
    replayed, lived = open_database(databases[0]), open_database(databases[1])
    try:
        for db in (replayed, lived):
            async with db.transaction() as connection:
                # CASCADE: and whatever refers to them (the notifications outbox)
                await connection.execute(text(f"TRUNCATE {TABLES} CASCADE"))
        replay_service = IncidentService(replayed, sla_policy, Metrics(), lambda: START)
        await replay_history(replayed, replay_service, [e.line() for e in history])
        await LivePath(lived, sla_policy).run(history)
        by_replay = await _state(replayed, sla_policy)
        by_live = await _state(lived, sla_policy)
        assert by_replay[0] == by_live[0]
        assert by_replay[1] == by_live[1]
        assert len(by_replay[0]) == len({e.message_id for e in history if e.event == "assigned"})
    finally:
        await replayed.close()
        await lived.close()


@pytest.mark.parametrize("restarts", [False, True], ids=["clock-kept", "clock-restarts"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_replay_and_live_traffic_give_the_same_incidents_and_indicators(
    two_databases: tuple[Settings, Settings], restarts: bool, history: list[Event]
) -> None:
    asyncio.run(_compare(two_databases, history, restarts))
