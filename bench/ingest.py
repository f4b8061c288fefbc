"""Ingest benchmark: N VK events through the Bots Long Poll path into a real Kafka.

The otklik run is the production path: ``LongPollListener`` with the real vk-api client talks
HTTP to the fake VK API server (``ingest.vk.fake_server``), which serves a backlog of generated
events from its long-poll endpoint; ``VkEventIngestor`` normalises them and ``KafkaTransport``
publishes them; the long-poll ts is stored in a real (embedded) PostgreSQL. The baseline is a raw
aiokafka producer sending the very same keys and serialised messages, with the same idempotence
(acks=all) and the same topic config, to the same broker. Kafka is started here on free ports and
stopped at the end, also on error. Figures are printed, never asserted.

    .venv/bin/python -m bench.ingest [--events N] [--reply-size K]
"""

import argparse
import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr

from ingest.domain.sources import SourceCatalog
from ingest.domain.vk_events import normalise_vk_event
from ingest.handlers import VkEventIngestor
from ingest.storage.cursors import CursorStore
from ingest.vk.client import VkClient
from ingest.vk.longpoll import TS_KEY, LongPollListener
from kernel.bus.kafka import KafkaTransport, ensure_topics
from kernel.contracts.topics import Topic, topic_name
from kernel.db.engine import open_database
from kernel.db.migrate import upgrade
from kernel.observability import Metrics
from kernel.settings import Settings
from tools.fake_vk import FakeVkServer
from tools.fake_vk_state import FakeVkState
from tools.kafka import KafkaServer

GROUP = 210000777
TOKEN = "bench-community-token"  # a token the fake VK server knows, nothing else
NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
COMMENTS_PER_POST = 25
WARM_UP = 5000


def managed_group_catalog(group_id: int) -> SourceCatalog:
    """One community the city runs, read through its community token named ``city``."""
    return SourceCatalog.model_validate(
        {
            "sources": [
                {
                    "id": f"vk:-{group_id}",
                    "name": "Бенчград — официально",
                    "kind": "vk_group",
                    "group_id": group_id,
                    "managed": True,
                    "municipality": "benchgrad",
                    "token": "city",
                }
            ]
        }
    )


CATALOG = managed_group_catalog(GROUP)
SOURCE = CATALOG.sources[0]
STREETS = ("Мира", "Ленина", "Садовая", "Заречная", "Школьная", "Октябрьская", "Лесная")
TROUBLES = (
    "нет горячей воды",
    "не вывозят мусор",
    "яма на дороге",
    "не работает лифт",
    "не горят фонари",
    "течёт крыша",
    "автобус не пришёл",
    "спасибо за ремонт двора",
)
Payload = tuple[bytes, bytes]  # (key, value) exactly as published


@dataclass(frozen=True)
class Figure:
    name: str
    events: int
    seconds: float
    cpu: float  # CPU seconds of this process (every thread, the fake VK server's included)

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def text(rng: random.Random) -> str:
    street, house = rng.choice(STREETS), rng.randint(1, 120)
    days = rng.randint(1, 14)
    return (
        f"{rng.choice(TROUBLES)} на улице {street}, дом {house}, уже {days} дн. "
        f"Обращались в управляющую компанию, ответа нет. Примите меры, пожалуйста!"
    )


def fill(state: FakeVkState, count: int, seed: int = 7) -> None:
    """``count`` long-poll events: a post of the community, then residents' comments under it
    (every fifth one a reply in a thread), then the next post."""
    rng = random.Random(seed)
    date = int(NOW.timestamp()) - count
    post = comment = 0
    for number in range(count):
        date += 1
        if number % (COMMENTS_PER_POST + 1) == 0:
            post = state.add_post(GROUP, f"Новости Бенчграда №{number}", date)
            comment = 0
            continue
        reply_to = comment if comment and rng.random() < 0.2 else 0
        author = rng.randint(1_000_000, 900_000_000)
        comment = state.add_comment(GROUP, post, text(rng), date, author, reply_to)


def payloads(state: FakeVkState) -> list[Payload]:
    """What the ingestor publishes for each event: thread key and serialised RawMessage."""
    result = []
    for event in state.group(GROUP).events:
        message = normalise_vk_event(event, CATALOG, NOW)
        assert message is not None
        result.append((message.thread_key.encode(), message.model_dump_json().encode()))
    return result


def settings_for(bootstrap: str, work: Path, namespace: str) -> Settings:
    """database_url None: an embedded PostgreSQL under ``work``, whatever the environment says."""
    values = {"data_dir": work, "kafka_bootstrap": bootstrap, "topic_namespace": namespace}
    return Settings.model_validate({**values, "database_url": None})


