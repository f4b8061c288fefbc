"""Moderator queue API: list, detail, claim, answer, reject, reassign, category, close, reopen,
restore, bulk; answers' delivery to VK and its retry.
Views translate HTTP to service calls and nothing else. Each works within the user's reach: the
list leaves out what lies outside it, and an incident outside it is 404 as a missing one
(``incident_in_reach``, before every action)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, ValidationError

from kernel.contracts.categories import Category
from kernel.contracts.incidents import Status
from kernel.contracts.messages import Channel
from services.auth.roles import Action, can
from services.auth.store import User
from services.web.api_reply_templates import all_templates
from services.web.mentions import enabled_users
from services.web.security import (
    INCIDENT_NOT_FOUND,
    WebState,
    incident_in_reach,
    reach_of,
    requires,
    web_state,
)
from services.web.templates_store import ReplyTemplate
from services.web.validation import Offset, error_responses
from sla.domain.answer_delivery import DeliveryState, vk_deliveries
from sla.domain.calendar import CalendarYearMissingError
from sla.domain.lifecycle import (
    Answer,
    Claim,
    Close,
    Command,
    IllegalTransitionError,
    Incident,
    Reassign,
    Recategorise,
    Reject,
    Reopen,
    Restore,
)
from sla.domain.numbers import with_number
from sla.domain.policy import UnknownIdError
from sla.domain.reply_placeholders import unfilled_refusal
from sla.service import IncidentNotFoundError
from sla.storage.numbers import incident_id_of
from sla.storage.queue import QueueFilter, list_incidents

router = APIRouter(prefix="/api")
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
State = Annotated[WebState, Depends(web_state)]
Reader = Annotated[User, Depends(requires(Action.READ))]
Handler = Annotated[User, Depends(requires(Action.HANDLE))]
Supervisor = Annotated[User, Depends(requires(Action.SUPERVISE))]
IncidentId = Annotated[str, Field(min_length=1, max_length=300)]
# What an action on one incident can answer besides 401/403/422 (api_schema.py adds those).
ACTION_ERRORS = error_responses(404, 409, 503)


class QueuePage(BaseModel):
    total: int
    items: list[dict[str, Any]]


class AnswerBody(BaseModel):
    text: Text
    final: bool = True


class ReasonBody(BaseModel):
    reason: Text


class CategoryBody(BaseModel):
    category: Category


class AssignBody(BaseModel):
    login: str | None = Field(default=None, min_length=1, max_length=200)  # None: oneself


class ReassignBody(BaseModel):
    municipality: str = Field(min_length=1, max_length=200)
    department: str | None = Field(default=None, max_length=200)
    reason: Text


class BulkBody(BaseModel):
    action: Literal["claim", "answer", "reject", "close", "reassign"]
    incident_ids: list[IncidentId] = Field(min_length=1, max_length=500)
    text: str | None = None
    final: bool = True
    reason: str | None = None
    municipality: str | None = None
    department: str | None = None


class Outcome(BaseModel):
    incident_id: str
    status: Status | None = None
    error: str | None = None


def _outcome(incident: Incident) -> Outcome:
    return Outcome(incident_id=incident.incident_id, status=incident.status)


async def _run(
    state: WebState, user: User, incident_id: str, command: Command, *, override: bool = False
) -> Outcome:
    admit = await _admission(state, user, incident_id)
    with _refusals():
        return _outcome(
            await state.context.service.act(
                incident_id, command, override_claim=override, admit=admit
            )
        )


async def _admission(state: WebState, user: User, incident_id: str) -> Callable[[Incident], bool]:
    """404 unless the incident is within the user's reach; and the check to make again on the
    locked incident (``admit``), so that a reassignment committed in between cannot move it out
    of reach unnoticed."""
    await incident_in_reach(state, user, incident_id)
    reach = reach_of(user, state.context.policy)
    return lambda incident: reach.covers(incident.municipality, incident.department)


@contextmanager
def _refusals() -> Iterator[None]:
    """The service's refusals as HTTP answers, in Russian."""
    try:
        yield
    except IncidentNotFoundError as missing:
        raise HTTPException(404, INCIDENT_NOT_FOUND) from missing
    except IllegalTransitionError as refused:
        raise HTTPException(409, str(refused)) from refused
    except UnknownIdError as unknown:
        raise HTTPException(422, str(unknown)) from unknown
    except CalendarYearMissingError as missing:  # the installation's to fix, not the user's
        raise HTTPException(503, str(missing)) from missing


