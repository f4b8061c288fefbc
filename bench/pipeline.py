"""End-to-end benchmark: every stage its own OS process on a real Kafka and a real PostgreSQL.

``throughput``: N raw messages (VK comments, texts from the seed corpus) go from the raw topic
through ``otklik classify`` and ``otklik sla`` into PostgreSQL, each stored with its incident
when flagged. The baseline, in the same run on the same broker: a raw aiokafka
consume→produce loop (``bench.raw_loop``) moving the same records from one topic to another.
Both start warm (a sentinel record has gone through first), the same N records are then
published, and the clock runs from the first publish until the last record is through: for
otklik the commit of the last message's transaction (PostgreSQL's own commit timestamps), for
the loop its last offset commit.

``sustained``: the whole system (``otklik ingest vk``, ``classify``, ``sla``, ``aggregate``,
``web``) runs while the fake VK API server receives residents' comments at a fixed rate for a
fixed time; ``otklik ingest vk`` takes them from its Bots Long Poll as it would from VK. It
prints the ingest-to-queue latency (from ``received_at``, stamped by the ingestor, to the
commit that makes the message, and its incident, visible in the moderators' queue) as
p50/p95/p99 overall and minute by minute, and each service's resident memory.

Kafka and PostgreSQL are started here (free ports, a temporary directory) and stopped at the
end, also on error. Figures are printed, never asserted; the exit status is 1 when a message
was lost or stored twice.

    .venv/bin/python -m bench.pipeline throughput [--messages N]
    .venv/bin/python -m bench.pipeline sustained [--rate R] [--seconds S]
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.ingest import Payload, managed_group_catalog, send_raw
from classifier.bootstrap import ensure_promoted_model
from classifier.corpus import load_corpus
from ingest.domain.vk_events import normalise_vk_event
from ingest.storage.cursors import CursorStore
from ingest.vk.longpoll import TS_KEY
from kernel.bus.kafka import ensure_topics
from kernel.contracts.topics import Topic, topic_name
from kernel.db.embedded import start_embedded_postgres
from kernel.db.engine import open_database
from kernel.db.migrate import upgrade
from kernel.settings import Settings
from tools.fake_vk import FakeVkServer
from tools.fake_vk_state import FakeVkState
from tools.kafka import KafkaServer, free_port
from tools.processes import OtklikProcesses

GROUP = 210000888
TOKEN = "bench-community-token"  # a token the fake VK server knows, nothing else
NAMESPACE = "bench."
COMMENTS_PER_POST = 25
CATALOG = managed_group_catalog(GROUP)
STREETS = ("Мира", "Ленина", "Садовая", "Заречная", "Школьная", "Октябрьская", "Лесная")


class Residents:
    """Comments under the community's posts, texts from the seed corpus (about half of them
    incidents) with an address added, so that no two texts are alike."""

    def __init__(self, state: FakeVkState, seed: int = 11) -> None:
        self._state = state
        self._rng = random.Random(seed)
        self._texts = [example.text for example in load_corpus()]
        self._post = 0
        self.written = 0

    def write(self, date: int) -> None:
        if self.written % COMMENTS_PER_POST == 0:
            self._post = self._state.add_post(GROUP, f"Новости Бенчграда №{self.written}", date)
        text = self._rng.choice(self._texts)
        where = f"ул. {self._rng.choice(STREETS)}, д. {self._rng.randint(1, 150)}"
        author = self._rng.randint(1_000_000, 900_000_000)
        self._state.add_comment(GROUP, self._post, f"{text} ({where})", date, author, 0)
        self.written += 1


def fake_vk() -> FakeVkState:
    state = FakeVkState()
    state.add_token(TOKEN, "community")
    state.group(GROUP)  # exists before the ingestor asks for its long-poll server
    return state


def payloads(count: int) -> list[Payload]:
    """``count`` comments as the ingestor publishes them (thread key, RawMessage JSON)."""
    state = fake_vk()
    residents = Residents(state)
    date = int(time.time())
    for _ in range(count):
        residents.write(date)
    now = datetime.now(UTC)
    result = []
    for event in state.group(GROUP).events:
        message = normalise_vk_event(event, CATALOG, now)
        if message is not None and message.source_kind.value == "vk_comment":
            result.append((message.thread_key.encode(), message.model_dump_json().encode()))
    return result[:count]


# --- the rig: Kafka, PostgreSQL, a trained model, otklik's processes ---------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and every descendant still running (PostgreSQL's backends)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue  # ended meanwhile
    tree, total = {root}, 0.0
    for pid in sorted(parents):  # children have higher pids than their parents, mostly
        if parents[pid] in tree:
            tree.add(pid)
    for pid in tree:
        try:
            total += proc_cpu(pid)
        except OSError:
            continue
    return total


def proc_rss(pid: int) -> int:
    """Resident memory of a process in bytes (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Rig:
    work: Path
    kafka: KafkaServer
    database_url: str
    otklik: OtklikProcesses
    postgres_pid: int

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return self.otklik.processes

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return self.otklik.start(name, *args)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = (self.work / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"otklik {name} exited with {process.returncode}:\n{log}")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as connection:
            return connection.execute(sql).fetchall()

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])

    def wait_stored(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count("messages") < count:
            self.check_alive()
            if time.monotonic() > deadline:
                logs = "".join(
                    f"\n--- {name}.log\n" + (self.work / f"{name}.log").read_text()[-2000:]
                    for name in self.processes
                )
                raise TimeoutError(f"{self.count('messages')} of {count} stored{logs}")
            time.sleep(0.05)

    def topic(self, topic: Topic) -> str:
        return topic_name(topic, NAMESPACE)

    def mean_batch(self, name: str) -> float:
        """Records per batch the stage has handled so far (from its /metrics)."""
        url = f"http://127.0.0.1:{self.otklik.metrics_ports[name]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            lines = reply.read().decode().splitlines()
        total = {"sum": 0.0, "count": 0.0}
        for line in lines:
            for kind in total:
                if line.startswith(f"otklik_consumed_batch_records_{kind}{{"):
                    total[kind] += float(line.rsplit(" ", 1)[1])
        return total["sum"] / total["count"] if total["count"] else 0.0

    def servers_cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the servers otklik relies on."""
        assert self.kafka.pid is not None
        return {"postgres": tree_cpu(self.postgres_pid), "kafka": proc_cpu(self.kafka.pid)}


def start_postgres(directory: Path) -> tuple[Any, str]:
    """An embedded PostgreSQL that records commit timestamps (``pg_xact_commit_timestamp``):
    the moment a message became visible, exactly, without polling."""
    handle, url = start_embedded_postgres(directory)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ALTER SYSTEM SET track_commit_timestamp = on")
    handle.cleanup()
    return start_embedded_postgres(directory)


@contextmanager
def rig(vk_url: str | None = None) -> Iterator[Rig]:
    work = Path(tempfile.mkdtemp(prefix="otk-bp-", dir="/tmp"))
    kafka = KafkaServer(work / "kafka")
    pg_handle = None
    try:
        kafka.start()
        pg_handle, database_url = start_postgres(work / "pg")
        upgrade(database_url)
        models = work / "models"
        print("training the default model (once per run) …", flush=True)
        ensure_promoted_model(models)
        sources = work / "sources.yaml"
        catalog = CATALOG.model_dump(mode="json", exclude_defaults=True)
        sources.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
        env = {
            **os.environ,
            "OTKLIK_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "OTKLIK_DATABASE_URL": database_url,
            "OTKLIK_TOPIC_NAMESPACE": NAMESPACE,
            "OTKLIK_MODEL_DIR": str(models),
            "OTKLIK_SOURCES_FILE": str(sources),
            "OTKLIK_DATA_DIR": str(work / "data"),
            "OTKLIK_LOG_LEVEL": "WARNING",
            "OTKLIK_SECRETS": json.dumps({"city": TOKEN}),
            "OTKLIK_HTTP_PORT": str(free_port()),
            **({"OTKLIK_VK_API_URL": vk_url} if vk_url else {}),
        }
        settings = Settings.model_validate(
            {"kafka_bootstrap": kafka.bootstrap, "topic_namespace": NAMESPACE}
        )
        asyncio.run(ensure_topics(settings, list(Topic)))
        postmaster = int((work / "pg" / "postmaster.pid").read_text().split()[0])
        the_rig = Rig(work, kafka, database_url, OtklikProcesses(env, work), postmaster)
        try:
            yield the_rig
        finally:
            the_rig.otklik.stop_all()
    finally:
        kafka.stop()
        if pg_handle is not None:
            pg_handle.cleanup()
        shutil.rmtree(work, ignore_errors=True)


async def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


# --- throughput ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    name: str
    records: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds of each process of the run

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def raw_loop_run(the_rig: Rig, batch: list[Payload], sentinel: Payload) -> Run:
    partitions = Settings().kafka_partitions
    source, dest = f"{NAMESPACE}loop.in", f"{NAMESPACE}loop.out"
    bootstrap = the_rig.kafka.bootstrap
    asyncio.run(create_topics(bootstrap, [source, dest], partitions))
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.raw_loop", "--bootstrap", bootstrap, "--source", source,
         "--dest", dest, "--count", str(len(batch))],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        asyncio.run(send_raw(bootstrap, source, [sentinel]))
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the raw loop did not start")
        servers, started = the_rig.servers_cpu(), time.time()
        asyncio.run(send_raw(bootstrap, source, batch))
        done, at, cpu = process.stdout.readline().split()
        assert done == b"done"
        used = {"loop": float(cpu), **since(servers, the_rig.servers_cpu())}
        return Run("raw aiokafka loop", len(batch), float(at) - started, used)
    finally:
        process.wait(30)


def otklik_run(the_rig: Rig, batch: list[Payload], sentinel: Payload) -> Run:
    stages = {name: the_rig.start(name, name) for name in ("classify", "sla")}
    raw = the_rig.topic(Topic.RAW_MESSAGES)
    asyncio.run(send_raw(the_rig.kafka.bootstrap, raw, [sentinel]))
    the_rig.wait_stored(1, timeout=300)  # both stages up, model loaded, database reached
    cpu = {name: proc_cpu(process.pid) for name, process in stages.items()}
    servers, started = the_rig.servers_cpu(), time.time()
    asyncio.run(send_raw(the_rig.kafka.bootstrap, raw, batch))
    the_rig.wait_stored(len(batch) + 1, timeout=max(300.0, len(batch) / 20))
    used = {name: proc_cpu(p.pid) - cpu[name] for name, p in stages.items()}
    used.update(since(servers, the_rig.servers_cpu()))
    batches = {name: the_rig.mean_batch(name) for name in stages}
    print("records per batch: " + ", ".join(f"{n} {b:.0f}" for n, b in batches.items()))
    [(last,)] = the_rig.query(
        "SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) FROM messages"
    )
    return Run("otklik", len(batch), float(last) - started, used)


def throughput(messages: int) -> bool:
    batch = payloads(messages + 2)
    loop_sentinel, otklik_sentinel, batch = batch[0], batch[1], batch[2:]
    with rig() as the_rig:
        raw = raw_loop_run(the_rig, batch, loop_sentinel)
        otklik = otklik_run(the_rig, batch, otklik_sentinel)
        stored = the_rig.count("messages") - 1
        distinct = int(the_rig.query("SELECT count(DISTINCT message_id) FROM messages")[0][0]) - 1
        flagged = int(the_rig.query("SELECT count(*) FROM messages WHERE is_incident")[0][0])
        incidents = the_rig.count("incidents")
        letters = the_rig.count("dead_letters")
    print(f"\n{'run':<20}{'messages':>10}{'seconds':>10}{'msg/s':>10}   CPU seconds")
    for run in (otklik, raw):
        cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in run.cpu.items())
        print(f"{run.name:<20}{run.records:>10}{run.seconds:>10.2f}{run.rate:>10,.0f}   {cpu}")
    print(f"ratio otklik/raw: {otklik.rate / raw.rate:.2f}")
    print(
        f"flagged: {flagged} of {stored + 1} stored, {incidents} incidents, {letters} dead letters"
    )
    whole = stored == distinct == len(batch) and incidents == flagged and not letters
    print(f"every message stored once, every flagged one an incident: {'OK' if whole else 'NO'}")
    return whole


# --- sustained ---------------------------------------------------------------------------------

BENCH = "benchmark (fake VK)"  # this process: the fake VK API server and the pacing
SERVICES = {
    "ingest-vk": ("ingest", "vk"),
    "classify": ("classify",),
    "sla": ("sla",),
    "aggregate": ("aggregate",),
    "web": ("web",),
}


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def pace(
    residents: Residents,
    rate: float,
    seconds: float,
    every: float,
    sample: Callable[[], None],
) -> None:
    """Write ``rate`` comments a second for ``seconds``, keeping to the schedule (a late step
    writes what is due); ``sample`` runs every ``every`` seconds."""
    started = time.monotonic()
    first, next_sample = residents.written, started
    while (elapsed := time.monotonic() - started) < seconds:
        due = first + int(rate * elapsed)
        date = int(time.time())
        while residents.written < due:
            residents.write(date)
        if time.monotonic() >= next_sample:
            sample()
            next_sample += every
        time.sleep(0.01)


async def listen_from_the_start(database_url: str) -> None:
    """The long poll's stored ts at the first event: nothing written before the ingestor has
    connected is skipped (a fresh listener would start from VK's current ts)."""
    db = open_database(Settings.model_validate({"database_url": database_url}))
    try:
        await CursorStore(db).put(f"vk:-{GROUP}", TS_KEY, "1")
    finally:
        await db.close()


def sustained(rate: float, seconds: float) -> bool:
    state = fake_vk()
    residents = Residents(state)
    with FakeVkServer(state) as vk, rig(vk.url) as the_rig:
        asyncio.run(listen_from_the_start(the_rig.database_url))
        for name, args in SERVICES.items():
            the_rig.start(name, *args)
        residents.write(int(time.time()))  # the sentinel: every stage is up once it is stored
        events = state.group(GROUP).events  # a post and its first comment so far
        the_rig.wait_stored(len(events), timeout=300)
        rss: dict[str, list[tuple[float, int]]] = {name: [] for name in SERVICES}
        cpu = {name: proc_cpu(p.pid) for name, p in the_rig.processes.items()}
        cpu.update(the_rig.servers_cpu(), **{BENCH: time.process_time()})
        started = time.monotonic()

        def sample() -> None:
            the_rig.check_alive()
            at = time.monotonic() - started
            for name, process in the_rig.processes.items():
                rss[name].append((at, proc_rss(process.pid)))

        print(f"writing {rate:.0f} comments/s for {seconds:.0f} s …", flush=True)
        pace(residents, rate, seconds, every=2.0, sample=sample)
        written = len(events) - 2  # every post and comment since the sentinel, as VK events
        the_rig.wait_stored(written + 2, timeout=600)
        drained = time.monotonic() - started - seconds
        now = {name: proc_cpu(p.pid) for name, p in the_rig.processes.items()}
        now.update(the_rig.servers_cpu(), **{BENCH: time.process_time()})
        used = since(cpu, now)
        rows = the_rig.query(
            "SELECT extract(epoch FROM pg_xact_commit_timestamp(m.xmin) - m.received_at),"
            " extract(epoch FROM pg_xact_commit_timestamp(m.xmin)), i.incident_id IS NOT NULL"
            " FROM messages m LEFT JOIN incidents i USING (message_id)"
            " ORDER BY m.received_at OFFSET 2"  # the sentinel's post and comment
        )
        stored = len(rows)
        distinct = int(the_rig.query("SELECT count(DISTINCT message_id) FROM messages")[0][0])
        letters = the_rig.count("dead_letters")
    report_sustained(rate, seconds, rows, rss, used, drained)
    whole = stored == written and distinct == written + 2 and not letters
    print(f"\n{written} written, {stored} stored, {letters} dead letters: "
          f"{'OK' if whole else 'LOST OR DOUBLED'}")  # fmt: skip
    return whole


def report_sustained(
    rate: float,
    seconds: float,
    rows: list[tuple[Any, ...]],
    rss: dict[str, list[tuple[float, int]]],
    cpu: dict[str, float],
    drained: float,
) -> None:
    latencies = [float(latency) for latency, _, _ in rows]
    queued = [float(latency) for latency, _, incident in rows if incident]
    commits = sorted(float(at) for _, at, _ in rows)
    print(f"\ntarget {rate:.0f} msg/s for {seconds:.0f} s; stored at "
          f"{len(rows) / (commits[-1] - commits[0]):,.0f} msg/s; the last one "
          f"{drained:.1f} s after the writing stopped")  # fmt: skip
    print("\ningest-to-queue latency, ms      p50     p95     p99     max")
    for name, values in (("every message", latencies), ("incidents (queue)", queued)):
        p50, p95, p99 = percentiles(values)
        print(f"{name:<28}{p50 * 1e3:>8.0f}{p95 * 1e3:>8.0f}{p99 * 1e3:>8.0f}"
              f"{max(values) * 1e3:>8.0f}")  # fmt: skip
    print("\nminute by minute (every message), ms   p50     p95     p99")
    first = commits[0]
    by_minute: dict[int, list[float]] = {}
    for latency, at, _ in rows:
        by_minute.setdefault(int((float(at) - first) // 60), []).append(float(latency))
    for minute, values in sorted(by_minute.items()):
        p50, p95, p99 = percentiles(values)
        print(f"  minute {minute + 1:<3} {len(values):>7} msgs{p50 * 1e3:>12.0f}"
              f"{p95 * 1e3:>8.0f}{p99 * 1e3:>8.0f}")  # fmt: skip
    print("\nresident memory, MiB        start  steady   peak    CPU cores used")
    for name, samples in rss.items():
        values = [size for _, size in samples]
        steady = statistics.median(size for at, size in samples if at >= seconds / 2)
        print(f"{name:<26}{values[0] / 2**20:>7.0f}{steady / 2**20:>8.0f}"
              f"{max(values) / 2**20:>7.0f}{cpu[name] / seconds:>12.2f}")  # fmt: skip
    for name in cpu.keys() - rss.keys():
        print(f"{name:<48}{cpu[name] / seconds:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    modes = parser.add_subparsers(dest="mode", required=True)
    through = modes.add_parser("throughput", help="raw topic → stored incidents vs a raw loop")
    through.add_argument("--messages", type=int, default=30_000)
    steady = modes.add_parser("sustained", help="a fixed rate: latency and memory")
    steady.add_argument("--rate", type=float, default=1000.0, help="comments a second")
    steady.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    if args.mode == "throughput":
        whole = throughput(args.messages)
    else:
        whole = sustained(args.rate, args.seconds)
    if not whole:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
