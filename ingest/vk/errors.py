"""What otklik does about each VK API error code (pure).

VK's documented codes: 5 authorization failed (token revoked or expired), 6 too many requests per
second, 9 flood control, 10 internal server error, 13 runtime error in ``execute`` (among them
"Response size is too big": over 5 MB), 14 captcha needed, 15 access denied, 18 page deleted or
banned, 29 rate limit reached for this method (a daily quota), 30 profile is private, 203 access to
the group denied, 212 access to post comments denied.
"""

from enum import StrEnum


class ErrorAction(StrEnum):
    RETRY = "retry"  # transient: back off with jitter and call again
    PAUSE_METHOD = "pause_method"  # the method's quota is spent: stop calling it for a while
    # stop using the token and alert: a person must renew it
    TOKEN_INVALID = "token_invalid"  # noqa: S105
    INACCESSIBLE = "inaccessible"  # mark this source or post and go on with the rest
    # VK wants a person to solve a captcha: calling again at once only brings more captchas
    PAUSE_TOKEN = "pause_token"  # noqa: S105
    SHRINK = "shrink"  # the execute asked for too much: split it and ask again
    FAIL = "fail"  # a programming or configuration error: surface it


RETRY_CODES = frozenset({6, 9, 10})
INACCESSIBLE_CODES = frozenset({15, 18, 30, 203, 212})
# Codes that say "execute is not available with this token": fall back to single calls.
NO_EXECUTE_CODES = frozenset({3, 15, 27, 28})


def action_for(code: int) -> ErrorAction:
    if code in RETRY_CODES:
        return ErrorAction.RETRY
    if code == 29:
        return ErrorAction.PAUSE_METHOD
    if code == 5:
        return ErrorAction.TOKEN_INVALID
    if code == 14:
        return ErrorAction.PAUSE_TOKEN
    if code == 13:
        return ErrorAction.SHRINK
    if code in INACCESSIBLE_CODES:
        return ErrorAction.INACCESSIBLE
    return ErrorAction.FAIL
