"""Secrets (VK tokens, the Callback API secret, intake API keys, the database password) never
reach a log line or a dead letter, even at DEBUG and on every error path."""

import logging
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from ingest.appeals.intake import AppealIntake, intake_router
from ingest.domain.sources import SourceCatalog
from ingest.handlers import VkEventIngestor
from ingest.vk.callback import callback_router
from ingest.vk.client import VkCallError, VkClient
from kernel.bus.memory import RecordingPublisher
from kernel.contracts.messages import Channel
from kernel.observability import Metrics
from kernel.settings import Settings
from tests.conftest import SettingsFactory
from tests.factories import appeal_source
from tools.fake_vk import FakeVkServer

pytestmark = pytest.mark.integration
TOKEN = "vk1.a.TOKEN-must-not-leak-7f3a"
CALLBACK = "CALLBACK-must-not-leak-91c2"
API_KEY = "APIKEY-must-not-leak-55d0"
DB_PASSWORD = "DBPASS-must-not-leak-0b1e"
SECRETS = (TOKEN, CALLBACK, API_KEY, DB_PASSWORD)
CITY = 210000001
CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {"id": f"vk:-{CITY}", "name": "Город", "kind": "vk_group", "group_id": CITY,
             "managed": True, "municipality": "testgrad", "token": "city",
             "callback": {"secret": "city_callback", "confirmation": "c0nf1rm"}},
            appeal_source(Channel.WEB).model_dump(),
        ]
    }
)  # fmt: skip


def leaked(caplog: pytest.LogCaptureFixture, *extra: str) -> list[str]:
    texts = [caplog.text, *extra]
    return [secret for secret in SECRETS if any(secret in text for text in texts)]


def vk_calls_on_every_path(vk: FakeVkServer) -> None:
    client = VkClient(
        SecretStr(TOKEN), token_name="city", metrics=Metrics(), api_url=vk.url, rps=200.0,
        max_backoff=0.01,
    )  # fmt: skip
    client.call("wall.get", {"owner_id": -CITY, "count": 1})
    vk.state.fail_next("wall.get", 6, 10)  # retried, logged
    client.call("wall.get", {"owner_id": -CITY, "count": 1})
    vk.state.fail_next("wall.get", 15)
    with pytest.raises(VkCallError):
        client.call("wall.get", {"owner_id": -CITY, "count": 1})
    vk.state.tokens.pop(TOKEN)  # VK now refuses the token: error 5, logged as an error
    with pytest.raises(VkCallError):
        client.call("wall.get", {"owner_id": -CITY, "count": 1})


async def test_no_secret_in_logs_or_dead_letters_at_debug(
    caplog: pytest.LogCaptureFixture, settings_factory: SettingsFactory
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_factory(
        secrets={"city": TOKEN, "city_callback": CALLBACK, "portal_key": API_KEY},
        database_url=f"postgresql://otklik:{DB_PASSWORD}@127.0.0.1:1/otklik",
    )
    logging.getLogger("test").debug("settings: %s / %r", settings, settings)
    with FakeVkServer() as vk:
        vk.state.add_token(TOKEN, "community")
        vk.state.add_post(CITY, "Новости", int(settings.clock().timestamp()))
        vk_calls_on_every_path(vk)

    published = RecordingPublisher()
    app = FastAPI()
    ingestor = VkEventIngestor(CATALOG, published, Metrics(), settings.clock)
    app.include_router(callback_router(ingestor, settings))
    intake = AppealIntake(CATALOG, settings, published, Metrics(), settings.clock, ZoneInfo("UTC"))
    app.include_router(intake_router(intake))
    broken = {"type": "wall_reply_new", "group_id": CITY, "object": {"id": "x"}}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        assert (await http.post("/vk/callback", json={**broken, "secret": CALLBACK})).text == "ok"
        wrong = await http.post("/vk/callback", json={**broken, "secret": CALLBACK + "x"})
        assert wrong.status_code == 403
        intake_url = "/intake/appeal:portal"
        bad_body = await http.post(intake_url, json={"text": 1}, headers={"X-Api-Key": API_KEY})
        assert bad_body.status_code == 422
        bad_key = await http.post(intake_url, json={}, headers={"X-Api-Key": API_KEY + "x"})
        assert bad_key.status_code == 401

    letters = [body.decode() for _, _, body in published.sent]
    assert len(published.letters()) == 2  # the broken event and the bad intake body
    assert caplog.records, "nothing was logged: the test proves nothing"
    assert leaked(caplog, *letters) == []


def test_settings_show_no_secret() -> None:
    settings = Settings.model_validate(
        {"secrets": {"city": TOKEN}, "database_url": f"postgresql://u:{DB_PASSWORD}@h/db"}
    )
    shown = f"{settings} {settings!r} {settings.model_dump()}"
    assert TOKEN not in shown and DB_PASSWORD not in shown
