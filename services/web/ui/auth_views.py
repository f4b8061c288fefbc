"""Login and logout forms. The login form is protected by a double-submit token (there is no
session yet), logout by the session's CSRF token; both share sign_in with POST /api/login, so
the same rate limit applies."""

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.auth.store import close_session
from services.web import csrf
from services.web.login_limit import BadCredentialsError, TooManyAttemptsError
from services.web.security import SESSION_COOKIE, WebState, token_from, web_state
from services.web.signin import (
    client_address,
    directory_of,
    secure_cookie,
    set_session_cookie,
    sign_in,
)
from services.web.ui.pages import (
    LoginRequiredError,
    error_page,
    local_path,
    page_session,
    render,
)

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
MAX_FORM = 16_384


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the login and logout forms are all the UI posts as forms)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(415, "Ожидается форма")
    body = await request.body()
    if len(body) > MAX_FORM:
        raise HTTPException(413, "Слишком большая форма")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    return {key: values[0] for key, values in fields.items()}


def _login_form(
    request: Request, next_path: str, status: int = 200, error: str = "", login: str = ""
) -> HTMLResponse:
    token = request.cookies.get(csrf.PRELOGIN_COOKIE) or csrf.new_prelogin_token()
    response = render(
        "login.html", None, status, next_path=next_path, error=error, login=login,
        csrf_token=token, active="",
    )  # fmt: skip
    response.set_cookie(
        csrf.PRELOGIN_COOKIE, token, max_age=3600, path="/login", httponly=True,
        samesite="strict", secure=secure_cookie(request),
    )  # fmt: skip
    return response


@router.get("/", response_model=None)
async def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login", response_model=None)
async def login_page(
    request: Request, wanted: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    try:
        await page_session(request)
    except LoginRequiredError:  # not signed in, or the session expired
        return _login_form(request, local_path(wanted))
    return RedirectResponse(local_path(wanted), status_code=303)


@router.post("/login", response_model=None)
async def login_submit(request: Request, state: State) -> Response:
    form = await read_form(request)
    next_path, login = local_path(form.get("next")), form.get("login", "").strip()
    if not csrf.tokens_match(request.cookies.get(csrf.PRELOGIN_COOKIE), form.get(csrf.FORM_FIELD)):
        error = "Форма входа устарела. Обновите страницу и войдите снова."
        return _login_form(request, next_path, 403, error, login)
    if not login or not form.get("password"):
        return _login_form(request, next_path, 422, "Введите логин и пароль.", login)
    try:
        _, token = await sign_in(
            state, login, form["password"], client_address(request), directory_of(request)
        )
    except TooManyAttemptsError as blocked:
        refused = _login_form(request, next_path, 429, str(blocked), login)
        refused.headers["Retry-After"] = str(blocked.retry_after_seconds)
        return refused
    except BadCredentialsError as wrong:
        return _login_form(request, next_path, 401, f"{wrong}.", login)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, state, token)
    response.delete_cookie(csrf.PRELOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", response_model=None)
async def logout_submit(request: Request, state: State) -> Response:
    form = await read_form(request)
    token = token_from(request)
    if token is not None:
        if not csrf.tokens_match(csrf.session_csrf_token(token), form.get(csrf.FORM_FIELD)):
            hint = "Запрос на выход отклонён (нет CSRF-токена). Обновите страницу и повторите."
            return error_page(None, 403, "Выход не выполнен", hint)
        async with state.context.db.transaction() as connection:
            await close_session(connection, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
