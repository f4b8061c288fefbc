"""The deadline watcher's loop: due warnings and overdue marks, each emitted once, as the clock
passes an incident's deadlines (the `otklik sla` process runs it)."""

import asyncio
import logging

from sla.service import IncidentService

log = logging.getLogger(__name__)


class DeadlineWatcher:
    def __init__(self, service: IncidentService) -> None:
        self._service = service

    async def run(self, interval: float) -> None:
        """Catch up on start (everything due while the watcher was down), then keep watching."""
        while True:
            try:
                while await self._service.watch_deadlines():
                    pass
            except Exception:
                log.exception("deadline watcher failed; retrying")
            await asyncio.sleep(interval)