@router.get("/incidents", response_model=QueuePage)
async def queue(
    state: State,
    user: Reader,
    status: Status | None = None,
    municipality: str | None = None,
    department: str | None = None,
    category: Category | None = None,
    channel: Channel | None = None,
    source: str | None = None,
    overdue: bool | None = None,
    due_within_hours: Annotated[float | None, Query(gt=0, le=24 * 90)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=200)] = None,
    view: Literal["mentions", "mine"] | None = None,
) -> QueuePage:
    """Open incidents, the deadline still to be met soonest first, paginated on the server.
    ``source`` is a source id from the sources file (e.g. ``vk:-210000001``). Only those within
    the user's scope: a ``municipality`` outside it gives an empty page. ``q``: words of the
    message or of its internal notes, in any form (PostgreSQL full-text search, Russian; «"…"»
    for a phrase, «-слово» to leave out). ``view=mentions``: those whose notes mention the user;
    ``view=mine``: those in work with the user (claimed by or assigned to them); a view shows
    every status unless ``status`` says."""
    flt = QueueFilter(
        status, municipality, department, category, channel, source, overdue,
        due_within_hours, view is None, limit, offset, reach=reach_of(user, state.context.policy),
        mentioned=user.login if view == "mentions" else None, search=(q or "").strip() or None,
        holder=user.login if view == "mine" else None,
    )  # fmt: skip
    async with state.context.db.engine.connect() as connection:
        total, items = await list_incidents(connection, flt, state.context.clock())
    prefix_of = state.context.policy.number_prefix
    return QueuePage(total=total, items=[with_number(item, prefix_of) for item in items])


@router.get("/incidents/{incident_id}", responses=error_responses(404, 405))
async def detail(incident_id: str, state: State, user: Reader) -> dict[str, Any]:
    """One incident with its message and full history; ``incident_id`` may be its number
    («СЕВ-2026-000123»), shown in ``number``."""
    if incident_id == "bulk":  # the path of POST /api/incidents/bulk, not an incident's id
        raise HTTPException(
            405, "GET /api/incidents/bulk не поддерживается: массовые действия — POST",
            headers={"Allow": "POST"},
        )  # fmt: skip
    policy = state.context.policy
    async with state.context.db.engine.connect() as connection:
        incident_id = await incident_id_of(connection, incident_id, policy.municipality_of_prefix)
    return with_number(await incident_in_reach(state, user, incident_id), policy.number_prefix)


@router.post("/incidents/{incident_id}/claim", response_model=Outcome, responses=ACTION_ERRORS)
async def claim(incident_id: str, state: State, user: Handler) -> Outcome:
    """Take the incident into work; locks it for OTKLIK_CLAIM_LOCK_MINUTES."""
    lock_until = state.context.clock() + state.claim_lock
    return await _run(state, user, incident_id, Claim(user.login, lock_until))


@router.post("/incidents/{incident_id}/assign", response_model=Outcome, responses=ACTION_ERRORS)
async def assign(incident_id: str, body: AssignBody, state: State, user: Handler) -> Outcome:
    """Assign the incident to a person: a claim held by ``login`` (oneself when omitted), in
    «Мои» of theirs until it is closed, reassigned or claimed by another once the lock ends.
    A moderator only to themselves (a claim); a supervisor to any moderator who may handle it,
    over another's claim. 403 otherwise, 422 for a login that is no enabled user able to handle
    this incident."""
    found = await incident_in_reach(state, user, incident_id)
    supervisor = can(user.role, Action.SUPERVISE)
    login = body.login or user.login
    if login != user.login and not supervisor:
        raise HTTPException(403, "Назначать инцидент другим может только руководитель")
    async with state.context.db.engine.connect() as connection:
        holder = (await enabled_users(connection, (login,))).get(login)
    policy = state.context.policy
    if (
        holder is None
        or not can(holder.role, Action.HANDLE)
        or not reach_of(holder, policy).covers(found["municipality"], found["department"])
    ):
        raise HTTPException(
            422, f"Назначить @{login[:80]} нельзя: нет такого модератора с доступом "
            "к этому инциденту",
        )  # fmt: skip
    lock_until = state.context.clock() + state.claim_lock
    command = Claim(user.login, lock_until, holder=login)
    return await _run(state, user, incident_id, command, override=supervisor)


@router.post("/incidents/{incident_id}/answer", response_model=Outcome, responses=ACTION_ERRORS)
async def answer(incident_id: str, body: AnswerBody, state: State, user: Handler) -> Outcome:
    """Record a public reply (intermediate with final=false). 422 while the text still holds a
    template's ``{placeholder}``: it would be published as is."""
    _refuse_unfilled(body.text)
    return await _run(state, user, incident_id, Answer(user.login, body.text, body.final))


@router.post("/incidents/{incident_id}/reject", response_model=Outcome, responses=ACTION_ERRORS)
async def reject(incident_id: str, body: ReasonBody, state: State, user: Handler) -> Outcome:
    """«Не инцидент», with a reason (becomes a label for the classifier)."""
    return await _run(state, user, incident_id, Reject(user.login, body.reason))


@router.post("/incidents/{incident_id}/reassign", response_model=Outcome, responses=ACTION_ERRORS)
async def reassign(incident_id: str, body: ReassignBody, state: State, user: Supervisor) -> Outcome:
    """Hand over to another department or municipality of the policy (supervisors); new
    deadlines when the policy restarts the clock. Only within the supervisor's scope: from an
    incident they see to a place it covers (403 otherwise)."""
    await incident_in_reach(state, user, incident_id)
    if not reach_of(user, state.context.policy).covers(body.municipality, body.department):
        place = body.municipality + (f", {body.department}" if body.department else "")
        raise HTTPException(
            403, f"Переназначить в «{place}» нельзя: это вне вашей области доступа "
            f"({user.scope.describe()})",
        )  # fmt: skip
    command = Reassign(user.login, body.municipality, body.department, body.reason)
    return await _run(state, user, incident_id, command, override=True)


