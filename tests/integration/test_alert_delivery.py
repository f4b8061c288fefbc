"""Alerts reach someone: an overdue incident in PostgreSQL, the sla process's gauges scraped by a
real Prometheus evaluating otklik's rules, a real Alertmanager with the shipped routing, and a
real SMTP server (aiosmtpd) and a webhook receiver at the end. Also: `amtool check-config` of the
shipped file, where its routes send each alert, and the Kubernetes copy kept identical.

What the test changes in the shipped files, and only here: OtklikIncidentsOverdue's `for: 5m`
is rendered as 1s (the alert's condition is the rule's own); Alertmanager's group_wait 30s and
group_interval 5m become 1s, its relay and webhook addresses and secret files point at the
test's, and STARTTLS is off (the local SMTP server speaks plain SMTP; AUTH still happens).
"""

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import start_http_server
from sqlalchemy import select

from kernel.db.schema import incidents
from kernel.observability import Metrics
from sla.domain.lifecycle import Answer
from sla.gauges import SlaGauges
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory, unavailable
from tests.factories import classified, raw_message
from tests.integration.test_sla_gauges import POLICY  # testgrad, answers due in 1 and 3 days
from tools import alertmanager, prometheus
from tools.alertmanager import AlertmanagerServer, amtool
from tools.kafka import free_port
from tools.prometheus import RULES, PrometheusServer
from tools.smtp import ReceivedMail, SmtpServer
from tools.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
NOW = datetime(2026, 9, 15, 7, 0, tzinfo=UTC)  # the SLA clock; Prometheus keeps its own time
ALERT = "OtklikIncidentsOverdue"
SENDER = "otklik-alerts@city.example"  # smtp_auth_username of the shipped file
PASSWORD = "relay-password"
TOKEN = "region-token"
WAIT = 120  # seconds; one scrape, one evaluation and one group_wait take a few


@pytest.fixture
def servers_installed() -> None:
    missing = prometheus.missing_tools() + alertmanager.missing_tools()
    if missing:
        unavailable(
            f"{', '.join(missing)} missing. {prometheus.INSTALL_HINT}; {alertmanager.INSTALL_HINT}"
        )


