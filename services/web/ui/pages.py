"""Shared plumbing of the pages: the Jinja2 environment (autoescape on), the signed-in session a
page needs (redirect to the login form otherwise), and the security headers of every page."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kernel.contracts.incidents import EventType, Status
from services.auth.roles import Action, can
from services.auth.store import User
from services.web.csrf import session_csrf_token
from services.web.security import requires, token_from, web_state
from services.web.ui import formatting, labels

HERE = Path(__file__).resolve().parent
# Defence in depth behind autoescaping: only our own scripts and styles ever run, nothing frames
# the pages, forms post only here. Images also from VK's photo hosts, named one by one (not
# img-src *): the thumbnails of residents' photos load from VK, never through this server.
VK_IMAGE_HOSTS = ("https://*.userapi.com", "https://*.vkuserphoto.ru", "https://*.vk.me",
                  "https://*.vk.com")  # fmt: skip
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {' '.join(VK_IMAGE_HOSTS)}; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        local=formatting.local_time, number=formatting.number, safe_url=formatting.safe_url,
        excerpt=formatting.excerpt, percent=formatting.percent,
    )  # fmt: skip
    env.globals.update(
        labels=labels, label=labels.label, actor_name=labels.actor_name,
        urgency=formatting.urgency,
        countdown=formatting.countdown, next_due=formatting.next_due,
        on_time_words=formatting.on_time_words,
        Status=Status, EventType=EventType,
    )  # fmt: skip
    return env


ENV = _environment()


@dataclass(frozen=True)
class PageSession:
    user: User
    csrf_token: str
    now: datetime  # the server's: countdowns are drawn from it, not from the browser's clock

    @property
    def can_handle(self) -> bool:
        return can(self.user.role, Action.HANDLE)

    @property
    def can_supervise(self) -> bool:
        return can(self.user.role, Action.SUPERVISE)


class LoginRequiredError(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


_reader = requires(Action.READ)


async def page_session(request: Request) -> PageSession:
    """The signed-in reader of a page; LoginRequiredError sends the browser to the login form."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        user = await _reader(request)
    except HTTPException as refused:
        if refused.status_code == 401:
            raise LoginRequiredError(wanted) from refused
        raise
    token = token_from(request)
    if token is None:  # cannot happen: _reader found a session for it
        raise LoginRequiredError(wanted)
    return PageSession(user, session_csrf_token(token), web_state(request).context.clock())


async def login_redirect(request: Request, error: Exception) -> RedirectResponse:
    wanted = error.next_path if isinstance(error, LoginRequiredError) else "/queue"
    return RedirectResponse(f"/login?next={quote(wanted, safe='/')}", status_code=303)


def local_path(candidate: str | None, fallback: str = "/queue") -> str:
    """Only a path on this site: ``next`` must not send a fresh login to a foreign page."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return fallback
    return fallback if "\\" in candidate or any(ord(c) < 32 for c in candidate) else candidate


def render(
    template: str, session: PageSession | None, /, status_code: int = 200, **values: Any
) -> HTMLResponse:
    now = session.now if session is not None else None
    body = ENV.get_template(template).render(session=session, now=now, **values)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def error_page(
    session: PageSession | None, status_code: int, title: str, hint: str
) -> HTMLResponse:
    return render("error.html", session, status_code, title=title, hint=hint, active="")
