"""The signed-in user's own notification preferences (services/notifications): read and
replace. Moderators and supervisors — those the notifier tells — and admins; each sees and
changes only their own."""

from typing import Annotated

from fastapi import APIRouter, Depends

from services.auth.roles import Action
from services.auth.store import User
from services.notifications.preferences import Preferences
from services.notifications.store import preferences, save_preferences
from services.web.security import WebState, requires, web_state
from services.web.validation import error_responses

router = APIRouter(prefix="/api/me")
State = Annotated[WebState, Depends(web_state)]
Handler = Annotated[User, Depends(requires(Action.HANDLE))]


@router.get("/notifications", response_model=Preferences)
async def my_notifications(state: State, user: Handler) -> Preferences:
    async with state.context.db.engine.connect() as connection:
        return await preferences(connection, user.login)


@router.put("/notifications", response_model=Preferences, responses=error_responses(422))
async def set_my_notifications(state: State, user: Handler, chosen: Preferences) -> Preferences:
    async with state.context.db.transaction() as connection:
        await save_preferences(connection, user.login, chosen, state.context.clock())
    return chosen
