"""VK Callback API receiver: VK POSTs each event of a managed community here.

``confirmation`` is answered with the community's confirmation string; every other event must
carry the community's secret key (compared in constant time; a wrong one gets 403 and nothing is
published). "ok" is returned only after the event's message is durable on the raw topic: until
then VK retries, and a retry maps to the same message id, so it is stored once downstream. An
authenticated event that cannot be read is dead-lettered (kept, with the reason) and answered
"ok", so that VK stops resending what will never parse; a body that is not even JSON cannot be
authenticated and is refused with 400, never stored (nobody can fill the dead letters from
outside). The app's BodyLimit (kernel/http_limits.py) has refused a body over
OTKLIK_MAX_BODY_BYTES before ``request.body()`` could hold it; MAX_BODY is this route's own.
"""

import hmac
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse

from ingest.domain.sources import Source
from ingest.handlers import VkEventIngestor
from kernel.settings import Settings

MAX_BODY = 1 << 20


def callback_router(ingestor: VkEventIngestor, settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.post("/vk/callback", response_class=PlainTextResponse)
    async def receive(request: Request) -> str:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise HTTPException(413, "event too large")
        event = _parse(body)
        if event is None:
            raise HTTPException(400, "body is not a JSON object")
        source = _source_for(ingestor, event)
        if event.get("type") == "confirmation":
            assert source.callback is not None
            return source.callback.confirmation
        if not _secret_matches(source, settings, event.get("secret")):
            raise HTTPException(403, "wrong secret")
        event.pop("secret", None)
        # Not the raw body: it carries the secret, and a dead letter would keep it.
        await ingestor.on_event(event)
        return "ok"

    return router


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can follow
        return None
    return event if isinstance(event, dict) else None


def _source_for(ingestor: VkEventIngestor, event: dict[str, Any]) -> Source:
    group_id = event.get("group_id")
    source = ingestor.catalog.by_group(group_id) if isinstance(group_id, int) else None
    if source is None or source.callback is None:
        raise HTTPException(404, "community has no Callback API configured")
    return source


def _secret_matches(source: Source, settings: Settings, given: object) -> bool:
    assert source.callback is not None
    expected = settings.secret(source.callback.secret).get_secret_value().encode()
    offered = given.encode() if isinstance(given, str) else b""
    return hmac.compare_digest(expected, offered)
