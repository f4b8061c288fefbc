"""Import benchmark: `otklik import` of an N-row CSV list of appeals into a real Kafka, against a
raw aiokafka producer sending as many records of the same size in the same run.

The otklik run is the production command (``python -m services.cli import FILE --source …``) as
its own process: both passes over the file (checked whole, then published in batches), Python's
start and the connection included. Its peak resident memory is the kernel's figure for that
process (``wait4``'s ru_maxrss). The baseline is an aiokafka producer in this process with the
same idempotence (acks=all) and topic config, sending the same keys and values of the same
length (the otklik message of row 1 with each row's number), awaiting acknowledgements in
pipelined chunks. Kafka is started here on free ports and stopped at the end, also on error.
Figures are printed, never asserted (the issue's target: under 300 MiB and 5,000 rows/s).

    .venv/bin/python -m bench.import_rows [--rows N]
"""

import argparse
import asyncio
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from aiokafka import AIOKafkaProducer

from bench.ingest import raw_topic, stored, text
from ingest.domain.appeals import normalise_appeal
from ingest.domain.sources import SourceCatalog
from kernel.bus.kafka import ensure_topics
from kernel.contracts.topics import Topic
from kernel.settings import Settings
from tools.kafka import KafkaServer

SOURCE_ID = "appeal:import"
HEADER = ("Номер", "Дата", "Текст обращения", "Заявитель", "Контакт")
SOURCES = (
    f"sources:\n  - {{id: '{SOURCE_ID}', name: 'Выгрузка', kind: appeal, channel: import,"
    " municipality: benchgrad, columns: {external_id: 'Номер', text: 'Текст обращения',"
    " created_at: 'Дата', author: 'Заявитель', contact: 'Контакт'}}\n"
)
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
CHUNK = 10_000  # the raw producer's acknowledgements awaited per chunk, two chunks in flight
WARM_UP = 5000


@dataclass(frozen=True)
class Figure:
    name: str
    rows: int
    seconds: float
    cpu: float
    peak_mib: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def write_list(path: Path, rows: int, seed: int = 11) -> None:
    """An export as a portal gives it: number, date, text, author, contact."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(HEADER)
        for number in range(1, rows + 1):
            day, hour = rng.randint(1, 28), rng.randint(8, 20)
            author = f"Житель {rng.randint(1, 99_999)}"
            writer.writerow([number, f"{day:02d}.09.2026 {hour}:00", text(rng), author, ""])


def run_otklik(env: dict[str, str], path: Path, rows: int) -> Figure:
    """The command as an operator runs it; its wall time, CPU time and peak RSS."""
    command = [sys.executable, "-m", "services.cli", "import", str(path), "--source", SOURCE_ID]
    log = path.with_suffix(".log")
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its rusage
    if process.returncode != 0:
        raise RuntimeError(f"otklik import failed:\n{log.read_text(encoding='utf-8')[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Figure("otklik import", rows, seconds, cpu, usage.ru_maxrss / 1024)


def same_size_records(rows: int) -> Iterator[tuple[bytes, bytes]]:
    """Key and value of row n: the otklik message of row 1 with n in place of its number."""
    source = SourceCatalog.model_validate(yaml.safe_load(SOURCES)).sources[0]
    record = {"external_id": "1", "text": text(random.Random(11)), "created_at": "01.09.2026"}
    message = normalise_appeal(record, source, received_at=NOW, zone=MOSCOW).model_dump_json()
    parts = message.split('import:1"')  # the message id and the thread key
    for number in range(1, rows + 1):
        value = f'import:{number}"'.join(parts).encode()
        yield f"appeal:{SOURCE_ID}:{number}".encode(), value


async def send_raw(bootstrap: str, topic: str, rows: int) -> Figure:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="raw-bench-import", enable_idempotence=True
    )
    await producer.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        pending: list[asyncio.Future[object]] = []
        chunk: list[asyncio.Future[object]] = []
        for key, value in same_size_records(rows):
            chunk.append(await producer.send(topic, value, key=key))
            if len(chunk) == CHUNK:
                await asyncio.gather(*pending)
                pending, chunk = chunk, []
        await asyncio.gather(*pending, *chunk)
        seconds = time.perf_counter() - started
        return Figure("raw aiokafka", rows, seconds, time.process_time() - cpu)
    finally:
        await producer.stop()


def report(otklik: Figure, raw: Figure, on_topic: int, letters: int) -> None:
    print(f"{'run':<14}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'cpu s':>8}{'peak RSS':>12}")
    for f in (otklik, raw):
        peak = f"{f.peak_mib:.0f} MiB" if f.peak_mib is not None else "-"
        print(f"{f.name:<14}{f.rows:>10}{f.seconds:>10.1f}{f.rate:>10,.0f}{f.cpu:>8.1f}{peak:>12}")
    print(f"ratio otklik/raw: {otklik.rate / raw.rate:.2f}")
    verdict = "OK" if on_topic == otklik.rows and not letters else "MISMATCH"
    print(f"after the otklik run: {on_topic} messages on the raw topic, {letters} dead letters")
    print(f"every row published once, none dead-lettered: {verdict}")


async def bench(rows: int) -> bool:
    with (
        tempfile.TemporaryDirectory(prefix="otk-bench-import-", dir="/tmp") as tmp,
        KafkaServer(Path(tmp) / "kafka") as kafka,
    ):
        work, bootstrap = Path(tmp), kafka.bootstrap
        path = work / "appeals.csv"
        write_list(path, rows)
        sources = work / "sources.yaml"
        sources.write_text(SOURCES, encoding="utf-8")
        warm, theirs, mine = (
            Settings.model_validate({"kafka_bootstrap": bootstrap, "topic_namespace": f"b.{n}."})
            for n in ("warm", "raw", "otklik")
        )
        for settings in (warm, theirs):
            await ensure_topics(settings, [Topic.RAW_MESSAGES])
        await ensure_topics(mine, list(Topic))
        await send_raw(bootstrap, raw_topic(warm), WARM_UP)  # JIT and page cache warm
        env = {
            **os.environ,
            "OTKLIK_KAFKA_BOOTSTRAP": bootstrap,
            "OTKLIK_TOPIC_NAMESPACE": mine.topic_namespace,
            "OTKLIK_SOURCES_FILE": str(sources),
            "OTKLIK_DATA_DIR": str(work / "data"),
            "OTKLIK_LOG_LEVEL": "WARNING",
        }
        print(f"{rows} rows, {path.stat().st_size / 2**20:.0f} MiB of CSV")
        otklik = run_otklik(env, path, rows)
        on_topic = await stored(bootstrap, raw_topic(mine))
        letters = await stored(bootstrap, raw_topic(mine, Topic.DEAD_LETTERS))
        raw = await send_raw(bootstrap, raw_topic(theirs), rows)
        report(otklik, raw, on_topic, letters)
        return on_topic == rows and not letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the imported list")
    args = parser.parse_args()
    if not asyncio.run(bench(args.rows)):
        raise SystemExit("the raw topic does not hold exactly one message per row")


if __name__ == "__main__":
    main()
