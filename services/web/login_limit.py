"""Rate limit on failed sign-ins (pure bookkeeping; the web process holds one instance).

Failures are counted per login and per client address in a sliding window. A login is blocked
after 5 failures in 5 minutes (guessing one account's password); an address after 20 (guessing
across accounts), higher because a city hall's moderators often share one NAT address and a few
typos there must not lock the whole office out. While blocked, the password is not even checked,
so guessing gains nothing; the answer is 429 with Retry-After. The counters live in the web
process: one `otklik web` serves the queue; with several replicas each counts on its own, which
multiplies the limit by the replica count but still bounds it.
"""

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

LOGIN_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=5)
_MAX_KEYS = 50_000  # an attacker spraying logins must not grow memory without bound


class TooManyAttemptsError(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after_seconds = max(1, math.ceil(retry_after.total_seconds()))
        minutes = max(1, math.ceil(self.retry_after_seconds / 60))
        super().__init__(f"Слишком много неудачных попыток входа. Повторите через {minutes} мин.")


class BadCredentialsError(Exception):
    def __init__(self) -> None:
        super().__init__("Неверный логин или пароль")


@dataclass
class LoginLimiter:
    """Failures per key ("login:anna", "ip:10.0.0.5") within ``window``."""

    window: timedelta = WINDOW
    failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self.failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked_for(self, keys: dict[str, int], now: datetime) -> timedelta | None:
        """How long until every key is under its limit again (None: not blocked)."""
        waits = [
            recent[-limit] + self.window - now
            for key, limit in keys.items()
            if len(recent := self._recent(key, now)) >= limit
        ]
        return max(waits) if waits else None

    def attempt(self, keys: dict[str, int], now: datetime) -> None:
        """Count an attempt, or raise TooManyAttemptsError while a key is over its limit.
        Counted before the password is checked, so parallel guesses cannot slip past."""
        wait = self.blocked_for(keys, now)
        if wait is not None:
            raise TooManyAttemptsError(wait)
        if len(self.failures) >= _MAX_KEYS:
            self.failures = {k: t for k, t in self.failures.items() if self._recent(k, now)}
        for key in keys:
            self.failures.setdefault(key, deque()).append(now)

    def succeeded(self, keys: dict[str, int], now: datetime, login_key: str) -> None:
        """The attempt was right: it is not a failure, and the login's slate is clean."""
        for key in keys:
            times = self.failures.get(key)
            if times is not None and now in times:
                times.remove(now)
        self.failures.pop(login_key, None)
