"""The incident page: the message in its thread, the classifier's verdict, the history, and the
forms of every action (which post to the JSON API; the API checks the role of each). An
incident outside the reader's scope is «не найден», as a missing one."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from services.auth.roles import Action, can
from services.web.api_reply_templates import offered_templates
from services.web.mentions import colleagues
from services.web.security import WebState, reach_of, web_state
from services.web.templates_store import ReplyTemplate
from services.web.ui import queries
from services.web.ui.pages import PageSession, error_page, page_session, render
from services.web.ui.policy_text import basis
from sla.domain.answer_delivery import vk_deliveries
from sla.domain.reply_placeholders import PLACEHOLDERS, fill, incident_values

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
Session = Annotated[PageSession, Depends(page_session)]


@router.get("/incidents/{incident_id}")
async def incident_page(incident_id: str, state: State, session: Session) -> Response:
    reach = reach_of(session.user, state.context.policy)
    found = await queries.incident(state.context, incident_id, reach)
    by_number = (
        None if found else await queries.incident_id_by_number(state.context, incident_id, reach)
    )
    if by_number:
        # The number people read and type leads to the page of record, whose links use the id.
        return RedirectResponse(f"/incidents/{quote(by_number)}", status_code=303)
    if found is None:
        hint = "Его могли удалить или ссылка неполная. Вернитесь в очередь и откройте его оттуда."
        return error_page(session, 404, "Инцидент не найден", hint)
    policy = state.context.policy
    item = found.incident
    zone = policy.timezone(item["municipality"])
    names = queries.municipality_names(policy)
    values = incident_values(
        department=item["department"], final_answer_due=item["final_answer_due"],
        municipality_name=names.get(item["municipality"], item["municipality"]),
        number=item["number"], zone=zone,
    )  # fmt: skip
    # The page offers each template filled from the incident; what is left, the form asks for.
    offered = await offered_templates(state, item["municipality"], item["department"])
    templates = [template_filled(t, values) for t in offered]
    async with state.context.db.engine.connect() as connection:
        team = await colleagues(connection, policy, item["municipality"], item["department"])
    return render(
        "incident.html", session, active="queue", view=found, item=item, zone=zone,
        colleagues=team, handlers=[u for u in team if can(u.role, Action.HANDLE)],
        templates=templates, placeholders=PLACEHOLDERS.values(),
        basis=basis(policy, item["policy_version"], item["policy_rule"]),
        options=queries.options(state.context, reach), names=names,
        deliveries=vk_deliveries(item),
    )  # fmt: skip


def template_filled(template: ReplyTemplate, values: dict[str, str]) -> ReplyTemplate:
    return template.model_copy(update={"text": fill(template.text, values)})
