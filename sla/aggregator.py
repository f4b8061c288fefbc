"""The aggregator's loop: a new revision of every month whose inputs changed, published through
the outbox; `otklik aggregate` runs it, `--once` a single round."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from kernel.contracts.indicators import IndicatorRecord
from kernel.db.engine import Database
from sla.domain.indicators import month_close
from sla.storage.aggregation import months_with_data, publish_month

log = logging.getLogger(__name__)


class Aggregator:
    def __init__(
        self,
        db: Database,
        zone_of: Callable[[str], ZoneInfo],
        threshold_t: int,
        clock: Callable[[], datetime],
        close: tuple[int, time] = (5, time(10, 0)),
    ) -> None:
        self._db = db
        self._zone_of = zone_of
        self._threshold_t = threshold_t
        self._clock = clock
        self._close_day, self._close_time = close

    async def publish_month(self, municipality: str, month: str) -> IndicatorRecord | None:
        zone = self._zone_of(municipality)
        async with self._db.transaction() as connection:
            return await publish_month(
                connection,
                municipality,
                month,
                zone=zone,
                threshold_t=self._threshold_t,
                now=self._clock(),
                closes_at=month_close(month, zone, self._close_day, self._close_time),
            )

    async def run_once(self, month: str | None = None) -> list[IndicatorRecord]:
        """New revisions for every month with data (or one month); unchanged months are skipped."""
        async with self._db.engine.connect() as connection:
            pairs = await months_with_data(connection, self._zone_of)
        published = []
        for municipality, pair_month in pairs:
            if month is None or pair_month == month:
                record = await self.publish_month(municipality, pair_month)
                if record is not None:
                    published.append(record)
        return published

    async def run(self, interval: float) -> None:
        while True:
            try:
                records = await self.run_once()
                if records:
                    log.info("published %d indicator revisions", len(records))
            except Exception:
                log.exception("aggregation failed; retrying")
            await asyncio.sleep(interval)
