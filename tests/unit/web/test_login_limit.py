"""The sign-in throttle: growing delays per login and address, a bounded count per address,
bounded memory; counted before the password is checked. Time is a fake monotonic clock."""

import contextlib
from dataclasses import dataclass

import pytest

from services.web import login_limit
from services.web.login_limit import (
    ADDRESS_FAILURES,
    ADDRESS_WINDOW,
    FREE_FAILURES,
    MAX_DELAY,
    PAIR_MEMORY,
    LoginLimiter,
    TooManyAttemptsError,
    address_key,
    delay_after,
)

OWNER, ATTACKER = "10.0.0.1", "203.0.113.7"


@dataclass
class FakeTime:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def limiter(time: FakeTime) -> LoginLimiter:
    return LoginLimiter(clock=time)


def refused_for(limiter: LoginLimiter, login: str, address: str) -> int:
    with pytest.raises(TooManyAttemptsError) as refused:
        limiter.attempt(login, address)
    return refused.value.retry_after_seconds


def test_delays_grow_after_the_free_failures_up_to_the_cap() -> None:
    assert [delay_after(n) for n in range(1, FREE_FAILURES + 1)] == [0.0] * FREE_FAILURES
    assert [delay_after(FREE_FAILURES + n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert delay_after(FREE_FAILURES + 40) == MAX_DELAY == 300.0


def test_a_pair_waits_longer_after_each_failure(limiter: LoginLimiter, time: FakeTime) -> None:
    for _ in range(FREE_FAILURES):
        limiter.attempt("anna", ATTACKER)  # typos cost nothing
    limiter.attempt("anna", ATTACKER)
    assert refused_for(limiter, "anna", ATTACKER) == 1
    time.now += 1
    limiter.attempt("anna", ATTACKER)
    assert refused_for(limiter, "anna", ATTACKER) == 2
    time.now += 1.5
    with pytest.raises(TooManyAttemptsError) as refused:
        limiter.attempt("anna", ATTACKER)
    assert refused.value.retry_after_seconds == 1  # a refused attempt does not prolong the wait
    assert str(refused.value) == "Слишком много неудачных попыток входа. Повторите через 1 с."
    time.now += 0.5
    limiter.attempt("anna", ATTACKER)
    assert refused_for(limiter, "anna", ATTACKER) == 4


def test_the_owner_at_their_own_address_is_never_slowed_by_other_addresses(
    limiter: LoginLimiter, time: FakeTime
) -> None:
    for _ in range(200):  # an attacker hammering anna's login from many addresses
        time.now += 1
        for host in range(1, 30):
            with contextlib.suppress(TooManyAttemptsError):
                limiter.attempt("anna", f"198.51.100.{host}")
    limiter.attempt("anna", OWNER)  # the owner's attempt goes through (to the password check)
    limiter.succeeded("anna", OWNER)
    assert ("anna", OWNER) not in limiter.pairs


def test_success_clears_the_pair_and_is_no_failure_of_the_address(
    limiter: LoginLimiter, time: FakeTime
) -> None:
    for _ in range(FREE_FAILURES + 2):
        time.now += 60
        limiter.attempt("Anna", OWNER)
    time.now += 60
    limiter.attempt("anna", OWNER)  # logins are compared case-insensitively
    limiter.succeeded("anna", OWNER)
    assert ("anna", OWNER) not in limiter.pairs
    assert len(limiter.addresses[OWNER]) == FREE_FAILURES + 2
    for _ in range(FREE_FAILURES):
        limiter.attempt("anna", OWNER)  # a fresh allowance


def test_a_pair_is_forgotten_after_a_quiet_while(limiter: LoginLimiter, time: FakeTime) -> None:
    for _ in range(FREE_FAILURES + 5):
        time.now += 20
        limiter.attempt("anna", ATTACKER)
    time.now += PAIR_MEMORY
    for _ in range(FREE_FAILURES + 1):
        limiter.attempt("anna", ATTACKER)


def test_an_address_spraying_logins_is_stopped_but_an_office_behind_nat_is_not(
    limiter: LoginLimiter, time: FakeTime
) -> None:
    assert ADDRESS_FAILURES >= 100 and ADDRESS_WINDOW >= 600
    office = 60  # moderators behind one address, each mistyping once in the morning
    for person in range(office):
        time.now += 5
        limiter.attempt(f"moderator{person}", ATTACKER)
        limiter.attempt(f"moderator{person}", ATTACKER)
        limiter.succeeded(f"moderator{person}", ATTACKER)
    for index in range(ADDRESS_FAILURES - office):
        limiter.attempt(f"user{index}", ATTACKER)
    wait = refused_for(limiter, "fresh", ATTACKER)
    assert 0 < wait <= ADDRESS_WINDOW
    limiter.attempt("fresh", "203.0.113.8")  # another address is not
    time.now += ADDRESS_WINDOW
    limiter.attempt("fresh", ATTACKER)  # the window slides


def test_ipv6_addresses_count_by_their_64(limiter: LoginLimiter) -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert address_key("unknown") == "unknown"
    for host in range(FREE_FAILURES + 1):
        limiter.attempt("anna", f"2001:db8:1:2::{host + 1:x}")
    assert refused_for(limiter, "anna", "2001:db8:1:2::ffff") == 1


def test_memory_is_bounded_against_rotating_logins_and_addresses(
    limiter: LoginLimiter, time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login_limit, "MAX_PAIRS", 50)
    monkeypatch.setattr(login_limit, "MAX_ADDRESSES", 20)
    for index in range(1000):
        time.now += 0.01
        limiter.attempt(f"user{index}", f"10.1.{index // 200}.{index % 200}")
    assert len(limiter.pairs) == 50 and len(limiter.addresses) == 20
    limiter.attempt("x" * 16_000, ATTACKER)  # a login as long as the form allows
    assert max(len(login) for login, _ in limiter.pairs) == 100
    for _ in range(FREE_FAILURES + 1):
        limiter.attempt("anna", ATTACKER)  # the newest entries are the ones kept
    assert refused_for(limiter, "anna", ATTACKER) == 1
