"""What the web app accepts, checked once for every route before any view runs.

PostgreSQL refuses a NUL character and an unpaired UTF-16 surrogate (psycopg cannot even encode
one), openpyxl refuses the other C0 control characters, and a number past a column's range
overflows in the database: each used to end as a 500 wherever a route handed such a value on.
``InputGuard`` refuses them in the path, the query, a form and every string (keys too) of a JSON
body with 422; the typed parameters below bound the numbers and months. Every error the app
answers has one shape, ``{"detail": "<text in Russian>"}`` (``ErrorBody``); FastAPI's own list
of validation errors is turned into it too.
"""

import json
import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sla.domain.plan_fact import MONTH_PATTERN

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# C0 controls except tab, line feed and carriage return; lone surrogates (a JSON "\ud800").
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")

# The largest offset or revision a request may name: far beyond any real page, well inside
# PostgreSQL's integer (a revision) and bigint (an offset).
MAX_NUMBER = 1_000_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_NUMBER)]
Revision = Annotated[int | None, Query(ge=1, le=MAX_NUMBER)]
# A month of the years 1900-2999 (sla/domain/plan_fact.py): 0000-01 and 9999-12 were 500s.
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, 1900-2999")]


class ErrorBody(BaseModel):
    """Every 4xx answer of the API: what was wrong, in Russian."""

    detail: str


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error answers it really gives, each an ``ErrorBody``."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


DESCRIPTIONS = {
    401: "Нет входа: сессия не передана или истекла",
    403: "Роль не позволяет это действие, или нет CSRF-токена (запрос с cookie)",
    404: "Не найдено (или вне области доступа пользователя)",
    405: "Метод не поддерживается",
    409: "Действие невозможно в текущем состоянии",
    413: "Тело запроса слишком большое",
    422: "Неверный запрос: недопустимое значение или символ",
    429: "Слишком много неудачных попыток входа",
    503: "Сервис не настроен для этого (например, нет производственного календаря на год)",
}


def forbidden_in(text: str) -> str | None:
    """The first character the app refuses in ``text``, as U+XXXX, or None."""
    found = FORBIDDEN.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def refusal(where: str, character: str) -> str:
    return (
        f"Недопустимый символ {character} в {where}: управляющие символы (кроме табуляции и "
        "перевода строки) и одиночные суррогаты не принимаются"
    )


def _pairs(data: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string of a JSON document with where it sits, without recursion (a deep body must
    not end in a RecursionError here)."""
    stack = [(where, data)]
    while stack:
        place, value = stack.pop()
        if isinstance(value, str):
            yield place, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield f"{place}, ключе «{key[:50]}»", key
                stack.append((f"{place}, поле «{key[:50]}»", item))
        elif isinstance(value, list):
            stack.extend((f"{place}, элемент {n}", item) for n, item in enumerate(value))


def _form(text: str, where: str) -> Iterator[tuple[str, str]]:
    for key, value in parse_qsl(text, keep_blank_values=True):
        yield f"{where} (имя «{key[:50]}»)", key
        yield f"{where} «{key[:50]}»", value


def _body(content_type: str, body: bytes) -> Iterator[tuple[str, str]]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        yield from _form(body.decode("utf-8", "replace"), "поле формы")
        return
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return  # not JSON: the route's own parsing answers 422
    yield from _pairs(data, "теле запроса")


def first_refusal(scope: Scope, body: bytes) -> str | None:
    """Why the request is refused, or None."""
    headers = dict(scope.get("headers", []))
    content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
    if content_type.startswith("application/json") and not _utf8(body):
        return "Тело запроса не в кодировке UTF-8"  # FastAPI would answer 400 in English
    checked = [
        ("пути запроса", scope.get("path", "")),
        *_form(scope.get("query_string", b"").decode("latin-1"), "параметре"),
        *(_body(content_type, body) if body else ()),
    ]
    for where, text in checked:
        character = forbidden_in(text)
        if character is not None:
            return refusal(where, character)
    return None


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class InputGuard:
    """Pure ASGI middleware: a request with a refused character is answered 422 before the app
    sees it. A JSON or form body is read whole (installed inside the body limit, so bounded)
    and handed on unchanged."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        body = b""
        if content_type.startswith(BODY_TYPES):
            body = await _read(receive)
            receive = _replay(body)
        reason = first_refusal(scope, body)
        if reason is None:
            await self.app(scope, receive, send)
            return
        await JSONResponse({"detail": reason}, status_code=422)(scope, receive, send)


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


# Pydantic's messages for the errors a caller meets most, in Russian; others as pydantic says.
MESSAGES = {
    "missing": "обязательное поле",
    "enum": "допустимые значения: {expected}",
    "literal_error": "допустимые значения: {expected}",
    "greater_than_equal": "не меньше {ge}",
    "greater_than": "больше {gt}",
    "less_than_equal": "не больше {le}",
    "string_too_short": "не короче {min_length} символов",
    "string_too_long": "не длиннее {max_length} символов",
    "too_short": "не меньше {min_length} элементов",
    "too_long": "не больше {max_length} элементов",
    "string_pattern_mismatch": "не подходит под шаблон {pattern}",
    "int_parsing": "ожидается целое число",
    "float_parsing": "ожидается число",
    "bool_parsing": "ожидается true или false",
    "string_type": "ожидается строка",
    "json_invalid": "тело запроса — не JSON",
}


def explained(error: Any) -> str:
    place = ".".join(str(part) for part in error.get("loc", ()))
    template = MESSAGES.get(error.get("type", ""))
    try:
        text = template.format(**error.get("ctx", {})) if template else str(error.get("msg"))
    except KeyError:
        text = str(error.get("msg"))
    return f"{place}: {text}"


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's list of errors as one Russian sentence (one shape for every error)."""
    assert isinstance(error, RequestValidationError)
    parts = [explained(item) for item in error.errors()[:3]]
    return JSONResponse({"detail": "Неверный запрос: " + "; ".join(parts)}, status_code=422)


def install(app: FastAPI) -> None:
    """The guard and the one error shape; call before the body limit is added, so the limit
    stays the outer middleware and the guard reads a bounded body."""
    app.add_middleware(InputGuard)
    app.add_exception_handler(RequestValidationError, validation_error)
