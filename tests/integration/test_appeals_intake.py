"""The HTTP intake of appeals at its edge (ASGI): API key per channel, validation, dead letters,
a client's retry mapped to the same message; and once through a real Kafka broker."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from ingest.appeals.intake import MAX_BODY_BYTES, AppealIntake, intake_router
from ingest.domain.sources import SourceCatalog
from ingest.stage import http_app
from kernel.bus.kafka import KafkaTransport
from kernel.bus.memory import RecordingPublisher
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.messages import Channel, RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from tests.conftest import SettingsFactory
from tests.factories import appeal_source
from tests.kafka_topics import read_topic
from tools.kafka import KafkaServer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
WEB = appeal_source(Channel.WEB)
IMPORT = appeal_source(Channel.IMPORT)
URL = "/intake/appeal:portal"
KEY = {"X-Api-Key": "portal-secret-1"}


def intake_client(
    settings_factory: SettingsFactory, publisher: RecordingPublisher
) -> httpx.AsyncClient:
    settings = settings_factory(secrets={"portal_key": KEY["X-Api-Key"]})
    catalog = SourceCatalog(sources=(WEB, IMPORT))
    intake = AppealIntake(catalog, settings, publisher, Metrics(), lambda: NOW, MOSCOW)
    app = FastAPI()
    app.include_router(intake_router(intake))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_intake_publishes_and_a_client_retry_gets_the_same_message_id(
    settings_factory: SettingsFactory,
) -> None:
    publisher = RecordingPublisher()
    body = {
        "external_id": "P-1",
        "text": "Нет воды в доме 5",
        "created_at": "01.09.2026 10:00",
        "author": "Иван Петров",
        "contact": "+7 900 000-00-00",
        "attachments": [{"name": "фото.jpg", "url": "https://portal.example/f/1"}],
    }
    async with intake_client(settings_factory, publisher) as client:
        first = await client.post(URL, json=body, headers=KEY)
        retry = await client.post(URL, json=body, headers=KEY)
    assert first.status_code == retry.status_code == 202
    assert first.json() == retry.json() == {"message_id": "appeal:web:appeal:portal:P-1"}
    messages = publisher.messages()
    assert {m.message_id for m in messages} == {"appeal:web:appeal:portal:P-1"}
    assert messages[0].author is not None and messages[0].author.name == "Иван Петров"
    assert messages[0].text == "Нет воды в доме 5"
    assert messages[0].created_at == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    assert publisher.letters() == []


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (URL, {}, 401),
        (URL, {"X-Api-Key": "portal-secret-2"}, 401),
        ("/intake/appeal:unknown", KEY, 404),
        ("/intake/appeal:import", KEY, 404),  # an import channel has no HTTP intake
    ],
)
async def test_intake_without_the_right_key_or_channel_publishes_nothing(
    settings_factory: SettingsFactory, path: str, headers: dict[str, str], status: int
) -> None:
    publisher = RecordingPublisher()
    async with intake_client(settings_factory, publisher) as client:
        response = await client.post(path, json={"external_id": "1", "text": "t"}, headers=headers)
    assert response.status_code == status
    assert publisher.sent == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{oops", "Invalid JSON"),
        (b'{"external_id": "1", "text": "   "}', "text: "),
        (b'{"external_id": "1", "text": "t", "created_at": "31.02.2026"}', "created_at: "),
        (b'{"external_id": "1", "text": "t", "colour": "red"}', "colour"),
    ],
)
async def test_invalid_body_is_answered_422_and_kept_as_a_dead_letter(
    settings_factory: SettingsFactory, content: bytes, words: str
) -> None:
    publisher = RecordingPublisher()
    async with intake_client(settings_factory, publisher) as client:
        response = await client.post(
            URL, content=content, headers={**KEY, "Content-Type": "application/json"}
        )
    assert response.status_code == 422
    assert words in response.json()["detail"]
    assert publisher.messages() == []
    [letter] = publisher.letters()
    assert letter.payload == content.decode()
    assert letter.reason.startswith("appeal:portal: ")


async def test_oversized_body_is_refused_before_it_is_read(
    settings_factory: SettingsFactory,
) -> None:
    publisher = RecordingPublisher()
    async with intake_client(settings_factory, publisher) as client:
        response = await client.post(URL, content=b"x" * (MAX_BODY_BYTES + 1), headers=KEY)
    assert response.status_code == 413
    assert publisher.sent == []


async def test_intake_on_kafka_answers_only_after_the_appeal_is_in_the_topic(
    kafka_server: KafkaServer, settings_factory: SettingsFactory
) -> None:
    """The real wiring of ``otklik ingest http``: a 202 means the broker has the message."""
    settings = settings_factory(
        kafka_bootstrap=kafka_server.bootstrap, secrets={"portal_key": KEY["X-Api-Key"]}
    )
    metrics = Metrics()
    transport = KafkaTransport(settings, metrics, client_id="test-intake")
    app = http_app(settings, SourceCatalog(sources=(WEB,)), transport, metrics)
    body = {"external_id": "K-1", "text": "Не горит фонарь у дома 3", "author": "Анна"}
    await transport.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            answers = [await client.post(URL, json=body, headers=KEY) for _ in range(2)]
            refused = await client.post(URL, json={"external_id": "K-2"}, headers=KEY)
    finally:
        await transport.stop()
    assert [a.status_code for a in answers] == [202, 202]
    assert refused.status_code == 422
    raw = await read_topic(settings, Topic.RAW_MESSAGES)
    messages = [RawMessage.model_validate_json(value) for _, value in raw]
    # The client's retry is a second record with the same id: storage upserts it once.
    assert [m.message_id for m in messages] == ["appeal:web:appeal:portal:K-1"] * 2
    assert {key for key, _ in raw} == {"appeal:appeal:portal:K-1"}
    [(_, letter)] = await read_topic(settings, Topic.DEAD_LETTERS)
    assert "K-2" in DeadLetter.model_validate_json(letter).payload