async def run_otklik(settings: Settings, vk: FakeVkServer, events: int) -> Figure:
    """The long-poll listener drains the backlog; the clock stops once every event is durable."""
    metrics = Metrics()
    db = open_database(settings, pool_size=2)
    transport = KafkaTransport(settings, metrics, client_id="otklik-bench-ingest")
    try:
        await asyncio.to_thread(upgrade, db.url)
        cursors = CursorStore(db)
        await cursors.put(SOURCE.id, TS_KEY, "1")  # resume from the first event: a backlog
        await transport.start()
        client = VkClient(
            SecretStr(TOKEN), token_name="city", metrics=metrics, api_url=vk.url, rps=20.0
        )
        ingestor = VkEventIngestor(CATALOG, transport, metrics, lambda: NOW)
        listener = LongPollListener(SOURCE, client, ingestor, cursors, wait=1)
        started, cpu, published = time.perf_counter(), time.process_time(), 0
        while published < events:
            got = await listener.check_once()
            if got == 0:
                raise RuntimeError(f"long poll stalled after {published} of {events} events")
            published += got
        seconds = time.perf_counter() - started
        return Figure("otklik", published, seconds, time.process_time() - cpu)
    finally:
        await transport.stop()
        await db.close()
        if db.embedded_handle is not None:
            db.embedded_handle.cleanup()


async def send_raw(bootstrap: str, topic: str, batch: list[Payload]) -> Figure:
    """Send every payload with futures (no wait per message); the clock stops at the last ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="raw-bench-ingest", enable_idempotence=True
    )
    await producer.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        futures = [await producer.send(topic, value, key=key) for key, value in batch]
        await asyncio.gather(*futures)
        seconds = time.perf_counter() - started
        return Figure("raw aiokafka", len(batch), seconds, time.process_time() - cpu)
    finally:
        await producer.stop()


def raw_topic(settings: Settings, topic: Topic = Topic.RAW_MESSAGES) -> str:
    return topic_name(topic, settings.topic_namespace)


async def stored(bootstrap: str, topic: str) -> int:
    """How many messages the topic holds: end minus beginning offsets over its partitions."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        async with asyncio.timeout(30):  # without a group, every partition is assigned at once
            while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for it
                await asyncio.sleep(0.05)
        partitions = list(consumer.assignment())
        ends: dict[Any, int] = await consumer.end_offsets(partitions)
        begins: dict[Any, int] = await consumer.beginning_offsets(partitions)
        return sum(ends.values()) - sum(begins.values())
    finally:
        await consumer.stop()


def report(otklik: Figure, raw: Figure, on_topic: int, letters: int, reply_size: int) -> None:
    print(f"{'run':<14}{'events':>10}{'seconds':>10}{'events/s':>10}{'cpu s':>8}")
    for f in (otklik, raw):
        print(f"{f.name:<14}{f.events:>10}{f.seconds:>10.2f}{f.rate:>10,.0f}{f.cpu:>8.2f}")
    print(f"ratio otklik/raw: {otklik.rate / raw.rate:.2f}")
    print(f"long-poll reply size: {reply_size} events")
    verdict = "OK" if on_topic == otklik.events and not letters else "MISMATCH"
    print(f"after the otklik run: {on_topic} messages on the raw topic, {letters} dead letters")
    print(f"nothing lost, nothing duplicated: {verdict}")


async def bench(events: int, reply_size: int) -> bool:
    state = FakeVkState()
    state.add_token(TOKEN, "community")
    state.longpoll_limit = reply_size
    fill(state, events)
    batch = payloads(state)
    with (
        tempfile.TemporaryDirectory(prefix="otk-bench-", dir="/tmp") as tmp,
        KafkaServer(Path(tmp) / "kafka") as kafka,
        FakeVkServer(state) as vk,
    ):
        work, bootstrap = Path(tmp), kafka.bootstrap
        warm, theirs = (settings_for(bootstrap, work, f"bench.{n}.") for n in ("warm", "raw"))
        mine = settings_for(bootstrap, work / "otklik", "bench.otklik.")
        await ensure_topics(warm, [Topic.RAW_MESSAGES])  # created (and leaders elected) early
        await ensure_topics(theirs, [Topic.RAW_MESSAGES])
        await ensure_topics(mine, list(Topic))
        await send_raw(bootstrap, raw_topic(warm), batch[:WARM_UP])  # JIT and page cache warm
        otklik = await run_otklik(mine, vk, events)
        on_topic = await stored(bootstrap, raw_topic(mine))
        letters = await stored(bootstrap, raw_topic(mine, Topic.DEAD_LETTERS))
        raw = await send_raw(bootstrap, raw_topic(theirs), batch)
        report(otklik, raw, on_topic, letters, reply_size)
        return on_topic == events and not letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000, help="VK events to ingest")
    parser.add_argument(
        "--reply-size", type=int, default=1000, help="most events in one long-poll reply"
    )
    args = parser.parse_args()
    if not asyncio.run(bench(args.events, args.reply_size)):
        raise SystemExit("the raw topic does not hold exactly one message per event")


if __name__ == "__main__":
    main()
