"""The month's report reaches the programme team by itself: the close of a month on a real
PostgreSQL records one delivery per recipient in the revision's transaction, and the sender hands
each to a real SMTP server (tools/smtp.py, aiosmtpd, login required) with the plan/fact XLSX and
PDF attached — once; a late revision goes out again; a server down or refusing leaves the
delivery failed with its error until a later round sends it; a new sender (a restart) sends
nothing twice. The region's system gets the same as a signed webhook (tools/webhook_receiver.py,
a real HTTP server), retried past its errors. Times are the test's own clock."""

import hashlib
import hmac
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pydantic import SecretStr
from sqlalchemy import select

from kernel.db.schema import report_deliveries
from kernel.observability import Metrics
from kernel.settings import Settings
from services.bundled import default_plans_file
from sla.delivery.sender import ReportSender, load_recipients
from sla.delivery.smtp import SmtpConfig
from sla.delivery.webhook import WebhookConfig
from sla.replay import replay_history
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.integration.test_history_replay import LATE_ANSWER, SEPTEMBER, M
from tests.integration.test_indicator_writer import Now
from tools.kafka import free_port
from tools.smtp import ReceivedMail, SmtpServer
from tools.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
CLOSED = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)  # September closed on 5 October, October open
OWN, REGIONAL = "pr@severogorsk.example", "programme@region.example"
DELIVERY_FILE = f"""\
municipalities:
  {M}: [{OWN}]
regions:
  demo: [{REGIONAL}, {OWN}]
"""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def sla(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[SlaContext, Settings, Now]]:
    (tmp_path / "delivery.yaml").write_text(DELIVERY_FILE, encoding="utf-8")
    settings = settings_factory(
        database_url=database_url, delivery_file=tmp_path / "delivery.yaml",
        smtp_host="127.0.0.1", smtp_user="otklik", smtp_password_secret="smtp",
        smtp_from="otklik@city.example", secrets={"smtp": "relay-password"},
    )  # fmt: skip
    now = Now(CLOSED)
    context = await open_sla(settings, Metrics(), clock=now)
    context.aggregator.recipients = load_recipients(settings.delivery_file, context.policy)
    await replay_history(context.db, context.service, SEPTEMBER)
    yield context, settings, now
    await context.db.close()


def sender(context: SlaContext, settings: Settings, now: Now, port: int) -> ReportSender:
    """A sender as `otklik aggregate` makes one (a new one: a restarted process)."""
    smtp = SmtpConfig.from_settings(settings)
    assert smtp is not None
    return ReportSender(
        context.db, context.policy, default_plans_file(settings), replace(smtp, port=port), now,
        backoff=0,
    )  # fmt: skip


def with_recipients(text: str, settings: Settings, context: SlaContext) -> None:
    path = settings.delivery_file
    assert path is not None
    path.write_text(text, encoding="utf-8")
    context.aggregator.recipients = load_recipients(path, context.policy)


async def rows(context: SlaContext) -> list[tuple[int, str, str, int, str | None]]:
    async with context.db.engine.connect() as connection:
        found = await connection.execute(
            select(
                report_deliveries.c.revision, report_deliveries.c.recipient,
                report_deliveries.c.status, report_deliveries.c.attempts,
                report_deliveries.c.last_error,
            ).order_by(report_deliveries.c.revision, report_deliveries.c.recipient)
        )  # fmt: skip
        return [tuple(row) for row in found]


def check_attachments(mail: ReceivedMail, revision: int) -> None:
    parts = {str(part.get_filename()): part for part in mail.message.iter_attachments()}
    stem = f"plan-fact-{M}-2026-09-r{revision}"
    assert sorted(parts) == [f"{stem}.pdf", f"{stem}.xlsx"]
    assert parts[f"{stem}.xlsx"].get_content_type() == XLSX
    assert parts[f"{stem}.pdf"].get_content_type() == "application/pdf"
    workbook = load_workbook(io.BytesIO(parts[f"{stem}.xlsx"].get_content()))
    text = " ".join(
        str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True)
        for cell in row if cell is not None
    )  # fmt: skip
    assert "январь — сентябрь 2026 г." in text and "Северогорск" in text
    assert parts[f"{stem}.pdf"].get_content().startswith(b"%PDF")


