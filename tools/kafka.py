"""A real single-node Apache Kafka (KRaft) for tests and local runs, without Docker or root.

Kafka's jars come from Maven Central through the machine's Maven and are cached under the user's
cache dir, so only the first run downloads. ``python -m tools.kafka run`` starts one in
the foreground for trying the distributed mode by hand.
"""

import argparse
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

KAFKA_VERSION = "3.9.1"
SLF4J_VERSION = "1.7.36"
INSTALL_HINT = (
    "Kafka for the tests needs Java 17+ and Maven. On Debian/Ubuntu: "
    "apt-get install -y openjdk-17-jre-headless maven"
)

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>otklik.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId>
      <version>{slf4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J = """log4j.rootLogger=WARN, stdout
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


class ToolMissingError(RuntimeError):
    """Java or Maven is not installed; the message says what to install."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "otklik" / "kafka" / KAFKA_VERSION


def missing_tools() -> list[str]:
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def ensure_jars() -> Path:
    """The directory with Kafka's runtime classpath, fetched once with Maven."""
    lib = cache_dir() / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    if shutil.which("mvn") is None:
        raise ToolMissingError(INSTALL_HINT)
    with tempfile.TemporaryDirectory() as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(kafka=KAFKA_VERSION, slf4j=SLF4J_VERSION), encoding="utf-8")
        goal = "dependency:copy-dependencies"
        options = ("-DincludeScope=runtime", f"-DoutputDirectory={lib}")
        mvn = str(shutil.which("mvn"))
        subprocess.run([mvn, "-B", "-q", "-f", str(pom), goal, *options], check=True)  # noqa: S603
    marker.write_text(KAFKA_VERSION, encoding="utf-8")
    return lib


def free_port() -> int:
    """A port for a server a test or benchmark starts, from below the kernel's ephemeral range:
    a port picked inside that range, free when picked, can be taken by any outgoing connection
    (a Kafka or PostgreSQL client) before the server binds it ("Address already in use")."""
    for _ in range(_PORTS_BELOW_EPHEMERAL):
        port = next(_next_port)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


_PORTS_BELOW_EPHEMERAL = 8000
_HIGH = _ephemeral_start()
_LOW = _HIGH - _PORTS_BELOW_EPHEMERAL
_START = _LOW + os.getpid() % _PORTS_BELOW_EPHEMERAL  # two runs on one machine rarely meet
_next_port = itertools.cycle(itertools.chain(range(_START, _HIGH), range(_LOW, _START)))


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class KafkaServer:
    """One broker+controller on 127.0.0.1; ``stop`` and ``start`` again keep its data (restarts)."""

    def __init__(self, work_dir: Path, port: int | None = None, heap_mb: int = 512) -> None:
        self.work_dir = work_dir
        self.port = port or free_port()
        self.controller_port = free_port()
        self.heap_mb = heap_mb
        self._process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's JVM, while it runs (benchmarks read its CPU and memory)."""
        return self._process.pid if self._process is not None else None

    def _write_config(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        props = self.work_dir / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.work_dir / 'data'}",
                    "num.partitions=3",
                    "auto.create.topics.enable=true",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        (self.work_dir / "log4j.properties").write_text(_LOG4J, encoding="utf-8")
        return props

    def _java(self, lib: Path, *args: str, jvm: tuple[str, ...] = ()) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise ToolMissingError(INSTALL_HINT)
        log4j = f"-Dlog4j.configuration=file:{self.work_dir / 'log4j.properties'}"
        return [java, *jvm, log4j, "-cp", f"{lib}/*", *args]

    def start(self, timeout: float = 60.0) -> None:
        lib = ensure_jars()
        props = self._write_config()
        if not (self.work_dir / "data" / "meta.properties").exists():
            cluster_id = subprocess.run(  # noqa: S603
                self._java(lib, "kafka.tools.StorageTool", "random-uuid"),
                check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]  # fmt: skip
            storage = ("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props))
            subprocess.run(self._java(lib, *storage), check=True, capture_output=True)  # noqa: S603
        started = time.monotonic()
        log = (self.work_dir / "kafka.log").open("ab")
        heap = ("-Xms128m", f"-Xmx{self.heap_mb}m")
        self._process = subprocess.Popen(  # noqa: S603
            self._java(lib, "kafka.Kafka", str(props), jvm=heap),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self._wait_ready(started, timeout)

    def _wait_ready(self, started: float, timeout: float) -> None:
        log_path = self.work_dir / "kafka.log"
        while time.monotonic() - started < timeout:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"Kafka exited early; see {log_path}")
            text = log_path.read_text(encoding="utf-8", errors="replace")
            if "Kafka Server started" in text.split("Kafka Server shut down")[-1] and _port_open(
                self.port
            ):
                self.startup_seconds = time.monotonic() - started
                return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"Kafka did not start within {timeout:.0f}s; see {log_path}")

    def stop(self, timeout: float = 30.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> "KafkaServer":
        self.start()
        return self

    def __exit__(
        self, exc: type[BaseException] | None, val: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Local single-node Kafka (KRaft) for otklik")
    parser.add_argument("command", choices=["fetch", "run"])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=Path("var/kafka"))
    args = parser.parse_args()
    if args.command == "fetch":
        print(ensure_jars())
        return
    with KafkaServer(args.dir, port=args.port) as server:
        print(
            f"Kafka {KAFKA_VERSION} on {server.bootstrap} ({server.startup_seconds:.1f}s); Ctrl+C"
        )
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
