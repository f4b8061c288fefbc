"""Server-sent events: the open pages learn that incidents changed without reloading.

One poller per web process (``ChangeFeed``) asks PostgreSQL every 1.5 s which incidents changed
(sla/changes.py) and fans the answer out to every connected page, so a hundred open queues cost
one query, not a hundred. It runs only while some page listens. A stream ends after five
minutes and the browser reconnects by itself (``retry``), so no connection outlives a restart or
a proxy's idle timeout for long; a comment line every 15 s keeps idle connections open.
Each stream passes on only the changes of incidents within its reader's scope, as they stand
after the change: an incident reassigned away is no longer announced to its former readers.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from kernel.db.engine import Database
from services.auth.roles import Action
from services.auth.store import User
from services.web.security import WebState, reach_of, requires, web_state
from sla.storage.changes import Change, ChangeCursor, changed_since
from sla.storage.queue import Reach

log = logging.getLogger(__name__)
POLL_SECONDS = 1.5
PING_SECONDS = 15.0
STREAM_SECONDS = 300.0
router = APIRouter(include_in_schema=False)


class ChangeFeed:
    def __init__(
        self, db: Database, clock: Callable[[], datetime], interval: float = POLL_SECONDS
    ) -> None:
        self._db, self._clock = db, clock
        self._interval = interval
        self._subscribers: set[asyncio.Queue[list[Change]]] = set()
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[list[Change]]]:
        queue: asyncio.Queue[list[Change]] = asyncio.Queue(maxsize=20)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _run(self) -> None:
        cursor = ChangeCursor(self._clock())
        while self._subscribers:
            try:
                async with self._db.engine.connect() as connection:
                    changes = cursor.take(await changed_since(connection, cursor.query_from))
            except (SQLAlchemyError, OSError) as error:
                log.warning("change feed: %s; retrying", error)  # pages show stale data meanwhile
                changes = []
            if changes:
                self._publish(changes)
            await asyncio.sleep(self._interval)

    def _publish(self, changes: list[Change]) -> None:
        for queue in list(self._subscribers):
            if queue.full():  # a page that does not read loses the oldest batch, not the newest
                queue.get_nowait()
            queue.put_nowait(changes)


def change_feed(request: Request) -> ChangeFeed:
    feed: ChangeFeed = request.app.state.otklik_feed
    return feed


def _event(changes: list[Change]) -> str:
    payload = {
        "changed": [
            {
                "id": c.incident_id,
                "status": c.status,
                "actor": c.actor,
                "event": c.event,
                "seq": c.seq,
            }
            for c in changes
        ]
    }
    return f"event: incidents\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _stream(request: Request, feed: ChangeFeed, reach: Reach) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    ends = time.monotonic() + STREAM_SECONDS
    async with feed.subscription() as queue:
        yield "event: ready\ndata: {}\n\n"
        while time.monotonic() < ends:
            try:
                changes = await asyncio.wait_for(queue.get(), timeout=PING_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": ping\n\n"
                continue
            mine = [c for c in changes if reach.covers(c.municipality, c.department)]
            if mine:
                yield _event(mine)


@router.get("/ui/events")
async def events(
    request: Request,
    user: Annotated[User, Depends(requires(Action.READ))],
    feed: Annotated[ChangeFeed, Depends(change_feed)],
    state: Annotated[WebState, Depends(web_state)],
) -> StreamingResponse:
    """Events ``incidents`` with the ids and statuses of incidents that changed (those within
    the user's scope), each with who made the change, its event type and the incident's
    revision after it."""
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    reach = reach_of(user, state.context.policy)
    return StreamingResponse(
        _stream(request, feed, reach), media_type="text/event-stream", headers=headers
    )
