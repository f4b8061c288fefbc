"""The OpenAPI description of the web API, as the app really behaves (checked by schemathesis,
tests/integration/test_api_schema.py).

* Security: a route that depends on ``security.requires`` takes the session token as a Bearer
  header (a program) or the HttpOnly session cookie (a browser); with the cookie, a POST also
  needs the ``X-CSRF-Token`` header (services/web/csrf.py). It answers 401 without a session,
  403 when the role may not (or the CSRF token is missing).
* Errors: every 4xx body is ``ErrorBody`` (``{"detail": "…"}``), also the 422 FastAPI would
  describe as a list (services/web/validation.py turns its list into one text).
"""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from services.auth.roles import Action
from services.web.csrf import HEADER
from services.web.security import REQUIREMENTS, SESSION_COOKIE
from services.web.validation import DESCRIPTIONS, ErrorBody

SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "Токен сессии из POST /api/login (поле token)",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "Cookie сессии браузера (HttpOnly), ставится при входе",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "С cookie сессии: токен CSRF страницы на каждый POST",
    },
}
assert SCHEMES["csrfHeader"]["name"].lower() == HEADER
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _actions(dependant: Dependant) -> Iterator[Action]:
    for sub in dependant.dependencies:
        if sub.call in REQUIREMENTS:
            yield REQUIREMENTS[sub.call]
        yield from _actions(sub)


def _error(code: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def _describe(operation: dict[str, Any], method: str, action: Action | None) -> None:
    responses = operation.setdefault("responses", {})
    if "422" in responses:  # FastAPI's list of errors: ours is one text
        responses["422"] = _error(422)
    if action is None:
        return
    cookie: dict[str, list[str]] = {"sessionCookie": []}
    if method != "get":
        cookie["csrfHeader"] = []
    operation["security"] = [{"bearer": []}, cookie]
    responses.setdefault("401", _error(401))
    if action is not Action.READ or method != "get":  # a role below, or no CSRF token
        responses.setdefault("403", _error(403))
    operation["description"] = (
        operation.get("description", "") + f"\n\nНужно право: `{action.value}`."
    ).strip()


def schema_of(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    components["securitySchemes"] = SCHEMES
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        actions = list(_actions(route.dependant))
        for method in context.methods or ():
            operation = schema["paths"].get(context.path_format, {}).get(method.lower())
            if operation is not None:
                _describe(operation, method.lower(), actions[0] if actions else None)
    app.openapi_schema = schema
    return schema


def describe(app: FastAPI) -> None:
    """``/openapi.json`` (and /docs) from ``schema_of``."""
    app.openapi = lambda: schema_of(app)  # type: ignore[method-assign]
