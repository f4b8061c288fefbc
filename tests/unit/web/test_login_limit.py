"""The sign-in rate limit: per login and per address, sliding window, counted before the
password is checked."""

from datetime import UTC, datetime, timedelta

import pytest

from services.web.login_limit import LoginLimiter, TooManyAttemptsError

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEYS = {"login:anna": 5, "ip:10.0.0.1": 20}


def fail_times(limiter: LoginLimiter, keys: dict[str, int], times: int, start: datetime) -> None:
    for second in range(times):
        limiter.attempt(keys, start + timedelta(seconds=second))


def test_the_sixth_attempt_on_a_login_within_five_minutes_is_refused() -> None:
    limiter = LoginLimiter()
    fail_times(limiter, KEYS, 5, T0)
    with pytest.raises(TooManyAttemptsError) as refused:
        limiter.attempt(KEYS, T0 + timedelta(minutes=1))
    # The oldest failure (T0) leaves the window at T0 + 5 min: four minutes from now.
    assert refused.value.retry_after_seconds == 4 * 60
    assert "Повторите через 4 мин" in str(refused.value)


def test_the_window_slides() -> None:
    limiter = LoginLimiter()
    fail_times(limiter, KEYS, 5, T0)
    limiter.attempt(KEYS, T0 + timedelta(minutes=5, seconds=1))  # T0 has left the window


def test_a_refused_attempt_does_not_prolong_the_block() -> None:
    limiter = LoginLimiter()
    fail_times(limiter, KEYS, 5, T0)
    for minute in range(1, 5):
        with pytest.raises(TooManyAttemptsError):
            limiter.attempt(KEYS, T0 + timedelta(minutes=minute))
    limiter.attempt(KEYS, T0 + timedelta(minutes=5, seconds=1))


def test_an_address_guessing_across_logins_is_blocked_after_twenty() -> None:
    limiter = LoginLimiter()
    for index in range(20):
        limiter.attempt({f"login:user{index}": 5, "ip:10.0.0.9": 20}, T0)
    with pytest.raises(TooManyAttemptsError):
        limiter.attempt({"login:fresh": 5, "ip:10.0.0.9": 20}, T0)
    limiter.attempt({"login:fresh": 5, "ip:10.0.0.10": 20}, T0)  # another address is not


def test_success_clears_the_login_and_is_not_a_failure_of_the_address() -> None:
    limiter = LoginLimiter()
    fail_times(limiter, KEYS, 4, T0)
    now = T0 + timedelta(seconds=30)
    limiter.attempt(KEYS, now)
    limiter.succeeded(KEYS, now, "login:anna")
    assert "login:anna" not in limiter.failures
    assert len(limiter.failures["ip:10.0.0.1"]) == 4
    fail_times(limiter, KEYS, 5, now)  # a fresh allowance of five for the login
