"""The VK long poll key and the community token never reach a log record, at DEBUG, over a real
long poll against the fake VK server: not in urllib3's request lines, not in the WARNING of a
long poll server that went away, not in an exception's traceback (issue 20). The redaction is
the filter configure_logging installs on the root handlers, caplog's among them."""

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from pydantic import SecretStr

from ingest.domain.sources import SourceCatalog
from ingest.handlers import VkEventIngestor
from ingest.storage.cursors import CursorStore
from ingest.vk.client import VkClient
from ingest.vk.longpoll import LongPollListener
from kernel.bus.memory import RecordingPublisher
from kernel.db.engine import Database
from kernel.observability import Metrics, SecretRedaction, configure_logging
from tests.conftest import SettingsFactory
from tools.fake_vk import FakeVkServer

pytestmark = pytest.mark.integration
CITY = 210000001
NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
TOKEN = "vk1.a.COMMUNITY-token-must-not-leak-4e1d"
KEY_NUMBER = 804213977531  # the fake server's keys are key<n>, the next one key<n+1>
CATALOG = SourceCatalog.model_validate(
    {
        "sources": [
            {"id": f"vk:-{CITY}", "name": "Город", "kind": "vk_group", "group_id": CITY,
             "managed": True, "municipality": "testgrad", "token": "city"},
        ]
    }
)  # fmt: skip


@pytest.fixture
def redacted_root(
    caplog: pytest.LogCaptureFixture, settings_factory: SettingsFactory
) -> Iterator[pytest.LogCaptureFixture]:
    """Root at DEBUG and the process's logging set-up, as `otklik ingest vk` makes it."""
    caplog.set_level(logging.DEBUG)
    configure_logging("DEBUG", settings_factory(secrets={"city": TOKEN}).secret_values())
    yield caplog
    for handler in logging.getLogger().handlers:
        for added in [f for f in handler.filters if isinstance(f, SecretRedaction)]:
            handler.removeFilter(added)


def leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    secrets = [TOKEN, str(KEY_NUMBER), str(KEY_NUMBER + 1)]
    texts = [caplog.text] + [
        f"{r.getMessage()} {r.exc_text} {r.stack_info}" for r in caplog.records
    ]
    return [secret for secret in secrets if any(secret in text for text in texts)]


async def test_no_long_poll_key_or_token_in_any_log_record(
    redacted_root: pytest.LogCaptureFixture, db: Database
) -> None:
    caplog = redacted_root
    metrics = Metrics()
    with FakeVkServer() as vk:
        vk.state.add_token(TOKEN, "community")
        vk.state.group(CITY).key = f"key{KEY_NUMBER}"
        post = vk.state.add_post(CITY, "Новости", int(NOW.timestamp()) - 600)
        client = VkClient(
            SecretStr(TOKEN), token_name="city", metrics=metrics, api_url=vk.url, rps=200.0
        )
        ingestor = VkEventIngestor(CATALOG, RecordingPublisher(), metrics, lambda: NOW)
        listener = LongPollListener(
            CATALOG.sources[0], client, ingestor, CursorStore(db), wait=1, max_backoff=0.05
        )
        await listener.check_once()
        vk.state.add_comment(CITY, post, "нет воды", int(NOW.timestamp()) - 60, 1001)
        assert await listener.check_once() == 1
        vk.state.fail_longpoll(CITY, 2)  # the key expired: a new one is fetched and used
        assert await listener.check_once() == 0
        assert await listener.check_once() == 0
    # VK's long poll server is gone now, the listener still holds its URL and key.
    with pytest.raises(requests.ConnectionError) as failed:
        await listener.check_once()
    assert str(KEY_NUMBER + 1) in str(failed.value)  # what would be logged, unredacted
    logging.getLogger("ingest.vk.longpoll").error("long poll", exc_info=failed.value)

    warned = threading.Event()
    watcher = _Watcher(warned)
    logging.getLogger("ingest.vk.longpoll").addHandler(watcher)
    task = asyncio.create_task(listener.run())
    try:
        assert await asyncio.to_thread(warned.wait, 30), "no WARNING of the failed long poll"
    finally:
        task.cancel()
        logging.getLogger("ingest.vk.longpoll").removeHandler(watcher)

    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("/lp/" in line and "key=***" in line for line in urllib3_lines), urllib3_lines
    assert any(r.exc_text and "key=***" in r.exc_text for r in caplog.records)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("key=***" in line for line in warnings), warnings
    assert leaks(caplog) == []


class _Watcher(logging.Handler):
    def __init__(self, seen: threading.Event) -> None:
        super().__init__(logging.WARNING)
        self._seen = seen

    def emit(self, record: logging.LogRecord) -> None:
        if "long poll failed" in record.getMessage():
            self._seen.set()
