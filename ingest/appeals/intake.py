"""HTTP intake of appeals from a web form or a portal export: ``POST /intake/{source_id}``.

Each web channel has its own API key (header ``X-Api-Key``, a named secret). The answer 202 with
the message id comes only after the message is durably published; the id is built from the
channel's own ``external_id``, so a client that retries after a timeout gets the same id and the
message is stored once. A body that cannot become a message is answered 422 with the reason and
kept as a dead letter; a request without the right key is answered 401 and publishes nothing.
A department otklik does not know is replaced by the channel's default (ingest/domain/appeals.py)
and logged once per value, never passed on.
"""

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from ingest.domain.appeals import InvalidAppealError, department_of, normalise_appeal
from ingest.domain.sources import Source, SourceCatalog
from kernel.bus.delivery import make_dead_letter, send_dead_letter
from kernel.bus.port import Publisher
from kernel.contracts.messages import Channel
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from kernel.settings import Settings

log = logging.getLogger(__name__)

STAGE = "ingest"
MAX_BODY_BYTES = 256 * 1024
# Distinct unknown departments logged by name; a form sending endless free text must not flood
# the log (nor keep a growing set).
LOGGED_UNKNOWN = 1_000


class IntakeBody(BaseModel):
    """One appeal as a web form or a portal sends it."""

    model_config = ConfigDict(extra="forbid")

    external_id: StrictStr | StrictInt = Field(description="The channel's own appeal number")
    text: str | None = Field(default=None, description="The appeal, up to 20,000 characters")
    created_at: str | None = Field(
        default=None,
        description="ISO 8601 or ДД.ММ.ГГГГ ЧЧ:ММ (without offset: local time of the source); "
        "unset = the time it was received",
    )
    author: str | None = Field(default=None, description="Name of the resident")
    contact: str | None = Field(default=None, description="E-mail or phone of the resident")
    department: str | None = Field(
        default=None,
        description="A known department (of the categories, or the channel's own) overrides the "
        "channel's default; any other value is replaced by the default",
    )
    attachments: list[dict[str, str | None]] = Field(
        default_factory=list, description="Links to files: [{name, url}]"
    )


class IntakeAccepted(BaseModel):
    message_id: str


@dataclass
class AppealIntake:
    """The service behind the endpoint: which source, is the key right, accept one body."""

    catalog: SourceCatalog
    settings: Settings
    publisher: Publisher
    metrics: Metrics
    clock: Callable[[], datetime]
    zone: tzinfo
    unknown_departments: int = 0
    _logged: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def web_source(self, source_id: str) -> Source:
        source = self.catalog.by_id(source_id)
        if source is None or source.kind != "appeal" or source.channel is not Channel.WEB:
            raise HTTPException(404, "нет такого канала обращений (no such web channel)")
        return source

    def authenticate(self, source: Source, given: str | None) -> None:
        try:
            expected = self.settings.secret(source.api_key or "").get_secret_value()
        except KeyError:
            log.error("web channel %s has no API key configured (api_key secret)", source.id)
            raise HTTPException(503, "канал не настроен (channel not configured)") from None
        # Constant time, so that the key cannot be guessed byte by byte from response times.
        if not expected or not hmac.compare_digest((given or "").encode(), expected.encode()):
            raise HTTPException(401, "неверный или отсутствующий X-Api-Key (bad or missing key)")

    async def accept(self, source: Source, raw: bytes) -> str:
        """Publish the appeal in ``raw``; the message id. Invalid input is dead-lettered."""
        try:
            body = IntakeBody.model_validate_json(raw)
            record = body.model_dump()
            message = normalise_appeal(record, source, received_at=self.clock(), zone=self.zone)
            _, unknown = department_of(record, source)
        except (ValidationError, InvalidAppealError) as error:
            reason = describe(error)
            letter = make_dead_letter(STAGE, None, raw, f"{source.id}: {reason}")
            await send_dead_letter(self.publisher, self.metrics, letter)
            raise HTTPException(422, reason) from error
        await self.publisher.publish(Topic.RAW_MESSAGES, message.thread_key, message)
        self.metrics.ingested.labels(source_kind=message.source_kind.value).inc()
        if unknown is not None:
            self._unknown_department(source, unknown)
        return message.message_id

    def _unknown_department(self, source: Source, department: str) -> None:
        self.unknown_departments += 1
        key = (source.id, department)
        if key in self._logged or len(self._logged) >= LOGGED_UNKNOWN:
            return
        self._logged.add(key)
        log.warning(
            "%s: unknown department %r replaced by the channel's default %r (logged once a value)",
            source.id, department[:100], source.department,
        )  # fmt: skip


def describe(error: ValidationError | InvalidAppealError) -> str:
    if isinstance(error, InvalidAppealError):
        return str(error)
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"тело запроса больше {limit} байт (body too large)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"тело запроса больше {limit} байт (body too large)")
        chunks.append(chunk)
    return b"".join(chunks)


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": IntakeBody.model_json_schema()}},
    }
}


def intake_router(intake: AppealIntake) -> APIRouter:
    """``POST /intake/{source_id}`` for the web channels of ``intake.catalog``."""
    router = APIRouter(tags=["intake"])

    @router.post(
        "/intake/{source_id}",
        status_code=202,
        response_model=IntakeAccepted,
        openapi_extra=_BODY_DOC,
        responses={401: {}, 404: {}, 413: {}, 422: {}},
    )
    async def post_appeal(
        source_id: str,
        request: Request,
        api_key: Annotated[str | None, Header(alias="X-Api-Key")] = None,
    ) -> JSONResponse:
        """Принять обращение; 202 и message_id — после надёжной публикации."""
        source = intake.web_source(source_id)
        intake.authenticate(source, api_key)
        message_id = await intake.accept(source, await read_limited(request))
        return JSONResponse({"message_id": message_id}, status_code=202)

    return router
