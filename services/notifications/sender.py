"""The notifier, a loop of the `otklik sla` process (beside the deadline watcher whose events it
reads): each round it plans the outbox rows for the recent events (services/notifications/
store.py), then sends every due row — an immediate one as its own message, a digest row with the
other due digest rows of the same user and channel as one message — and marks them sent; a
failure is kept on the rows with its reason and tried again later, longer apart each time
(sla/delivery/sender.py's schedule), except a refusal for good (Telegram's «chat not found»),
which is not tried again. A channel that is not configured (no SMTP server, no bot token) leaves
its rows waiting.

As the report sender: a row is claimed under a row lock and marked in the transaction that
claimed it, so a restart never sends a marked row again; a crash between the receiver's accept
and that commit sends it once more (at least once)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.engine import Database
from kernel.observability import Metrics
from kernel.settings import Settings
from services.notifications import telegram
from services.notifications.store import (
    Notification,
    claim_due,
    details,
    failure_reasons,
    mark_failed,
    mark_sent,
    plan,
    preferences,
)
from services.notifications.telegram import TelegramConfig, TelegramRefusedError
from services.notifications.texts import ANSWER_FAILED, EMAIL, TELEGRAM, Item, digest, single
from sla.delivery.sender import retry_at
from sla.delivery.smtp import SmtpConfig, send_message
from sla.domain.numbers import IncidentNumber
from sla.domain.policy import SlaPolicy

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        db: Database,
        policy: SlaPolicy,
        clock: Callable[[], datetime],
        smtp: SmtpConfig | None,
        telegram: TelegramConfig | None,
        backoff: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._policy = policy
        self._clock = clock
        self._smtp = smtp
        self._telegram = telegram
        self._backoff = backoff
        self._sleep = sleep  # Telegram's flood control waits through it
        self._metrics = metrics
        self._zone = ZoneInfo(policy.spec.defaults.timezone)

    def _members_of(self, region: str) -> Iterable[str]:
        return self._policy.municipalities_of(region)

    async def plan(self) -> int:
        """New outbox rows for the recent events; returns how many."""
        async with self._db.transaction() as connection:
            return await plan(connection, self._clock(), self._members_of, self._zone)

    async def send_due(self) -> int:
        """Every message due now, one transaction each; returns how many were sent."""
        now = self._clock()
        channels = [c for c, ready in ((EMAIL, self._smtp), (TELEGRAM, self._telegram)) if ready]
        sent = 0
        while channels:
            async with self._db.transaction() as connection:
                batch = await claim_due(connection, now, channels)
                if not batch:
                    break
                ids = [row.id for row in batch]
                try:
                    await self._send(connection, batch)
                except TelegramRefusedError as error:
                    log.warning("notification %s refused: %s", ids, error)
                    await mark_failed(connection, ids, str(error)[:1000], None)
                    self._count(batch[0].channel, "failed")
                    continue
                except Exception as error:  # kept on the rows and retried
                    text = f"{type(error).__name__}: {error}"[:1000]
                    log.warning("notification %s failed: %s", ids, text)
                    later = retry_at(max(row.attempts for row in batch) + 1, now)
                    await mark_failed(connection, ids, text, later)
                    self._count(batch[0].channel, "failed")
                    continue
                await mark_sent(connection, ids, self._clock())
                self._count(batch[0].channel, "sent")
                sent += 1
        return sent

    def _count(self, channel: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.notifications.labels(channel=channel, result=result).inc()

    async def _send(self, connection: AsyncConnection, batch: Sequence[Notification]) -> None:
        items = await self._items(connection, batch)
        first = batch[0]
        # Times as the user reads them: in their zone, or the policy's.
        chosen = (await preferences(connection, first.login)).timezone
        zone = ZoneInfo(chosen) if chosen else self._zone
        if first.digest:
            subject, text = digest(items, self._clock(), zone)
        else:
            subject, text = single(items[0], zone)
        if first.channel == TELEGRAM:
            assert self._telegram is not None  # claimed only when configured
            await telegram.send_message(
                self._telegram, first.address, f"{subject}\n\n{text}", self._sleep
            )
            return
        assert self._smtp is not None  # likewise
        # Unfolded: Python's folding of a long UTF-8 subject can drop the space between two
        # encoded words («срокответа»); mail clients read a long encoded word as it is.
        message = EmailMessage(policy=SMTP.clone(max_line_length=998))
        message["From"] = self._smtp.sender
        message["To"] = first.address
        message["Subject"] = subject
        message["Date"] = format_datetime(self._clock())
        # One Message-ID per outbox row set: a repeat after a crash shows as one message.
        domain = self._smtp.sender.rpartition("@")[2] or "otklik"
        message["Message-ID"] = f"<notification-{'-'.join(str(r.id) for r in batch)}@{domain}>"
        message.set_content(text)
        await send_message(self._smtp, message, self._backoff)

    async def _items(
        self, connection: AsyncConnection, batch: Sequence[Notification]
    ) -> list[Item]:
        ids = [row.incident_id for row in batch]
        found = await details(connection, ids)
        failed = [row.incident_id for row in batch if row.kind == ANSWER_FAILED]
        reasons = await failure_reasons(connection, failed) if failed else {}
        names = self._policy.municipality_names()
        items = []
        for row in batch:
            incident = found[row.incident_id]
            number = IncidentNumber(
                self._policy.number_prefix(incident.number_municipality),
                incident.number_year,
                incident.number,
            )
            items.append(
                Item(
                    kind=row.kind,
                    number=str(number),
                    municipality=names.get(incident.municipality, incident.municipality),
                    category=incident.category,
                    due=incident.final_answer_due,
                    reason=reasons.get(row.incident_id) if row.kind == ANSWER_FAILED else None,
                )
            )
        return items

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.plan()
                sent = await self.send_due()
                if sent:
                    log.info("sent %d notifications", sent)
            except Exception:
                log.exception("notifications failed; retrying")
            await asyncio.sleep(interval)


def notifier_for(
    db: Database,
    policy: SlaPolicy,
    clock: Callable[[], datetime],
    settings: Settings,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    metrics: Metrics | None = None,
) -> Notifier:
    """The notifier as `otklik sla` runs it: the report e-mails' SMTP relay, the bot's token."""
    smtp, bot = SmtpConfig.from_settings(settings), TelegramConfig.from_settings(settings)
    return Notifier(db, policy, clock, smtp, bot, sleep=sleep, metrics=metrics)
