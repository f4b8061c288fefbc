"""CSRF protection for requests a browser sends with its session cookie.

A cookie is attached by the browser to any request for our site, also one a foreign page
triggers; a custom header or a form field it cannot read is not. So every state-changing request
authenticated by the cookie must carry a token only our own pages know:

* signed in: the token is derived from the session token (HMAC-SHA256 keyed by it). The session
  token sits in an HttpOnly cookie no script can read, so the derived token cannot be computed by
  anyone else, needs no storage, and dies with the session. Pages put it in a ``<meta>`` tag;
  scripts send it as ``X-CSRF-Token``, forms as the ``csrf_token`` field.
* before sign-in (the login form): double-submit — a random token in a SameSite=Strict cookie and
  the same value in the form; a foreign page can set neither.

Requests with ``Authorization: Bearer`` are not checked: a browser never adds that header on its
own, so a forged request cannot carry it (docs/web-ui.md, "Security").
"""

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "x-csrf-token"
FORM_FIELD = "csrf_token"
PRELOGIN_COOKIE = "otklik_login_csrf"
REFUSED = "Запрос отклонён: нет действительного CSRF-токена. Обновите страницу и повторите."


def session_csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"otklik-csrf-v1", hashlib.sha256).hexdigest()


def new_prelogin_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def check_session_header(request: Request, session_token: str) -> None:
    """Raise 403 unless a state-changing request carries the session's token in the header."""
    if request.method in SAFE_METHODS:
        return
    if not tokens_match(session_csrf_token(session_token), request.headers.get(HEADER)):
        raise HTTPException(403, REFUSED)
