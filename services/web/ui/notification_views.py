"""«Уведомления»: the signed-in user's own notification preferences (services/notifications) —
addresses, kinds, at once or a daily digest. The form puts JSON to /api/me/notifications
(services/web/api_notifications.py), which checks the role and the values again."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from services.notifications.store import preferences
from services.notifications.texts import KIND_LABELS, KINDS
from services.web.security import WebState, web_state
from services.web.ui.pages import PageSession, error_page, page_session, render

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
Session = Annotated[PageSession, Depends(page_session)]


@router.get("/notifications")
async def notifications_page(state: State, session: Session) -> HTMLResponse:
    if not session.can_handle:
        hint = "Уведомления получают модераторы и руководители."
        return error_page(session, 403, "Недостаточно прав", hint)
    async with state.context.db.engine.connect() as connection:
        chosen = await preferences(connection, session.user.login)
    return render(
        "notifications.html", session, active="notifications", chosen=chosen,
        kinds=[(kind, KIND_LABELS[kind]) for kind in KINDS], hours=range(24),
        default_zone=state.context.policy.spec.defaults.timezone,
    )  # fmt: skip
