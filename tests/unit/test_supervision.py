"""Background loops are restarted after a failure, not after a deliberate return."""

import asyncio

import pytest

from services.supervision import keep_running


async def test_a_failing_loop_is_restarted_until_it_returns() -> None:
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(len(calls))
        if len(calls) < 3:
            raise ConnectionError("broker away")

    await asyncio.wait_for(keep_running(flaky, base_delay=0.001), timeout=5)
    assert calls == [0, 1, 2]


async def test_cancellation_stops_the_loop() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(keep_running(forever))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
