"""Background loops of a stage (long poll, wall polling, outbox relay, watchers) outlive the
failures of the things they talk to: a loop that raises is logged and started again after a
jittered backoff, instead of dying silently while the process looks healthy."""

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)
Loop = Callable[[], Coroutine[Any, Any, None]]
# A loop that ran this long before failing was healthy: its next failure starts the backoff anew.
HEALTHY_SECONDS = 300.0


async def keep_running(loop: Loop, *, base_delay: float = 1.0, max_delay: float = 60.0) -> None:
    """Run ``loop`` until it returns (it finished on purpose, e.g. a VK token marked invalid) or
    is cancelled; restart it after every other failure."""
    name = getattr(loop, "__qualname__", repr(loop))
    failures = 0
    while True:
        started = time.monotonic()
        try:
            await loop()
            return
        except Exception:
            if time.monotonic() - started > HEALTHY_SECONDS:
                failures = 0
            failures += 1
            delay = min(max_delay, base_delay * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)  # noqa: S311
            log.exception("%s failed; restarting it in %.1fs", name, delay)
            await asyncio.sleep(delay)
