"""A polling wait for asynchronous effects in tests (the bus fakes live beside their port, in
kernel/bus/memory.py)."""

import asyncio
from collections.abc import Callable


async def wait_for(predicate: Callable[[], object]) -> None:
    """Return once ``predicate()`` is true; fail the test after 30 seconds."""
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.02)
