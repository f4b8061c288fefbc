"""The sender of the monthly reports, a loop of the aggregator process: every due row of
report_deliveries (written with a closed revision) goes out — to an e-mail address with the
municipality's plan/fact report for the year to the revision's month (XLSX and PDF) and a short
summary, to a webhook URL as the signed JSON of the revision — then is marked sent; a failure is
marked with its error and tried again later, longer apart each time. A channel that is not
configured (no SMTP server, no signing key) leaves its rows waiting.

Exactly once per revision and recipient as far as PostgreSQL can see: a row is claimed under a
row lock (two senders never send the same row) and marked sent in the transaction that claimed
it. The one gap is a crash after the receiver accepted and before that commit: the row is still
unsent and goes out again on restart — at least once, with the same Message-ID (mail clients
show one message) or X-Otklik-Delivery (the receiver drops the repeat)."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.indicators import IndicatorRecord
from kernel.db.engine import Database
from kernel.yaml_files import load
from kernel.yaml_text import ConfigFileError
from sla.delivery import webhook
from sla.delivery.smtp import SmtpConfig, send_message
from sla.delivery.webhook import WebhookConfig
from sla.domain.plan_fact import Period, PlanFactReport, build_report
from sla.domain.policy import SlaPolicy
from sla.domain.report_mail import (
    NOBODY,
    Recipients,
    RecipientsError,
    delivery_key,
    is_webhook,
    message_id,
    month_label,
    parse_recipients,
    recipient_label,
    subject,
    summary,
)
from sla.domain.report_webhook import body, headers
from sla.reports.exports import MEDIA_TYPES, load_plans_file, render_report
from sla.storage.aggregation import current_records, record_at
from sla.storage.deliveries import Delivery, claim_due, mark_failed, mark_sent

log = logging.getLogger(__name__)
LONGEST_PAUSE = timedelta(hours=6)


def load_recipients(path: Path | None, policy: SlaPolicy) -> Recipients:
    """The delivery file (OTKLIK_DELIVERY_FILE) checked against the policy; unset: nobody."""
    if path is None:
        return NOBODY
    try:
        return parse_recipients(
            load(path, "файл рассылки"),
            {key: spec.region for key, spec in policy.spec.municipalities.items()},
        )
    except RecipientsError as error:
        raise ConfigFileError(f"файл рассылки {path}: {error}") from error


def retry_at(attempts: int, now: datetime) -> datetime:
    """After the n-th failed round: 2ⁿ minutes later, at most LONGEST_PAUSE."""
    return now + min(timedelta(minutes=2**attempts), LONGEST_PAUSE)


def year_to_date(month: str) -> Period:
    year, number = month.split("-")
    months = tuple(f"{year}-{n:02d}" for n in range(1, int(number) + 1))
    label = month_label(month) if number == "01" else f"январь — {month_label(month)}"
    return Period(code=f"{year}-01..{number}", year=int(year), months=months, label=label)


class ReportSender:
    def __init__(
        self,
        db: Database,
        policy: SlaPolicy,
        plans_file: Path,
        smtp: SmtpConfig | None,
        clock: Callable[[], datetime],
        backoff: float = 2.0,
        webhook: WebhookConfig | None = None,
    ) -> None:
        self._db = db
        self._policy = policy
        self._plans_file = plans_file
        self._smtp = smtp
        self._webhook = webhook
        self._clock = clock
        self._backoff = backoff

    async def send_due(self) -> int:
        """Every delivery due now, one transaction each; returns how many were sent."""
        now = self._clock()
        sent = 0
        while True:
            async with self._db.transaction() as connection:
                delivery = await claim_due(
                    connection, now, mail=self._smtp is not None, webhooks=self._webhook is not None
                )
                if delivery is None:
                    return sent
                try:
                    await self._send(connection, delivery)
                except Exception as error:  # kept on the row and retried
                    text = f"{type(error).__name__}: {error}"[:1000]
                    log.warning("report delivery %d to %s failed: %s", delivery.id,
                                recipient_label(delivery.recipient), text)  # fmt: skip
                    await mark_failed(
                        connection, delivery.id, text, retry_at(delivery.attempts + 1, now)
                    )
                    continue
                await mark_sent(connection, delivery.id, self._clock())
                sent += 1

    async def _send(self, connection: AsyncConnection, delivery: Delivery) -> None:
        record = await record_at(
            connection, delivery.municipality, delivery.month, delivery.revision
        )
        if record is None:
            raise LookupError(f"ревизии {delivery.revision} за {delivery.month} нет")
        if is_webhook(delivery.recipient):
            assert self._webhook is not None  # claim_due gave a webhook row: one is configured
            name = self._policy.municipality_names().get(record.municipality, record.municipality)
            region = self._policy.spec.municipalities[record.municipality].region
            key = delivery_key(record, delivery.recipient)
            content = body(record, name, region, key)
            signed = headers(self._webhook.key, int(self._clock().timestamp()), content, key)
            await webhook.post(delivery.recipient, content, signed, self._backoff)
            return
        assert self._smtp is not None  # likewise
        message = await self._message(connection, delivery, record, self._smtp)
        await send_message(self._smtp, message, self._backoff)

    async def _message(
        self,
        connection: AsyncConnection,
        delivery: Delivery,
        record: IndicatorRecord,
        smtp: SmtpConfig,
    ) -> EmailMessage:
        report = await self._report(connection, delivery.municipality, delivery.month)
        name = self._policy.municipality_names().get(delivery.municipality, delivery.municipality)
        message = EmailMessage()
        message["From"] = smtp.sender
        message["To"] = delivery.recipient
        message["Subject"] = subject(record, name)
        message["Date"] = format_datetime(self._clock())
        domain = smtp.sender.rpartition("@")[2] or "otklik"
        message["Message-ID"] = message_id(record, delivery.recipient, domain)
        message.set_content(summary(record, name, report.period.label))
        stem = f"plan-fact-{delivery.municipality}-{delivery.month}-r{delivery.revision}"
        for fmt in ("xlsx", "pdf"):
            # WeasyPrint lays the PDF out on the CPU: off the event loop.
            data = await asyncio.to_thread(render_report, report, fmt)
            maintype, subtype = MEDIA_TYPES[fmt].split("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype,
                                   filename=f"{stem}.{fmt}")  # fmt: skip
        return message

    async def _report(
        self, connection: AsyncConnection, municipality: str, month: str
    ) -> PlanFactReport:
        """The municipality's plan/fact for January to ``month``, from the latest revisions."""
        plans = load_plans_file(self._plans_file, self._policy.spec.municipalities)
        period = year_to_date(month)
        records = [
            record
            for each in period.months
            for record in await current_records(connection, each, municipality)
        ]
        spec = self._policy.spec
        return build_report(
            plans, period, records, names=self._policy.municipality_names(),
            generated_at=self._clock(), timezone=spec.defaults.timezone,
            municipality=municipality,
            zones={key: self._policy.timezone(key).key for key in spec.municipalities},
        )  # fmt: skip

    async def run(self, interval: float) -> None:
        while True:
            try:
                sent = await self.send_due()
                if sent:
                    log.info("sent %d report e-mails", sent)
            except Exception:
                log.exception("report e-mails failed; retrying")
            await asyncio.sleep(interval)