def test_amtool_accepts_the_shipped_configuration(servers_installed: None, tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"  # templates where amtool can read them
    config.write_text(
        alertmanager.localised({alertmanager.TEMPLATES: str(alertmanager.SHIPPED / "templates")})
    )
    result = amtool("check-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "4 receivers" in result.stdout


def rules_with_labels() -> dict[str, dict[str, str]]:
    groups = yaml.safe_load((RULES / "otklik.yml").read_text(encoding="utf-8"))["groups"]
    return {rule["alert"]: rule["labels"] for group in groups for rule in group["rules"]}


@pytest.mark.parametrize("alert", sorted(rules_with_labels()))
def test_each_rule_routes_to_its_teams_receiver_by_severity(
    servers_installed: None, alert: str
) -> None:
    labels = rules_with_labels()[alert]
    result = amtool(
        "config", "routes", "test", f"--config.file={alertmanager.CONFIG}",
        f"alertname={alert}", *(f"{k}={v}" for k, v in labels.items()),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{labels['team']}-{labels['severity']}"


def test_the_kubernetes_config_map_is_the_shipped_routing() -> None:
    manifest = alertmanager.SHIPPED.parents[0] / "k8s" / "26-alertmanager.yaml"
    (config_map,) = [d for d in yaml.safe_load_all(manifest.read_text("utf-8")) if d]
    data = config_map["data"]
    assert data["alertmanager.yml"] == alertmanager.CONFIG.read_text(encoding="utf-8")
    template = alertmanager.SHIPPED / "templates" / "otklik.tmpl"
    assert data["otklik.tmpl"] == template.read_text(encoding="utf-8")


def test_the_compose_prometheus_alerts_the_compose_alertmanager_with_the_shipped_files() -> None:
    deploy = alertmanager.SHIPPED.parent
    services = yaml.safe_load((deploy / "docker-compose.yml").read_text("utf-8"))["services"]
    config = yaml.safe_load((deploy / "prometheus" / "prometheus.yml").read_text("utf-8"))
    (target,) = [
        t for am in config["alerting"]["alertmanagers"] for s in am["static_configs"]
        for t in s["targets"]
    ]  # fmt: skip
    host, port = target.split(":")
    service = services[host]
    assert service["image"].startswith("prom/alertmanager:v")
    assert service["ports"] == [f"127.0.0.1:{port}:9093"] and port == "9093"
    mounts = dict(volume.split(":")[:2] for volume in service["volumes"])
    assert mounts["./alertmanager/alertmanager.yml"] == "/etc/alertmanager/alertmanager.yml"
    assert mounts["./alertmanager/templates"] == alertmanager.TEMPLATES
    # every file the configuration names is mounted (templates, the relay password, the token)
    named = re.findall(r"/etc/alertmanager/[\w./*-]+", alertmanager.CONFIG.read_text("utf-8"))
    assert len(named) >= 3
    assert all(any(path.startswith(f"{m}/") for m in mounts.values()) for path in named), named


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver("/otklik/alerts") as receiver:
        yield receiver


@pytest.fixture
async def sla(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> AsyncIterator[SlaContext]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = settings_factory(database_url=database_url, policy_file=policy)
    context = await open_sla(settings, Metrics(), clock=lambda: NOW)
    yield context
    await context.db.close()


def overdue_rule_in_seconds(directory: Path) -> Path:
    """The shipped rules with only OtklikIncidentsOverdue's `for: 5m` shortened to 1s."""
    document = yaml.safe_load((RULES / "otklik.yml").read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    (rule,) = [rule for rule in rules if rule.get("alert") == ALERT]
    assert rule["for"] == "5m"
    rule["for"] = "1s"
    path = directory / "otklik.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def about(alert: dict[str, Any]) -> bool:
    labels = alert["labels"]
    return bool(labels["alertname"] == ALERT and labels.get("municipality") == "testgrad")


def firing_mail(mail: ReceivedMail) -> bool:
    return ALERT in mail.subject and "ТРЕВОГА" in mail.subject


async def test_an_overdue_incident_reaches_the_pr_department_by_mail_and_the_region_by_webhook(
    servers_installed: None, sla: SlaContext, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    # An incident written five days before the SLA clock's now: both deadlines passed.
    message = raw_message(1, created_at=NOW - timedelta(days=5))
    await sla.service.on_classified(classified(message, incident=True))
    gauges = SlaGauges(sla.db, sla.policy, sla.metrics, sla.clock)
    await gauges.refresh()
    metrics, _ = start_http_server(free_port(), addr="127.0.0.1", registry=sla.metrics.registry)

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    # Alertmanager 0.25 sends the file's bytes as they are: a trailing newline would be part of
    # the password (docs/operations.md says to write it with printf).
    (secrets / "smtp-password").write_text(PASSWORD, encoding="utf-8")
    (secrets / "webhook-token").write_text(TOKEN + "\n", encoding="utf-8")
    (tmp_path / "am").mkdir()
    (tmp_path / "prom").mkdir()
    try:
        with SmtpServer(users={SENDER: PASSWORD}) as smtp:
            replacements = {
                "smtp.city.example:587": f"{smtp.host}:{smtp.port}",
                "smtp_require_tls: true": "smtp_require_tls: false",
                "/etc/alertmanager/secrets": str(secrets),
                "https://monitoring.region.example/otklik/alerts": webhook.url,
                "group_wait: 30s": "group_wait: 1s",
                "group_interval: 5m": "group_interval: 1s",
            }
            with (
                AlertmanagerServer(tmp_path / "am", replacements) as am,
                PrometheusServer(
                    tmp_path / "prom",
                    {"sla": f"127.0.0.1:{metrics.server_port}"},
                    rule_files=[overdue_rule_in_seconds(tmp_path)],
                    alertmanagers=[f"127.0.0.1:{am.port}"],
                ),
            ):
                mail = smtp.wait_for(firing_mail, timeout=WAIT)
                firing = webhook.wait_for(
                    lambda r: (
                        r.json()["status"] == "firing" and any(map(about, r.json()["alerts"]))
                    ),
                    timeout=WAIT,
                )
                token, hook = firing.headers.get("Authorization", ""), firing.json()
                # Answered: the gauge's series goes, the alert resolves, and both hear of it.
                incident = hook["alerts"][0]["labels"]
                await answer_everything(sla)
                await gauges.refresh()
                resolved = smtp.wait_for(
                    lambda m: ALERT in m.subject and "РЕШЕНО" in m.subject, WAIT
                )
                webhook.wait_for(
                    lambda r: (
                        r.json()["status"] == "resolved" and any(map(about, r.json()["alerts"]))
                    ),
                    timeout=WAIT,
                )
                log = am.log()
    finally:
        metrics.shutdown()
        metrics.server_close()

    # The PR department's critical receiver (team=pr, severity=critical), logged in to the relay.
    assert mail.recipients == ("pr@city.example", "pr-head@city.example")
    assert mail.login == SENDER and mail.sender == SENDER
    assert "testgrad" in mail.subject
    text = mail.text()
    assert "Просрочено:" in text and "муниципалитет: testgrad" in text, text
    assert "отдел: ЖКХ" in text and "first_response" in text
    assert token == f"Bearer {TOKEN}"
    assert hook["receiver"] == "pr-critical"
    assert incident["municipality"] == "testgrad" and incident["severity"] == "critical"
    assert "Решено" in resolved.text()
    assert "level=error" not in log, log


async def answer_everything(context: SlaContext) -> None:
    async with context.db.engine.connect() as connection:
        ids = (await connection.scalars(select(incidents.c.incident_id))).all()
    for incident_id in ids:
        await context.service.act(str(incident_id), Answer("anna", "Сделано"))
