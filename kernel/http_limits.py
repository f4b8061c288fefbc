"""One limit on the size of a request body, for every HTTP app of otklik (pure ASGI middleware).

A body is refused with 413 before the app has buffered more than the limit: a declared
Content-Length over it is refused unread; a chunked body is counted as it arrives and the read
that crosses the limit fails. Routes may keep stricter limits of their own (the intake's 256 KiB).
Without it, `request.body()` of an unauthenticated VK Callback request held the whole body: a
200 MiB request took `otklik ingest http` from 112 to 511 MiB resident.
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLargeError(Exception):
    """Raised into the app by the read that crosses the limit; the middleware answers 413."""


def _too_large(limit: int) -> bytes:
    detail = f"тело запроса больше {limit} байт (body too large)"
    return json.dumps({"detail": detail}, ensure_ascii=False).encode()


class BodyLimit:
    """``app.add_middleware(BodyLimit, limit=settings.max_body_bytes)``."""

    def __init__(self, app: App, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.limit:
            await _refuse(send, self.limit)
            return
        request = _CountedRequest(receive, send, self.limit)
        try:
            await self.app(scope, request.receive, request.send)
        except BodyTooLargeError:
            if request.started:
                raise
        if request.exceeded and not request.started:
            await _refuse(send, self.limit)


class _CountedRequest:
    """One request's body counted as the app reads it, and its answer held back once the body
    went over the limit (413 is sent instead)."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self._limit = receive, send, limit
        self.received = 0
        self.exceeded = self.started = False

    async def receive(self) -> Message:
        if self.exceeded:  # an app that swallowed the error must not read on
            raise BodyTooLargeError
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self._limit:
                self.exceeded = True
                raise BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded and not self.started:  # the app answered anyway: 413 wins
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


async def _refuse(send: Send, limit: int) -> None:
    body = _too_large(limit)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0  # a malformed one: the server refuses it
    return 0
