"""Teamwork on an incident: internal notes with ``@mentions`` (never published to the resident),
and who is looking at it now. Like every action, within the user's reach (``incident_in_reach``)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from services.auth.roles import Action
from services.auth.store import User, display_names
from services.web import presence
from services.web.mentions import check_mentions
from services.web.presence import Viewer
from services.web.security import (
    INCIDENT_NOT_FOUND,
    WebState,
    incident_in_reach,
    reach_of,
    requires,
    web_state,
)
from services.web.validation import error_responses
from sla.domain.lifecycle import IllegalTransitionError
from sla.domain.notes import MAX_NOTE, Note, mentioned
from sla.service import IncidentNotFoundError

router = APIRouter(prefix="/api")
State = Annotated[WebState, Depends(web_state)]
Handler = Annotated[User, Depends(requires(Action.HANDLE))]
Reader = Annotated[User, Depends(requires(Action.READ))]


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_NOTE)


class NoteOutcome(BaseModel):
    incident_id: str
    mentions: list[str]


@router.post(
    "/incidents/{incident_id}/notes",
    response_model=NoteOutcome,
    responses=error_responses(404, 503),
)
async def add_note(incident_id: str, body: NoteBody, state: State, user: Handler) -> NoteOutcome:
    """An internal note: in the history and the live feed, never sent to VK; moves nothing
    (status, claim, deadlines). ``@login`` mentions a colleague, who finds the incident under
    «упоминания»; 422 naming each mention that is no enabled user or may not read the incident."""
    found = await incident_in_reach(state, user, incident_id)
    logins = mentioned(body.text)
    policy = state.context.policy
    async with state.context.db.engine.connect() as connection:
        check = await check_mentions(
            connection, logins, policy, found["municipality"], found["department"]
        )
    refusal = check.refusal()
    if refusal is not None:
        raise HTTPException(422, refusal)
    reach = reach_of(user, policy)
    try:
        await state.context.service.note(
            incident_id,
            Note(user.login, body.text),
            admit=lambda incident: reach.covers(incident.municipality, incident.department),
        )
    except IncidentNotFoundError as missing:
        raise HTTPException(404, INCIDENT_NOT_FOUND) from missing
    except IllegalTransitionError as refused:
        raise HTTPException(422, str(refused)) from refused
    return NoteOutcome(incident_id=incident_id, mentions=list(logins))


class PresenceBody(BaseModel):
    leaving: bool = False


class PresenceView(BaseModel):
    viewers: list[Viewer]
    claimed_by: str | None = None  # a login
    claimed_by_name: str | None = None  # the name people read


@router.post(
    "/incidents/{incident_id}/presence",
    response_model=PresenceView,
    responses=error_responses(404),
)
async def report_presence(
    incident_id: str,
    body: PresenceBody,
    state: State,
    user: Reader,
) -> PresenceView:
    """The incident page reports that the user has it open (``leaving``: has closed it) and
    learns who else has it open now and who has it in work (services/web/presence.py: in
    PostgreSQL, so every replica sees every page)."""
    found = await incident_in_reach(state, user, incident_id)
    viewer, now = Viewer(user.display_name, user.login), state.context.clock()
    holder = found["claimed_by"]
    async with state.context.db.transaction() as connection:
        await presence.report(connection, incident_id, viewer, now, leaving=body.leaving)
        seen = await presence.viewers(connection, incident_id, now)
        names = await display_names(connection, {holder} if holder else set())
    return PresenceView(
        viewers=seen, claimed_by=holder,
        claimed_by_name=names.get(holder, holder) if holder else None,
    )  # fmt: skip
