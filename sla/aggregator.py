"""The aggregator's loop, the only writer of indicator revisions: a new revision of every month
that can have changed, published through the outbox; `otklik aggregate` runs it, `--once` a
single round. Reads (CLI, API, pages) only read what it stored (docs/indicators.md, Revisions).

What a round computes:

* every month that is not closed yet (no revision, or the latest is preliminary): before its
  close time a preliminary revision when the inputs changed; once the close time has passed,
  ``close_month``, the explicit close, which writes the revision marked ``closed``;
* a closed month only when its inputs may have changed since the previous round
  (``changed_months``: incidents whose ``updated_at`` or messages whose ``stored_at`` is later,
  with ``CHANGE_OVERLAP`` for transactions that committed late); the first round of a process
  has no previous round and checks every closed month once.

A municipality with data that the SLA policy does not name (a source mapped to it, governed by
the policy's defaults like its deadlines) is still published — skipping it would drop real
incidents from the indicators — but logged once and counted in a gauge, so the policy file can
be completed. A typo on a read can no longer create a revision: reads never write.
"""

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Gauge

from kernel.contracts.indicators import IndicatorRecord
from kernel.db.engine import Database
from sla.domain.indicators import month_close
from sla.domain.report_mail import NOBODY, Recipients
from sla.storage.aggregation import (
    changed_months,
    database_now,
    latest_revisions,
    months_with_data,
    publish_month,
)
from sla.storage.deliveries import record_deliveries

log = logging.getLogger(__name__)
# A transaction stamps its rows when it runs and becomes visible when it commits; one that
# committed after a round read the tables but stamped its rows before that round began is
# still seen by the next rounds for this long.
CHANGE_OVERLAP = timedelta(minutes=10)


class Aggregator:
    def __init__(
        self,
        db: Database,
        zone_of: Callable[[str], ZoneInfo],
        threshold_t: int,
        clock: Callable[[], datetime],
        close: tuple[int, time] = (5, time(10, 0)),
        known: Collection[str] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._db = db
        self._zone_of = zone_of
        self._threshold_t = threshold_t
        self._clock = clock
        self._close_day, self._close_time = close
        self._known = None if known is None else frozenset(known)
        self._warned: set[str] = set()
        self.change_overlap = CHANGE_OVERLAP
        # (the clock, the database's clock) when the last complete round began
        self._watermark: tuple[datetime, datetime] | None = None
        # Who gets each closed revision by e-mail (sla/delivery/); `otklik aggregate` sets it.
        self.recipients: Recipients = NOBODY
        self._unknown = (
            None
            if registry is None
            else Gauge(
                "otklik_indicators_unknown_municipalities",
                "Municipalities with messages or incidents that the SLA policy does not name "
                "(their months are not published), as of the aggregator's last round",
                registry=registry,
            )
        )

    def closes_at(self, municipality: str, month: str) -> datetime:
        zone = self._zone_of(municipality)
        return month_close(month, zone, self._close_day, self._close_time)

    async def _publish(self, municipality: str, month: str, closed: bool) -> IndicatorRecord | None:
        now = self._clock()
        async with self._db.transaction() as connection:
            record = await publish_month(
                connection,
                municipality,
                month,
                zone=self._zone_of(municipality),
                threshold_t=self._threshold_t,
                now=now,
                closed=closed,
            )
            if record is not None and record.closed:
                # In the revision's transaction: a closed revision never lacks its e-mails.
                await record_deliveries(
                    connection, municipality, month, record.revision,
                    self.recipients.of(municipality), now,
                )  # fmt: skip
            return record

    async def publish_month(self, municipality: str, month: str) -> IndicatorRecord | None:
        """The month as it stands now: a preliminary revision before its close, a late-change
        revision (closed) after it; None when the inputs did not change."""
        closed = self._clock() >= self.closes_at(municipality, month)
        return await self._publish(municipality, month, closed)

    async def close_month(self, municipality: str, month: str) -> IndicatorRecord | None:
        """The month's close: its first revision marked ``closed``, written (and published) even
        when no number moved. Refused before the close time."""
        closes_at = self.closes_at(municipality, month)
        if self._clock() < closes_at:
            raise ValueError(
                f"{municipality} {month}: месяц закрывается {closes_at:%Y-%m-%d %H:%M}"
            )
        record = await self._publish(municipality, month, closed=True)
        if record is not None:
            log.info("closed %s %s (revision %d)", municipality, month, record.revision)
        return record

    async def run_once(self, month: str | None = None) -> list[IndicatorRecord]:
        """One round: the months that can have changed (or every municipality's ``month``, the
        explicit "compute now" of `otklik aggregate --once --month`)."""
        now = self._clock()
        async with self._db.engine.connect() as connection:
            db_now = await database_now(connection)
            pairs = self._known_pairs(await months_with_data(connection, self._zone_of))
            latest = await latest_revisions(connection)
            changed = None
            if self._watermark is not None and month is None:
                changed = await changed_months(
                    connection,
                    incidents_since=self._watermark[0] - self.change_overlap,
                    messages_since=self._watermark[1] - self.change_overlap,
                    zones={self._zone_of(municipality) for municipality, _ in pairs},
                )
        published = []
        for municipality, pair_month in pairs:
            if month is not None and pair_month != month:
                continue
            state = latest.get((municipality, pair_month))
            if now < self.closes_at(municipality, pair_month):
                record = await self._publish(municipality, pair_month, closed=False)
            elif state is None or not state.closed:
                record = await self.close_month(municipality, pair_month)
            elif changed is None or pair_month in changed:
                record = await self._publish(municipality, pair_month, closed=True)  # late change
            else:
                continue
            if record is not None:
                published.append(record)
        if month is None:
            self._watermark = (now, db_now)
        return published

    def _known_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if self._known is None:
            return pairs
        unknown = {municipality for municipality, _ in pairs} - self._known
        if unknown - self._warned:
            log.warning(
                "municipalities the SLA policy does not name (its defaults apply): %s",
                ", ".join(sorted(unknown - self._warned)),
            )
            self._warned |= unknown
        if self._unknown is not None:
            self._unknown.set(len(unknown))
        return pairs

    async def run(self, interval: float) -> None:
        while True:
            try:
                records = await self.run_once()
                if records:
                    log.info("published %d indicator revisions", len(records))
            except Exception:
                log.exception("aggregation failed; retrying")
            await asyncio.sleep(interval)
