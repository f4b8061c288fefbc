"""The scenario behind the observability test: every stage as its own process on real Kafka and
PostgreSQL, fed through its real entry points — VK Callback API events and web appeals over HTTP,
a VK group polled on the fake VK server (one of its tokens revoked), moderators answering through
the queue API, answers posted back to VK — so that every metric a dashboard or alert reads is
produced by the code that produces it in production."""

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

from kernel.settings import Settings
from services.auth.roles import Role
from services.commands import add_user
from tests.e2e.processes import Pipeline
from tests.factories import TEXTS
from tools.fake_vk import FakeVkServer
from tools.kafka import KafkaServer, free_port

CITY, LOCAL, REVOKED = 210000101, 210000102, 210000103
PASSWORD = "observability-test-password"
SECRETS = {
    "community": "community-token",
    "reader": "user-token",
    "revoked": "expired-token",  # unknown to the fake VK: error 5
    "city_callback": "s3cr3t",
    "portal_key": "portal-key",
}
SOURCES = f"""sources:
  - {{id: "vk:-{CITY}", name: "Тестград — официально", kind: vk_group, group_id: {CITY},
      managed: true, municipality: testgrad, token: community,
      callback: {{secret: city_callback, confirmation: c0nf1rm}}}}
  - {{id: "vk:-{LOCAL}", name: "Подслушано в Тестграде", kind: vk_group, group_id: {LOCAL},
      municipality: testgrad, token: reader, polling: {{lookback_days: 30}}}}
  - {{id: "vk:-{REVOKED}", name: "Заречье онлайн", kind: vk_group, group_id: {REVOKED},
      municipality: zarechye, token: revoked}}
  - {{id: "appeal:portal", name: "Интернет-приёмная Заречья", kind: appeal, channel: web,
      api_key: portal_key, municipality: zarechye}}
"""
# A deadline of one calendar day that lands on a day off moves to the end of the next working
# day: up to 12 days away before the New Year holidays. A warning lead longer than that makes the
# residents' fresh comments "due soon" whatever the moment the test runs at (tests/moments.py).
POLICY = """version: "observability-test"
defaults: {timezone: Europe/Moscow, warning_lead: "14d"}
municipalities:
  testgrad: {name: "Тестград"}
  zarechye: {name: "Заречье"}
rules:
  - match: {}
    first_response: {calendar_days: 1}
    final_answer: {calendar_days: 3}
"""
COMPLAINTS = [text for text in TEXTS if any(w in text for w in ("не ", "нет ", "почему"))] + [
    "огромная яма на дороге у школы 3, машины бьют колёса",
    "не горит фонарь во дворе дома 5 уже месяц, темно и страшно",
    "мусорные баки на садовой 14 переполнены, никто не вывозит",
]
APPEALS_DAYS_AGO = 12  # unanswered: past the first-response deadline even after long holidays


@dataclass
class Scenario:
    pipeline: Pipeline
    vk: FakeVkServer  # on the test's clock, like the processes
    web: str
    intake: str
    city_post: int = 0
    comments_sent: int = 0
    dead_letters_sent: int = 0
    answered: list[str] = field(default_factory=list)

    def targets(self) -> dict[str, str]:
        """Every process's /metrics endpoint, by process name: each on its metrics port (the web's
        and the intake's public ports serve none)."""
        return {name: f"127.0.0.1:{port}" for name, port in self.pipeline.metrics_ports.items()}


@dataclass
class Moderator:
    http: httpx.Client
    headers: dict[str, str]


def prepare(
    kafka: KafkaServer, database_url: str, model_dir: Path, tmp_path: Path, vk: FakeVkServer
) -> Scenario:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    web_port, intake_port = free_port(), free_port()
    pipeline = Pipeline.prepare(
        kafka, database_url, model_dir, tmp_path, SOURCES, vk.clock,
        OTKLIK_POLICY_FILE=str(policy), OTKLIK_SECRETS=json.dumps(SECRETS),
        OTKLIK_VK_API_URL=vk.url, OTKLIK_VK_POLL_INTERVAL_SECONDS="1",
        OTKLIK_VK_USER_RPS="100", OTKLIK_VK_COMMUNITY_RPS="100",
        OTKLIK_HTTP_PORT=str(web_port), OTKLIK_INGEST_HTTP_PORT=str(intake_port),
        OTKLIK_DEADLINE_WATCH_SECONDS="1", OTKLIK_AGGREGATE_INTERVAL_SECONDS="1",
        OTKLIK_CONSUMER_LAG_SECONDS="1", OTKLIK_OUTBOX_POLL_SECONDS="0.2", OTKLIK_LOG_LEVEL="INFO",
    )  # fmt: skip
    settings = Settings(
        database_url=database_url, data_dir=tmp_path / "data", clock_offset=vk.clock.offset
    )
    asyncio.run(add_user(settings, "moderator", PASSWORD, Role.SUPERVISOR, "Модератор"))
    vk.state.add_token(SECRETS["community"], "community")
    vk.state.add_token(SECRETS["reader"], "user")
    day = int(vk.clock().timestamp()) - 86400
    city_post = vk.state.add_post(CITY, "Новости Тестграда", day)
    for n in range(3):
        post = vk.state.add_post(LOCAL, f"Что у вас во дворе? {n}", day + n)
        for c in range(5):
            text = f"{COMPLAINTS[(n + c) % len(COMPLAINTS)]} ({n}-{c})"
            vk.state.add_comment(LOCAL, post, text, day + n + c, 7000 + c)
    return Scenario(
        pipeline, vk, f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{intake_port}", city_post
    )


