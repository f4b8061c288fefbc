"""SLA service layer: applies classified messages and moderator commands to incidents.

Functional core, imperative shell: load and lock state, ``decide`` and ``apply`` (pure), store the
transitions and put their events in the outbox — all in one database transaction.
"""

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.answer_delivery import AnswerDelivery
from kernel.contracts.classification import ClassifiedMessage, Decision
from kernel.contracts.incidents import EventType
from kernel.contracts.messages import MessageAction, RawMessage, SourceKind, vk_thread_root_id
from kernel.db.engine import Database
from kernel.observability import Metrics
from sla.domain.answer_delivery import delivery_reported, retried
from sla.domain.deadlines import clock_start, deadline_events
from sla.domain.labels import moderator_label
from sla.domain.lifecycle import (
    Answer,
    AnswerChanged,
    Assign,
    Claim,
    Command,
    IllegalTransitionError,
    Incident,
    Reassign,
    SourceDeleted,
    SourceRestored,
    Transition,
    apply_all,
    check_claim,
    decide,
    opened,
)
from sla.domain.notes import Note, noted
from sla.domain.on_time import Deadlines
from sla.domain.replies import is_intermediate_reply
from sla.storage import repository
from sla.storage.answer_deliveries import answer_deliveries

log = logging.getLogger(__name__)


class DeadlinePolicy(Protocol):
    @property
    def reassignment_restarts_clock(self) -> bool:
        """Whether a reassignment starts new deadlines (a policy decision, see docs)."""

    @property
    def warning_lead(self) -> timedelta:
        """How long before a deadline the watcher warns."""

    def deadlines(
        self, *, channel: str, category: str | None, municipality: str, start: datetime
    ) -> Deadlines:
        """Deadlines of an incident assigned at ``start``."""

    def timezone(self, municipality: str) -> tzinfo:
        """The municipality's zone: the year of its incidents' numbers is the one there."""

    def require_municipality(self, municipality: str) -> str:
        """``municipality`` if the policy knows it, else UnknownIdError."""

    def require_department(self, department: str | None) -> str | None:
        """``department`` if known, else UnknownIdError."""


# Metric updates of the transaction in progress (of this task), applied after its commit.
_PENDING_METRICS: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "pending_metrics", default=None
)


class IncidentNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class Opening:
    """What opening (and assigning) the incident of a stored message takes."""

    message_id: str
    channel: str
    category: str | None
    municipality: str
    department: str | None
    start: datetime  # when its deadlines start: the resident's message
    data: dict[str, str | int | float | bool | None]
    actor: str = "router"
    assign: bool = True  # False: opened only (a history's rejection before any routing)


