"""The web interface of otklik (Russian): server-rendered Jinja2 pages with a little vanilla
JavaScript on top of the moderator queue API. Every asset is served from ./static; actions post
to the JSON API, which checks the role of every request (docs/web-ui.md)."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kernel.settings import Settings
from services.bundled import default_plans_file
from services.web.security import WebState
from services.web.ui import (
    admin_views,
    auth_views,
    events,
    incident_views,
    notification_views,
    queue_views,
)
from services.web.ui.pages import HERE, LoginRequiredError, login_redirect
from services.web.ui.programme_views import programme_router


def install(app: FastAPI, settings: Settings) -> None:
    """Add the pages, their static files and the live event stream to the app."""
    state: WebState = app.state.otklik
    app.state.otklik_feed = events.ChangeFeed(state.context.db, state.context.clock)
    for router in (
        auth_views.router,
        queue_views.router,
        incident_views.router,
        programme_router(default_plans_file(settings)),
        events.router,
        admin_views.router,
        notification_views.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(LoginRequiredError, login_redirect)
