"""Canned reply templates: the admin API under /api/admin/reply-templates (list, add, change,
delete; admins only, every change audited) and the templates each page offers. A template with a
placeholder otklik does not know, or for a municipality or department the SLA policy does not
know, is refused (422) with the reason in Russian."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from services.auth.roles import Action
from services.auth.store import User
from services.web.security import WebState, requires, web_state
from services.web.templates_store import (
    ReplyTemplate,
    TemplateBody,
    TemplateExistsError,
    TemplateNotFoundError,
    add_template,
    change_template,
    delete_template,
    stored_templates,
)
from services.web.validation import error_responses
from sla.domain.policy import UnknownIdError

router = APIRouter(prefix="/api/admin/reply-templates")
State = Annotated[WebState, Depends(web_state)]
Admin = Annotated[User, Depends(requires(Action.ADMINISTER))]


class Changed(BaseModel):
    id: str


async def all_templates(state: WebState) -> list[ReplyTemplate]:
    return await stored_templates(
        state.context.db, state.templates, state.context.clock(), state.templates_seeding
    )


async def offered_templates(
    state: WebState, municipality: str | None = None, department: str | None = None
) -> list[ReplyTemplate]:
    """Those for an incident there; without a place (a bulk answer over several incidents),
    only those for every municipality and department."""
    return [
        t
        for t in await all_templates(state)
        if (t.municipality is None and t.department is None)
        or (municipality is not None and t.offered_for(municipality, department))
    ]


@router.get("", response_model=list[ReplyTemplate])
async def templates(state: State, admin: Admin) -> list[ReplyTemplate]:
    return await all_templates(state)


@router.post("", status_code=201, response_model=Changed, responses=error_responses(409))
async def add(body: ReplyTemplate, state: State, admin: Admin) -> Changed:
    """A new template; 409 when its id is taken."""
    await _change(state, body, lambda c: add_template(c, body, admin.login, state.context.clock()))
    return Changed(id=body.id)


@router.put("/{template_id}", response_model=Changed, responses=error_responses(404))
async def change(template_id: str, body: TemplateBody, state: State, admin: Admin) -> Changed:
    await _change(
        state,
        body,
        lambda c: change_template(c, template_id, body, admin.login, state.context.clock()),
    )
    return Changed(id=template_id)


@router.delete("/{template_id}", response_model=Changed, responses=error_responses(404))
async def remove(template_id: str, state: State, admin: Admin) -> Changed:
    clock = state.context.clock
    await _change(state, None, lambda c: delete_template(c, template_id, admin.login, clock()))
    return Changed(id=template_id)


async def _change(
    state: WebState,
    body: TemplateBody | None,
    change: Callable[[AsyncConnection], Awaitable[None]],
) -> None:
    """One audited change in one transaction, after the file's templates are in; the place
    checked against the SLA policy; refusals in Russian."""
    policy = state.context.policy
    try:
        if body is not None:
            if body.municipality is not None:
                policy.require_municipality(body.municipality)
            policy.require_department(body.department)
        await all_templates(state)
        async with state.context.db.transaction() as connection:
            await change(connection)
    except UnknownIdError as unknown:
        raise HTTPException(422, str(unknown)) from unknown
    except TemplateExistsError as taken:
        raise HTTPException(409, str(taken)) from taken
    except TemplateNotFoundError as missing:
        raise HTTPException(404, str(missing)) from missing
