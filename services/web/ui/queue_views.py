"""The queue page and its results fragment (re-fetched by the page when the event stream says
incidents changed). Filters come from the query string; a value the form does not offer (a
mistyped link, a municipality outside the user's scope) is not silently dropped: the page says
which filter it refused and answers 400, showing the list without that filter."""

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.api_reply_templates import offered_templates
from services.web.security import WebState, reach_of, web_state
from services.web.ui import queries
from services.web.ui.labels import DUE_WITHIN, FILTER_NAMES, PAGE_SIZES, VIEWS
from services.web.ui.pages import PageSession, page_session, render
from sla.storage.queue import QueueFilter, Reach

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
Session = Annotated[PageSession, Depends(page_session)]
FIELDS = (
    "status", "municipality", "department", "category", "channel", "overdue", "due_within", "view",
)  # fmt: skip
MAX_SEARCH = 200


@dataclass(frozen=True)
class QueueParams:
    values: dict[str, str]  # the filters as chosen (for the form and the links)
    page: int
    size: int
    refused: tuple[str, ...] = ()  # a message per filter value the form does not offer

    def to_filter(self, login: str) -> QueueFilter:
        """The filter for the user ``login`` («упоминания» and «мои» are theirs)."""
        overdue = {"yes": True, "no": False}.get(self.values.get("overdue", ""))
        due_within = self.values.get("due_within")
        status = self.values.get("status")  # none chosen: what still awaits a reply
        view = self.values.get("view")  # «упоминания»: in any status unless one is chosen
        return QueueFilter(
            status=None if status in (None, "all") else status,
            awaiting=status is None and view is None, open_only=view is None or status == "all",
            mentioned=login if view == "mentions" else None, search=self.values.get("q"),
            holder=login if view == "mine" else None,
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


def allowed_values(options: queries.Options) -> dict[str, set[str]]:
    """What each filter may be: exactly what the form offers this user."""
    return {
        "status": {"all", *(code for code, _ in options.statuses)},
        "municipality": {code for code, _ in options.municipalities},
        "department": set(options.departments),
        "category": {code for code, _ in options.categories},
        "channel": {code for code, _ in options.channels},
        "overdue": {"yes", "no"},
        "due_within": set(DUE_WITHIN),
        "view": set(VIEWS),
    }


def parse_params(request: Request, options: queries.Options, reach: Reach) -> QueueParams:
    """The filters of the query string. A municipality the policy does not list is still taken
    within the reader's reach: a source's municipality missing from the policy must not make its
    incidents unfindable (its typo shows an empty list)."""
    raw = request.query_params
    allowed = allowed_values(options)
    values: dict[str, str] = {}
    refused: list[str] = []
    for name in FIELDS:
        value = raw.get(name)
        if not value:
            continue
        if value in allowed[name] or (name == "municipality" and reach.covers_place(value)):
            values[name] = value
        else:
            refused.append(
                f"Фильтр «{FILTER_NAMES[name]}»: значения «{value[:80]}» нет — не применён"
            )
    search = " ".join(raw.get("q", "").split())[:MAX_SEARCH]
    if search:  # free words: nothing to refuse, the search finds what it finds
        values["q"] = search
    size = _int(raw.get("size"), 50)
    page, size = _int(raw.get("page"), 1), size if size in PAGE_SIZES else 50
    return QueueParams(values, page, size, tuple(refused))


async def _results(state: WebState, session: PageSession, params: QueueParams) -> dict[str, Any]:
    flt = replace(
        params.to_filter(session.user.login), reach=reach_of(session.user, state.context.policy)
    )
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
async def queue_page(request: Request, state: State, session: Session) -> Response:
    """The queue; ``?number=СЕВ-2026-000123`` opens that incident (or says there is none)."""
    reach = reach_of(session.user, state.context.policy)
    options = queries.options(state.context, reach)
    params = parse_params(request, options, reach)
    wanted = request.query_params.get("number", "").strip()
    if wanted:
        found = await queries.incident_id_by_number(state.context, wanted, reach)
        if found is not None:
            return RedirectResponse(f"/incidents/{quote(found)}", status_code=303)
        missing = f"Инцидента с номером «{wanted[:40]}» нет — проверьте номер"
        params = replace(params, refused=(*params.refused, missing))
    results = await _results(state, session, params)
    templates = await offered_templates(state)  # a bulk answer: those for every place
    page = render(
        "queue.html", session, active="queue", options=options, templates=templates, **results,
    )  # fmt: skip
    page.status_code = 400 if params.refused else 200
    return page


@router.get("/queue/results")
async def queue_results(request: Request, state: State, session: Session) -> HTMLResponse:
    reach = reach_of(session.user, state.context.policy)
    params = parse_params(request, queries.options(state.context, reach), reach)
    # 200 even with a refused filter: the page has said so, and its live refresh (queue.js) would
    # otherwise show an error at every change.
    return render("_queue_results.html", session, **await _results(state, session, params))
