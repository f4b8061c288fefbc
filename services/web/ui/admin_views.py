"""The admin pages: accounts (list, add, disable/enable, password, role, scope, end sessions)
and the latest 100 entries of the audit log; the canned reply templates (list, add, change,
delete). Admins only; every change the pages offer is a call to the JSON API under /api/admin
(services/web/api_admin.py, api_reply_templates.py), which checks it again."""

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from kernel.contracts.categories import DEPARTMENTS
from services.auth import store
from services.auth.roles import Action, Role, can
from services.web.api_reply_templates import all_templates
from services.web.security import WebState, web_state
from services.web.ui.pages import PageSession, error_page, page_session, render
from sla.domain.policy import SlaPolicy
from sla.domain.reply_placeholders import PLACEHOLDERS

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
Session = Annotated[PageSession, Depends(page_session)]
AUDIT_SHOWN = 100
ACTIONS = {
    "add": "создан", "disable": "отключён", "enable": "включён", "set-password": "новый пароль",
    "set-role": "новая роль", "set-scope": "новая область", "logout": "сессии завершены",
    "reply-templates-seeded": "шаблоны ответов загружены из файла",
    "reply-template-add": "шаблон ответа создан", "reply-template-change": "шаблон ответа изменён",
    "reply-template-delete": "шаблон ответа удалён",
}  # fmt: skip


@dataclass(frozen=True)
class ScopeOptions:
    municipalities: list[tuple[str, str]]  # (id, name)
    regions: list[str]
    departments: list[str]


def scope_options(policy: SlaPolicy) -> ScopeOptions:
    known = policy.spec.municipalities
    return ScopeOptions(
        municipalities=sorted(
            ((key, spec.name) for key, spec in known.items()), key=lambda p: p[1]
        ),
        regions=sorted({spec.region for spec in known.values() if spec.region}),
        departments=sorted({*DEPARTMENTS.values(), *policy.spec.departments}),
    )


def _refused(session: PageSession) -> HTMLResponse | None:
    if can(session.user.role, Action.ADMINISTER):
        return None
    return error_page(session, 403, "Недостаточно прав", "Этот раздел — для администраторов.")


def details_text(details: dict[str, Any]) -> str:
    """«to: {"municipalities": ["zarechny"]}; sessions_ended: 1» — autoescaped by the page."""
    return "; ".join(
        f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"
        for key, value in sorted(details.items())
    )


@router.get("/admin/users")
async def users_page(state: State, session: Session) -> HTMLResponse:
    if not can(session.user.role, Action.ADMINISTER):
        hint = "Учётными записями управляют администраторы."
        return error_page(session, 403, "Недостаточно прав", hint)
    async with state.context.db.engine.connect() as connection:
        accounts = await store.list_users(connection, session.now)
        entries = await store.audit_entries(connection, AUDIT_SHOWN)
    policy = state.context.policy
    return render(
        "admin_users.html", session, active="admin", accounts=accounts, entries=entries,
        roles=list(Role), options=scope_options(policy), actions=ACTIONS,
        zone=ZoneInfo(policy.spec.defaults.timezone), quote=quote, details_text=details_text,
    )  # fmt: skip


@router.get("/admin/reply-templates")
async def reply_templates_page(state: State, session: Session) -> HTMLResponse:
    refused = _refused(session)
    if refused is not None:
        return refused
    options = scope_options(state.context.policy)
    return render(
        "admin_templates.html", session, active="admin-templates",
        templates=await all_templates(state), options=options,
        names=dict(options.municipalities), placeholders=PLACEHOLDERS.values(),
    )  # fmt: skip
