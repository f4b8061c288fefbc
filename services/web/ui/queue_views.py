"""The queue page and its results fragment (re-fetched by the page when the event stream says
incidents changed). Filters come from the query string; a value the form never offers is
ignored rather than answered with an error page."""

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.web.security import WebState, reach_of, web_state
from services.web.ui import queries
from services.web.ui.labels import DUE_WITHIN, OPEN_STATUSES, PAGE_SIZES
from services.web.ui.pages import PageSession, page_session, render
from sla.storage.queue import QueueFilter

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
Session = Annotated[PageSession, Depends(page_session)]
FIELDS = ("status", "municipality", "department", "category", "channel", "overdue", "due_within")


@dataclass(frozen=True)
class QueueParams:
    values: dict[str, str]  # the filters as chosen (for the form and the links)
    page: int
    size: int

    def to_filter(self) -> QueueFilter:
        overdue = {"yes": True, "no": False}.get(self.values.get("overdue", ""))
        due_within = self.values.get("due_within")
        status = self.values.get("status")  # none chosen: what still awaits a reply
        return QueueFilter(
            status=None if status in (None, "all") else status, awaiting=status is None,
            municipality=self.values.get("municipality"),
            department=self.values.get("department"), category=self.values.get("category"),
            channel=self.values.get("channel"), overdue=overdue,
            due_within_hours=float(due_within) if due_within else None,
            limit=self.size, offset=(self.page - 1) * self.size,
        )  # fmt: skip

    def query(self, page: int | None = None, size: int | None = None) -> str:
        chosen = {**self.values, "size": str(size or self.size), "page": str(page or self.page)}
        return urlencode(chosen)


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) < 1_000_000 else default


def parse_params(request: Request) -> QueueParams:
    raw = request.query_params
    values = {name: raw[name] for name in FIELDS if raw.get(name)}
    if values.get("status") not in (None, "all", *OPEN_STATUSES):
        values.pop("status")
    if values.get("due_within") not in (None, *DUE_WITHIN):
        values.pop("due_within")
    size = _int(raw.get("size"), 50)
    return QueueParams(values, _int(raw.get("page"), 1), size if size in PAGE_SIZES else 50)


async def _results(state: WebState, session: PageSession, params: QueueParams) -> dict[str, Any]:
    flt = replace(params.to_filter(), reach=reach_of(session.user, state.context.policy))
    total, rows = await queries.queue(state.context, flt, state.context.clock())
    pages = max(1, -(-total // params.size))
    policy = state.context.policy
    zones = {m: policy.timezone(m) for m in {row["municipality"] for row in rows}}
    names = queries.municipality_names(policy)
    return {
        "rows": rows, "total": total, "params": params, "pages": pages, "zones": zones,
        "names": names,
        "first": (params.page - 1) * params.size + 1 if rows else 0,
        "last": (params.page - 1) * params.size + len(rows),
    }  # fmt: skip


@router.get("/queue")
async def queue_page(request: Request, state: State, session: Session) -> HTMLResponse:
    params = parse_params(request)
    results = await _results(state, session, params)
    reach = reach_of(session.user, state.context.policy)
    return render(
        "queue.html", session, active="queue", options=queries.options(state.context, reach),
        templates=state.templates, **results,
    )  # fmt: skip


@router.get("/queue/results")
async def queue_results(request: Request, state: State, session: Session) -> HTMLResponse:
    results = await _results(state, session, parse_params(request))
    return render("_queue_results.html", session, **results)