class IncidentService:
    def __init__(
        self,
        db: Database,
        policy: DeadlinePolicy,
        metrics: Metrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._policy = policy
        self._metrics = metrics
        self._clock = clock

    @property
    def policy(self) -> DeadlinePolicy:
        return self._policy

    async def on_classified(self, classified: ClassifiedMessage) -> None:
        """Store the message exactly once and open, answer or close the incident it concerns."""
        await self.on_classified_batch([classified])

    async def on_classified_batch(self, batch: Sequence[ClassifiedMessage]) -> None:
        """The same as ``on_classified`` of each in order, in one transaction: all or nothing.

        New messages that open an incident or nothing (the bulk of a stream) are written a few
        statements for the whole run of them; an official reply, an edit or a deletion first
        writes the run before it, then is applied on its own, so it sees what came before it.
        """
        async with self._transaction() as connection:
            run: list[ClassifiedMessage] = []
            for classified in batch:
                message = classified.message
                if message.action is MessageAction.CREATED and not _is_official(message):
                    run.append(classified)
                    continue
                await self._store_new(connection, run)
                run = []
                await self._apply_one(connection, classified)
            await self._store_new(connection, run)

    async def _store_new(
        self, connection: AsyncConnection, run: Sequence[ClassifiedMessage]
    ) -> None:
        """Store created messages; open the incidents of those newly stored and flagged."""
        new = await repository.insert_messages(connection, [(c.message, c.decision) for c in run])
        openings = []
        for classified in run:
            message, decision = classified.message, classified.decision
            if message.message_id not in new:
                continue  # redelivered: already applied
            new.discard(message.message_id)  # a second copy in the same run is a redelivery
            self._after_commit(
                self._metrics.stored.labels(source_kind=message.source_kind.value).inc
            )
            if decision is not None and decision.is_incident:  # as _on_new_message decides
                openings.append(self._opening_of(message, decision))
        await self._insert_opened(connection, openings)

    async def _apply_one(self, connection: AsyncConnection, classified: ClassifiedMessage) -> None:
        message, decision = classified.message, classified.decision
        if message.action is MessageAction.CREATED or not await repository.message_exists(
            connection, message.message_id
        ):
            if not await repository.insert_message(connection, message, decision):
                return  # redelivered: already applied
            self._after_commit(
                self._metrics.stored.labels(source_kind=message.source_kind.value).inc
            )
            await self._on_new_message(connection, message, decision)
        elif await repository.record_revision(connection, message):
            await repository.apply_source_change(connection, message)
            if message.action is not MessageAction.RESTORED and await repository.is_official(
                connection, message_id=message.message_id
            ):
                await self._on_answer_changed(connection, message)
            elif message.action in (MessageAction.DELETED, MessageAction.RESTORED):
                await self._on_source_change(connection, message)

    async def _on_new_message(
        self, connection: AsyncConnection, message: RawMessage, decision: Decision | None
    ) -> None:
        if _is_official(message):
            for incident in await self._answered_by(connection, message):
                await self._on_official_reply(connection, incident, message)
        elif (
            decision is not None
            and decision.is_incident
            and message.action is not MessageAction.DELETED
        ):
            await self._open(connection, message, decision)

    async def _open(
        self, connection: AsyncConnection, message: RawMessage, decision: Decision
    ) -> None:
        await self._insert_opened(connection, [self._opening_of(message, decision)])

    def _opening_of(
        self, message: RawMessage, decision: Decision
    ) -> tuple[Incident, list[Transition]]:
        # The clock starts when the resident wrote, not when otklik caught up with it.
        start = clock_start(message.created_at, message.received_at, self._clock())
        return self._opening(
            Opening(
                message_id=message.message_id,
                channel=message.channel.value,
                category=decision.category,
                municipality=message.municipality,
                department=decision.department,
                start=start,
                data={"score": decision.score, "model": decision.model_version},
            )
        )

    async def open_in(self, connection: AsyncConnection, opening: Opening) -> Incident | None:
        """Open and assign the incident of a stored message; None if it already exists."""
        opened = await self._insert_opened(connection, [self._opening(opening)])
        return opened[0] if opened else None

    def _opening(self, opening: Opening) -> tuple[Incident, list[Transition]]:
        """The incident of a message once opened and assigned, and the transitions that did it."""
        incident = Incident(
            incident_id=repository.incident_id_for(opening.message_id),
            message_id=opening.message_id,
            channel=opening.channel,
            category=opening.category,
            municipality=opening.municipality,
            department=opening.department,
        )
        deadlines = self._policy.deadlines(
            channel=opening.channel,
            category=opening.category,
            municipality=opening.municipality,
            start=opening.start,
        )
        first = opened("classifier", opening.start, opening.data)
        transitions = [first]
        if opening.assign:
            assign = Assign(opening.actor, deadlines)
            transitions += decide(apply_all(incident, [first]), assign, opening.start)
        return apply_all(incident, transitions), transitions

    async def _insert_opened(
        self, connection: AsyncConnection, openings: Sequence[tuple[Incident, list[Transition]]]
    ) -> list[Incident]:
        """Insert the opened incidents not there yet; returns those inserted."""
        inserted = await repository.insert_opened(
            connection, openings, self._clock(), self._policy.timezone
        )
        done = [(after, ts) for after, ts in openings if after.incident_id in inserted]
        for after, transitions in done:
            self._count(after, after, transitions)  # opening answers nothing: "before" unread
        return [after for after, _ in done]

    async def _answered_by(
        self, connection: AsyncConnection, message: RawMessage
    ) -> list[Incident]:
        """What a message of the administration answers: the message it replies to; else, under
        a resident's post, the post; else, in a dialog, what the resident wrote before it."""
        if message.reply_to is not None:
            replied = await repository.load_incident(connection, message_id=message.reply_to)
            return [] if replied is None else [replied]
        root = vk_thread_root_id(message.thread_key)
        if root is not None and root != message.message_id:
            post = await repository.load_incident(connection, message_id=root)
            return [] if post is None else [post]
        if message.source_kind is SourceKind.VK_MESSAGE:
            return await repository.open_incidents_in_thread(
                connection, thread_key=message.thread_key, written_before=message.created_at
            )
        return []

    async def _on_official_reply(
        self, connection: AsyncConnection, incident: Incident, message: RawMessage
    ) -> None:
        if message.text.strip() in await repository.answer_texts(
            connection, incident_id=incident.incident_id
        ):
            return  # our own answer, posted to VK by otklik, coming back through VK
        actor = message.author.ref if message.author else "official"
        final = not is_intermediate_reply(message.text)
        command = Answer(
            actor, message.text, final=final, from_source=True, source_message=message.message_id
        )
        try:
            transitions = decide(incident, command, message.created_at)
        except IllegalTransitionError as refused:
            log.info("official reply %s not applied: %s", message.message_id, refused)
            return
        await self._save(connection, incident, transitions)

    async def _on_answer_changed(self, connection: AsyncConnection, message: RawMessage) -> None:
        """The city edited or deleted at the source a message that answered incidents."""
        deleted = message.action is MessageAction.DELETED
        change = AnswerChanged(message.message_id, None if deleted else message.text)
        for incident in await repository.incidents_answered_by(
            connection, message_id=message.message_id
        ):
            await self._save(connection, incident, decide(incident, change, message.created_at))

    async def _on_source_change(self, connection: AsyncConnection, message: RawMessage) -> None:
        incident = await repository.load_incident(connection, message_id=message.message_id)
        if incident is None:
            return
        deleted = message.action is MessageAction.DELETED
        try:
            await self.source_changed_in(
                connection, incident, deleted=deleted, at=message.created_at
            )
        except IllegalTransitionError:
            return  # anything else (rejected, closed) is left as it is

    async def source_changed_in(
        self, connection: AsyncConnection, incident: Incident, *, deleted: bool, at: datetime
    ) -> Incident:
        """A deletion takes an open incident out of the queue; a restoration puts back the one
        a deletion took out, as that deletion recorded it. IllegalTransitionError otherwise."""
        command: SourceDeleted | SourceRestored = SourceDeleted()
        if not deleted:
            left = await repository.status_left_by_deletion(
                connection, incident_id=incident.incident_id
            )
            command = SourceRestored(left)
        return await self._save(connection, incident, decide(incident, command, at))

    async def act(
        self,
        incident_id: str,
        command: Command,
        *,
        override_claim: bool = False,
        admit: Callable[[Incident], bool] | None = None,
    ) -> Incident:
        """Apply a moderator's command now; raises IllegalTransitionError when refused, also
        when another moderator holds a live claim (unless a supervisor overrides it).
        ``admit`` decides on the locked incident whether the caller may act on it at all (the
        web's scope: a reassignment committed just before cannot slip past it); refused, the
        incident does not exist for the caller (IncidentNotFoundError)."""
        async with self._transaction() as connection:
            incident = await repository.load_incident(connection, incident_id=incident_id)
            if incident is None or (admit is not None and not admit(incident)):
                raise IncidentNotFoundError(incident_id)
            return await self.act_in(connection, incident, command, self._clock(), override_claim)

    async def act_in(
        self,
        connection: AsyncConnection,
        incident: Incident,
        command: Command,
        now: datetime,
        override_claim: bool = False,
    ) -> Incident:
        """Apply ``command`` at ``now`` to a loaded, locked incident inside ``connection``; a
        verdict on the classification is stored as a label in the same transaction."""
        if not override_claim:
            check_claim(incident, command.actor, now)
        if isinstance(command, Reassign):
            command = self._reassignment(incident, command, now)
        transitions = decide(incident, command, now)
        after = await self._save(connection, incident, transitions)
        label = moderator_label(after, transitions)
        if label is not None:
            await repository.save_label(connection, label)
        return after

    def _reassignment(self, incident: Incident, command: Reassign, now: datetime) -> Reassign:
        """The reassignment to a place the policy knows, with new deadlines from ``now`` when
        the policy restarts the clock: the same for the web, the API and a history."""
        self._policy.require_municipality(command.municipality)
        self._policy.require_department(command.department)
        if not self._policy.reassignment_restarts_clock or command.deadlines is not None:
            return command
        deadlines = self._policy.deadlines(
            channel=incident.channel,
            category=incident.category,
            municipality=command.municipality,
            start=now,
        )
        return replace(command, deadlines=deadlines)

    async def on_delivery(self, report: AnswerDelivery) -> None:
        """Record what became of an answer posted to VK (once: a redelivered report, or one of
        an attempt that is not the answer's latest, records nothing)."""
        async with self._transaction() as connection:
            incident = await repository.load_incident(connection, incident_id=report.incident_id)
            if incident is None:
                log.warning("delivery report of unknown incident %s", report.incident_id)
                return
            known = await answer_deliveries(connection, incident.incident_id)
            transitions = delivery_reported(incident, known, report)
            if transitions:
                await self._save(connection, incident, transitions)

    async def retry_answer(
        self,
        incident_id: str,
        answer_event_id: str,
        actor: str,
        admit: Callable[[Incident], bool] | None = None,
    ) -> Incident:
        """Post a failed answer again, as a new attempt; IllegalTransitionError unless its last
        attempt surely failed. Decided on the locked incident: two clicks make one retry."""
        async with self._transaction() as connection:
            incident = await repository.load_incident(connection, incident_id=incident_id)
            if incident is None or (admit is not None and not admit(incident)):
                raise IncidentNotFoundError(incident_id)
            known = await answer_deliveries(connection, incident_id)
            transition = retried(incident, known.get(answer_event_id), actor, self._clock())
            return await self._save(connection, incident, [transition])

    async def watch_deadlines(self, batch: int = 500) -> int:
        """Emit due warnings and overdue marks (each exactly once); returns how many."""
        now, lead = self._clock(), self._policy.warning_lead
        emitted = 0
        async with self._transaction() as connection:
            for incident in await repository.incidents_with_deadlines_due(
                connection, now, lead, batch
            ):
                transitions = deadline_events(incident, now, lead)
                if transitions:
                    await self._save(connection, incident, transitions)
                    emitted += len(transitions)
        return emitted

    async def note(
        self, incident_id: str, note: Note, admit: Callable[[Incident], bool] | None = None
    ) -> Incident:
        """Record an internal note; whoever holds the claim, the incident stays where it is."""
        async with self._transaction() as connection:
            incident = await repository.load_incident(connection, incident_id=incident_id)
            if incident is None or (admit is not None and not admit(incident)):
                raise IncidentNotFoundError(incident_id)
            return await self._save(connection, incident, [noted(incident, note, self._clock())])

    async def claim(self, incident_id: str, actor: str, lock: timedelta) -> Incident:
        return await self.act(incident_id, Claim(actor, self._clock() + lock))

    async def _save(
        self, connection: AsyncConnection, before: Incident, transitions: list[Transition]
    ) -> Incident:
        after = apply_all(before, transitions)
        await repository.save_transitions(connection, before, after, transitions, self._clock())
        self._count(before, after, transitions)
        return after

    def _count(self, before: Incident, after: Incident, transitions: list[Transition]) -> None:
        def count() -> None:
            for transition in transitions:
                self._metrics.incidents.labels(
                    type=transition.type.value, municipality=after.municipality
                ).inc()
                if transition.type is EventType.ANSWERED and after.assigned_at is not None:
                    self._observe_response(before, after, transition)

        self._after_commit(count)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction whose metrics are counted once it has committed: one rolled back (and
        retried, or handed over one message at a time) is not counted twice."""
        pending: list[Callable[[], None]] = []
        token = _PENDING_METRICS.set(pending)
        try:
            async with self._db.transaction() as connection:
                yield connection
        finally:
            _PENDING_METRICS.reset(token)
        for update in pending:
            update()

    @staticmethod
    def _after_commit(update: Callable[[], None]) -> None:
        """Run ``update`` once the current transaction committed (at once outside one of ours:
        a caller's transaction, as the history replay's, counts as it goes)."""
        pending = _PENDING_METRICS.get()
        if pending is None:
            update()
        else:
            pending.append(update)

    def _observe_response(self, before: Incident, after: Incident, transition: Transition) -> None:
        assert after.assigned_at is not None
        elapsed = (transition.at - after.assigned_at).total_seconds()
        place = {"municipality": after.municipality, "department": after.department or "none"}
        if before.first_response_at is None:
            self._metrics.first_response.labels(**place).observe(elapsed)
        if transition.data.get("final"):
            self._metrics.final_answer.labels(**place).observe(elapsed)


def _is_official(message: RawMessage) -> bool:
    return message.author is not None and message.author.is_official