def start_processes(scenario: Scenario) -> None:
    start = scenario.pipeline.start
    start("ingest-http", "ingest", "http")
    start("ingest-vk", "ingest", "vk")
    start("classifier", "classify")
    start("sla", "sla")
    start("aggregator", "aggregate")
    start("web", "web")


def callback_event(scenario: Scenario, index: int) -> dict[str, object]:
    written = int(scenario.vk.clock().timestamp()) - 60
    return {
        "type": "wall_reply_new", "group_id": CITY, "event_id": f"{index:040x}", "v": "5.199",
        "secret": SECRETS["city_callback"],
        "object": {
            "id": 1000 + index, "from_id": 5000 + index, "date": written,
            "text": f"{COMPLAINTS[index % len(COMPLAINTS)]} #{index}",
            "post_id": scenario.city_post, "owner_id": -CITY, "post_owner_id": -CITY,
            "parents_stack": [], "thread": {"count": 0},
        },
    }  # fmt: skip


def send_comments(scenario: Scenario, count: int) -> None:
    """Residents' comments through the Callback API, then one event that cannot be read."""
    with httpx.Client(base_url=scenario.intake, timeout=30) as http:
        for _ in range(count):
            event = callback_event(scenario, scenario.comments_sent)
            assert http.post("/vk/callback", json=event).text == "ok"
            scenario.comments_sent += 1
        broken = {**callback_event(scenario, 10_000 + scenario.dead_letters_sent), "object": {}}
        assert http.post("/vk/callback", json=broken).text == "ok"  # acknowledged, dead-lettered
        scenario.dead_letters_sent += 1


def send_old_appeals(scenario: Scenario, count: int = 8) -> None:
    """Appeals written hourly days ago: overdue now, and their channel silent since."""
    first = scenario.vk.clock() - timedelta(days=APPEALS_DAYS_AGO)
    headers = {"X-Api-Key": SECRETS["portal_key"]}
    with httpx.Client(base_url=scenario.intake, timeout=30) as http:
        for n in range(count):
            body = {
                "external_id": f"old-{n}",
                "text": f"{COMPLAINTS[n % len(COMPLAINTS)]} (обращение {n})",
                "created_at": (first + timedelta(hours=n)).isoformat(),
            }
            reply = http.post("/intake/appeal:portal", json=body, headers=headers)
            assert reply.status_code == 202, reply.text


@contextlib.contextmanager
def sign_in(scenario: Scenario) -> Iterator[Moderator]:
    with httpx.Client(base_url=scenario.web, timeout=30) as http:
        reply = http.post("/api/login", json={"login": "moderator", "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        http.cookies.clear()
        yield Moderator(http, {"Authorization": f"Bearer {reply.json()['token']}"})


def open_vk_incidents(moderator: Moderator) -> list[str]:
    page = moderator.http.get(
        "/api/incidents", params={"source": f"vk:-{CITY}", "limit": 500}, headers=moderator.headers
    ).json()
    return [item["incident_id"] for item in page["items"] if item["status"] != "answered"]


def act(moderator: Moderator, incident_id: str, action: str, body: dict[str, object]) -> None:
    path = f"/api/incidents/{incident_id}/{action}"
    reply = moderator.http.post(path, json=body, headers=moderator.headers)
    assert reply.status_code == 200, (path, reply.text)


def answer(scenario: Scenario, moderator: Moderator, count: int) -> None:
    """Answer ``count`` open VK incidents (each answer is also posted to VK by ingest vk)."""
    for incident_id in open_vk_incidents(moderator)[:count]:
        act(moderator, incident_id, "answer", {"text": "Здравствуйте! Передали в службу."})
        scenario.answered.append(incident_id)