@router.post("/incidents/{incident_id}/category", response_model=Outcome, responses=ACTION_ERRORS)
async def recategorise(
    incident_id: str, body: CategoryBody, state: State, user: Handler
) -> Outcome:
    """Correct the category (becomes a label for the classifier); routing and deadlines stay."""
    return await _run(state, user, incident_id, Recategorise(user.login, body.category))


@router.post("/incidents/{incident_id}/close", response_model=Outcome, responses=ACTION_ERRORS)
async def close(incident_id: str, state: State, user: Handler) -> Outcome:
    return await _run(state, user, incident_id, Close(user.login))


@router.post("/incidents/{incident_id}/reopen", response_model=Outcome, responses=ACTION_ERRORS)
async def reopen(incident_id: str, body: ReasonBody, state: State, user: Handler) -> Outcome:
    return await _run(state, user, incident_id, Reopen(user.login, body.reason))


@router.post("/incidents/{incident_id}/restore", response_model=Outcome, responses=ACTION_ERRORS)
async def restore(incident_id: str, body: ReasonBody, state: State, user: Supervisor) -> Outcome:
    """Undo «не инцидент» (supervisors), with a reason: back in work with the deadlines it had;
    its month is counted again at the aggregator's next pass (a new revision if published)."""
    return await _run(state, user, incident_id, Restore(user.login, body.reason))


@router.post("/incidents/bulk", response_model=list[Outcome])
async def bulk(body: BulkBody, state: State, user: Supervisor) -> list[Outcome]:
    """One action on many incidents; each succeeds or fails on its own. An answer still holding
    a template's ``{placeholder}`` is refused whole (422), before any incident."""
    if body.action == "answer":
        _refuse_unfilled(body.text or "")
    outcomes = []
    for incident_id in body.incident_ids:
        try:
            outcomes.append(await _bulk_one(incident_id, body, state, user))
        except HTTPException as failed:
            outcomes.append(Outcome(incident_id=incident_id, error=str(failed.detail)))
        except ValidationError as invalid:
            first = invalid.errors()[0]
            outcomes.append(
                Outcome(incident_id=incident_id, error=f"{first['loc'][0]}: {first['msg']}")
            )
    return outcomes


def _refuse_unfilled(text: str) -> None:
    refusal = unfilled_refusal(text)
    if refusal is not None:
        raise HTTPException(422, refusal)


async def _bulk_one(incident_id: str, body: BulkBody, state: State, user: User) -> Outcome:
    if body.action == "claim":
        return await claim(incident_id, state, user)
    if body.action == "answer":
        return await answer(
            incident_id, AnswerBody(text=body.text or "", final=body.final), state, user
        )
    if body.action == "reject":
        return await reject(incident_id, ReasonBody(reason=body.reason or ""), state, user)
    if body.action == "close":
        return await close(incident_id, state, user)
    target = ReassignBody(
        municipality=body.municipality or "", department=body.department, reason=body.reason or ""
    )
    return await reassign(incident_id, target, state, user)


class DeliveryView(BaseModel):
    """Where an answer given in otklik stands on its way to VK."""

    answer_event_id: str
    state: DeliveryState
    url: str | None = None
    reason: str | None = None
    retryable: bool = False


@router.get(
    "/incidents/{incident_id}/deliveries",
    response_model=list[DeliveryView],
    responses=error_responses(404),
)
async def deliveries(incident_id: str, state: State, user: Reader) -> list[DeliveryView]:
    """Each answer given in otklik on a VK message: «sending», «posted» (with the reply's link)
    or «failed» (with the reason; ``retryable`` when VK refused it, so nothing was posted)."""
    found = await incident_in_reach(state, user, incident_id)
    return [
        DeliveryView(**{k: v for k, v in asdict(d).items() if k in DeliveryView.model_fields})
        for d in vk_deliveries(found).values()
    ]


@router.post(
    "/incidents/{incident_id}/answers/{answer_event_id}/retry",
    response_model=Outcome,
    responses=ACTION_ERRORS,
)
async def retry_delivery(
    incident_id: str, answer_event_id: str, state: State, user: Handler
) -> Outcome:
    """Post an answer VK refused again, as a new attempt with a new idempotency key; 409 unless
    its last attempt surely failed (VK answered with an error: nothing was posted), so that a
    retry can never make a second reply."""
    admit = await _admission(state, user, incident_id)
    with _refusals():
        return _outcome(
            await state.context.service.retry_answer(
                incident_id, answer_event_id, user.login, admit
            )
        )


@router.get("/reply-templates", response_model=list[ReplyTemplate])
async def reply_templates(state: State, user: Reader) -> list[ReplyTemplate]:
    """Every canned reply, each with the municipality and department it is for (null: all)."""
    return await all_templates(state)