async def test_a_closed_month_is_mailed_once_per_recipient_and_revision(
    sla: tuple[SlaContext, Settings, Now],
) -> None:
    context, settings, now = sla
    with SmtpServer(users={"otklik": "relay-password"}) as smtp:
        closed = await context.aggregator.run_once()
        assert [(r.month, r.revision, r.closed) for r in closed if r.closed] == [
            ("2026-09", 1, True)
        ]
        # The region's list repeats the municipality's address: one e-mail to it all the same.
        assert await rows(context) == [
            (1, OWN, "pending", 0, None),
            (1, REGIONAL, "pending", 0, None),
        ]

        assert await sender(context, settings, now, smtp.port).send_due() == 2
        received = smtp.received
        assert sorted(r for mail in received for r in mail.recipients) == [OWN, REGIONAL]
        for mail in received:
            assert mail.login == "otklik" and mail.sender == "otklik@city.example"
            assert mail.subject == "Показатели обратной связи: Северогорск, сентябрь 2026 г."
            assert "A_2" in mail.text() and "Отработано в срок: 1 из 3" in mail.text()
            check_attachments(mail, 1)
        assert [s for *_, s, _, _ in await rows(context)] == ["sent", "sent"]

        # Again, and as a restarted process: nothing more.
        assert await sender(context, settings, now, smtp.port).send_due() == 0
        assert await context.aggregator.run_once() == []
        assert len(smtp.received) == 2

        # A late change of the closed month: revision 2, mailed again; the SMTP server is down.
        await replay_history(context.db, context.service, LATE_ANSWER)
        late = await context.aggregator.publish_month(M, "2026-09")
        assert late is not None and late.closed and late.revision == 2
        down = free_port()
        assert await sender(context, settings, now, down).send_due() == 0
        failed = [row for row in await rows(context) if row[0] == 2]
        assert [(status, attempts) for _, _, status, attempts, _ in failed] == [("failed", 1)] * 2
        assert all("ConnectionRefusedError" in (error or "") for *_, error in failed)

        # Not due again yet (2 minutes after a first failure); then a server that refuses the
        # login: still failed, the error kept.
        assert await sender(context, settings, now, smtp.port).send_due() == 0
        now.at += timedelta(minutes=2)
        refusing = settings.model_copy(update={"secrets": {"smtp": SecretStr("wrong")}})
        assert await sender(context, refusing, now, smtp.port).send_due() == 0
        failed = [row for row in await rows(context) if row[0] == 2]
        assert [(status, attempts) for _, _, status, attempts, _ in failed] == [("failed", 2)] * 2
        assert all("SMTPAuthenticationError" in (error or "") for *_, error in failed)
        assert len(smtp.received) == 2

        # The server back (a new sender: after a restart) once the pause is over: sent, once.
        now.at += timedelta(minutes=4)
        assert await sender(context, settings, now, smtp.port).send_due() == 2
        assert await sender(context, settings, now, smtp.port).send_due() == 0
        later = smtp.received[2:]
        assert sorted(r for mail in later for r in mail.recipients) == [OWN, REGIONAL]
        for mail in later:
            assert mail.subject.endswith("уточнение (ревизия 2)")
            check_attachments(mail, 2)
        assert [(r, s, e) for r, _, s, _, e in await rows(context)] == [
            (1, "sent", None), (1, "sent", None), (2, "sent", None), (2, "sent", None)
        ]  # fmt: skip
        assert len({mail.message["Message-ID"] for mail in smtp.received}) == 4


async def test_a_closed_month_is_posted_to_the_regions_webhook_signed_and_retried(
    sla: tuple[SlaContext, Settings, Now],
) -> None:
    context, settings, now = sla
    key = b"shared-with-the-region"
    # Three refusals: the round's three tries; then the receiver accepts.
    with WebhookReceiver("/otklik/reports", answers=[503, 503, 503]) as hook:
        url = f"{hook.url}?token=region-token"
        with_recipients(f"regions:\n  demo: [{url}]\n", settings, context)
        await context.aggregator.run_once()
        assert await rows(context) == [(1, url, "pending", 0, None)]

        mail_only = sender(context, settings, now, free_port())
        posting = ReportSender(
            context.db, context.policy, default_plans_file(settings), None, now, backoff=0,
            webhook=WebhookConfig(key=key),
        )  # fmt: skip
        assert await mail_only.send_due() == 0  # not its channel: the row waits untouched
        assert await rows(context) == [(1, url, "pending", 0, None)]
        assert await posting.send_due() == 0
        assert await rows(context) == [
            (1, url, "failed", 1, "WebhookRefusedError: получатель ответил HTTP 503")
        ]
        now.at += timedelta(minutes=2)
        assert await posting.send_due() == 1
        assert await posting.send_due() == 0
        assert [status for _, _, status, _, _ in await rows(context)] == ["sent"]

    assert len(hook.received) == 4
    assert {r.headers["X-Otklik-Delivery"] for r in hook.received} == {
        hook.received[0].json()["delivery"]
    }
    accepted = hook.received[-1]
    assert accepted.path == "/otklik/reports?token=region-token"
    stamp = accepted.headers["X-Otklik-Timestamp"]
    assert stamp == str(int(now.at.timestamp()))
    expected = hmac.new(key, stamp.encode() + b"." + accepted.body, hashlib.sha256).hexdigest()
    assert accepted.headers["X-Otklik-Signature"] == f"sha256={expected}"
    payload = accepted.json()
    assert payload["event"] == "otklik.report.month_closed"
    assert payload["municipality"] == {"id": M, "name": "Северогорск", "region": "demo"}
    assert (payload["month"], payload["revision"]) == ("2026-09", 1)
    indicators = payload["indicators"]
    assert (indicators["n_handled_on_time"], indicators["n_assigned"]) == (1, 3)
    assert indicators["closed"] is True
