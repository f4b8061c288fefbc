"""Signing in, shared by the JSON API (POST /api/login) and the login form: the throttle
(services/web/login_limit.py), the password check, the session and its cookie."""

import ipaddress
import logging
from typing import Literal

from fastapi import Request, Response

from services.auth.directory import Directory
from services.auth.store import (
    PasswordChecksBusyError,
    User,
    authenticate,
    local_account,
    open_session,
    sign_in_directory_user,
)
from services.web.login_limit import BadCredentialsError, TooManyAttemptsError
from services.web.security import SESSION_COOKIE, WebState

log = logging.getLogger(__name__)
# Headers a reverse proxy adds: a request carrying one did not come from a browser on this host.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-proto", "x-real-ip")
CookieMode = Literal["auto", "true", "false"]


def client_address(request: Request) -> str:
    # Behind a reverse proxy listed in OTKLIK_FORWARDED_ALLOW_IPS uvicorn puts the client's
    # address here (from X-Forwarded-For); from any other peer the header is ignored.
    return request.client.host if request.client is not None else "unknown"


class NotInOtklikGroupsError(BadCredentialsError):
    """The directory accepted the password, but none of the user's groups is one of otklik's."""

    def __init__(self) -> None:
        Exception.__init__(
            self,
            "Вход через каталог отклонён: учётная запись не входит ни в одну группу otklik. "
            "Обратитесь к администратору",
        )


class SignInsQueuedError(TooManyAttemptsError):
    """Too many sign-ins wait for a password check (services/auth/store.py): answered as the
    throttle's refusals are, 429 with Retry-After, with its own reason."""

    def __init__(self, busy: PasswordChecksBusyError) -> None:
        self.retry_after_seconds = busy.retry_after_seconds
        Exception.__init__(self, str(busy))


def directory_of(request: Request) -> Directory | None:
    """The directory sign-in goes through, if OTKLIK_LDAP_URL is set (create_app builds it)."""
    directory: Directory | None = getattr(request.app.state, "directory", None)
    return directory


async def sign_in(
    state: WebState, login: str, password: str, address: str, directory: Directory | None = None
) -> tuple[User, str]:
    """The user and a new session token; BadCredentialsError or TooManyAttemptsError.

    A local account (a password here) signs in here and only here. Any other login goes to the
    ``directory``, if there is one: on its word the user's row is created or updated from their
    groups (services/auth/store.py, sign_in_directory_user), unless an admin disabled it."""
    limiter = state.login_limiter
    limiter.attempt(login, address)
    if directory is not None:
        async with state.context.db.engine.connect() as connection:
            local = await local_account(connection, login)
        if not local:
            signed_in = await _directory_sign_in(state, directory, login, password)
            limiter.succeeded(login, address)
            return signed_in
    try:
        user = await authenticate(state.context.db, login, password)
    except PasswordChecksBusyError as busy:
        raise SignInsQueuedError(busy) from busy
    if user is None:
        raise BadCredentialsError
    async with state.context.db.transaction() as connection:
        token = await open_session(connection, user, state.context.clock(), state.session_lifetime)
    limiter.succeeded(login, address)
    return user, token


async def _directory_sign_in(
    state: WebState, directory: Directory, login: str, password: str
) -> tuple[User, str]:
    found = await directory.authenticate(login, password)
    if found is None:
        raise BadCredentialsError
    grant = directory.grant(found)
    if grant is None:
        log.info("directory sign-in of %r refused: in none of the groups of otklik", login)
        raise NotInOtklikGroupsError
    now = state.context.clock()
    async with state.context.db.transaction() as connection:
        user = await sign_in_directory_user(
            connection, login=login, display_name=found.display_name, role=grant.role,
            scope=grant.scope, at=now,
        )  # fmt: skip
        if user is None:
            log.info("directory sign-in of %r refused: the account is disabled here", login)
            raise BadCredentialsError
        token = await open_session(connection, user, now, state.session_lifetime)
    directory.rechecks.answered(login, now)  # the directory just vouched: no re-check yet
    log.info("directory sign-in of %r: %s, %s", login, user.role.value, user.scope.describe())
    return user, token


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def plain_http_on_this_host(request: Request) -> bool:
    """A browser on this very host over plain HTTP (`make demo`): no network to protect from."""
    return (
        request.url.scheme == "http"
        and _loopback(client_address(request))
        and not any(header in request.headers for header in PROXY_HEADERS)
    )


def secure_cookie(request: Request) -> bool:
    """Whether cookies get the Secure flag: OTKLIK_SECURE_COOKIES, or in "auto" always but for a
    browser on this host over plain HTTP. The scheme is the client's as the trusted proxy tells
    it (X-Forwarded-Proto, OTKLIK_FORWARDED_ALLOW_IPS)."""
    mode: CookieMode = request.app.state.secure_cookies  # set by create_app
    return mode == "true" or (mode == "auto" and not plain_http_on_this_host(request))


def set_session_cookie(request: Request, response: Response, state: WebState, token: str) -> None:
    secure = secure_cookie(request)
    if secure and request.url.scheme == "http":
        log.warning(
            "Secure session cookie sent over plain HTTP: the browser will drop it. Behind a TLS "
            "proxy list it in OTKLIK_FORWARDED_ALLOW_IPS; a plain-HTTP pilot needs "
            "OTKLIK_SECURE_COOKIES=false"
        )
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(state.session_lifetime.total_seconds()),
        httponly=True, samesite="strict", secure=secure,
    )  # fmt: skip
