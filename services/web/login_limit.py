"""Throttling of failed sign-ins (pure bookkeeping; the web process holds one instance).

Two rules, neither of which lets a stranger lock an account's owner out:

* **Per login and address, growing delays.** The first ``FREE_FAILURES`` failures of one login
  from one address cost nothing (typos); after that each further attempt of that pair must wait
  1, 2, 4 … seconds after the previous failure, up to ``MAX_DELAY``. Failures from other
  addresses never slow the owner down at their own address, and a success clears the pair.
* **Per address, a bounded count.** At most ``ADDRESS_FAILURES`` failures within
  ``ADDRESS_WINDOW`` from one address across all logins (password spraying), high enough that a
  city hall behind one NAT address is not locked out by its own typos. IPv6 addresses count by
  their /64, the block one subscriber gets.

While refused, the password is not even checked, so guessing gains nothing; the answer is 429
with Retry-After. An attempt is counted as a failure before the password is checked (and taken
back on success), so parallel guesses cannot slip past. Memory is bounded: at most ``MAX_PAIRS``
pairs and ``MAX_ADDRESSES`` addresses are remembered (expired ones go first, then the least
recently failed), so rotating logins or addresses cannot grow it. The counters live in the web
process; with several replicas each counts on its own, which multiplies the allowance by the
replica count but still bounds it.

Time comes from ``clock`` (monotonic seconds; tests pass their own).
"""

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FREE_FAILURES = 3  # per (login, address) before any delay
FIRST_DELAY = 1.0  # seconds after the first failure beyond the free ones, doubling each time
MAX_DELAY = 300.0  # the longest an owner who keeps mistyping waits (5 minutes)
PAIR_MEMORY = 900.0  # a pair without failures for this long is forgotten (15 minutes)
ADDRESS_FAILURES = 100  # per address (or IPv6 /64) across logins …
ADDRESS_WINDOW = 900.0  # … within 15 minutes
MAX_PAIRS = 100_000
MAX_ADDRESSES = 10_000
MAX_LOGIN = 100  # characters of a login kept in a key (POST /api/login takes no more)


class TooManyAttemptsError(Exception):
    def __init__(self, retry_after_seconds: float) -> None:
        self.retry_after_seconds = max(1, math.ceil(retry_after_seconds))
        wait = self.retry_after_seconds
        when = f"{wait} с" if wait < 60 else f"{math.ceil(wait / 60)} мин"
        super().__init__(f"Слишком много неудачных попыток входа. Повторите через {when}.")


class BadCredentialsError(Exception):
    def __init__(self) -> None:
        super().__init__("Неверный логин или пароль")


def address_key(address: str) -> str:
    """The unit an address is counted in: an IPv4 address, an IPv6 /64 network, or the text."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _login_key(login: str) -> str:
    """Logins compare case-insensitively; the form takes up to 16 KiB, a key keeps 100 chars."""
    return login.casefold()[:MAX_LOGIN]


def delay_after(failures: int) -> float:
    """How long the next attempt of a pair waits after its ``failures``-th failure."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY, math.ldexp(FIRST_DELAY, min(failures - FREE_FAILURES - 1, 30)))


@dataclass
class _Pair:
    failures: int
    last: float  # when the last failure was counted


@dataclass
class LoginLimiter:
    clock: Callable[[], float] = time.monotonic
    pairs: OrderedDict[tuple[str, str], _Pair] = field(default_factory=OrderedDict)
    addresses: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def attempt(self, login: str, address: str) -> None:
        """Count an attempt as a failure, or raise TooManyAttemptsError without counting it."""
        now = self.clock()
        where = address_key(address)
        pair_key = (_login_key(login), where)
        waits = [0.0]
        pair = self.pairs.get(pair_key)
        if pair is not None and now - pair.last >= PAIR_MEMORY:
            pair = None
            del self.pairs[pair_key]
        if pair is not None:
            waits.append(pair.last + delay_after(pair.failures) - now)
        recent = self._recent(where, now)
        if recent is not None and len(recent) >= ADDRESS_FAILURES:
            waits.append(recent[0] + ADDRESS_WINDOW - now)
        if max(waits) > 0:
            raise TooManyAttemptsError(max(waits))
        if pair is None:
            _make_room(self.pairs, MAX_PAIRS)
            pair = self.pairs[pair_key] = _Pair(0, now)
        pair.failures, pair.last = pair.failures + 1, now
        self.pairs.move_to_end(pair_key)
        if recent is None:
            _make_room(self.addresses, MAX_ADDRESSES)
            recent = self.addresses[where] = deque(maxlen=ADDRESS_FAILURES)
        recent.append(now)
        self.addresses.move_to_end(where)

    def succeeded(self, login: str, address: str) -> None:
        """The attempt was right: the pair's slate is clean and it was no failure of the
        address."""
        self.pairs.pop((_login_key(login), address_key(address)), None)
        recent = self.addresses.get(address_key(address))
        if recent:
            recent.pop()

    def _recent(self, where: str, now: float) -> deque[float] | None:
        recent = self.addresses.get(where)
        while recent and now - recent[0] >= ADDRESS_WINDOW:
            recent.popleft()
        return recent


def _make_room(table: "OrderedDict[Any, Any]", limit: int) -> None:
    """Room for one more entry. Entries are kept in the order of their last failure, so the one
    that goes is the least recently failed (an expired one, if any has expired)."""
    while len(table) >= limit:
        table.popitem(last=False)
