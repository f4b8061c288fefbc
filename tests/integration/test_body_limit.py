"""One body limit for every HTTP entry (kernel/http_limits.py): `otklik ingest http` run as its
own process on a real uvicorn server refuses a 200 MiB body with 413 while its peak resident
memory barely moves; the web app carries the same limit."""

import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from kernel.http_limits import BodyLimit
from kernel.observability import Metrics
from kernel.settings import Settings
from services.web.app import create_app
from sla.stage import open_sla
from tests.conftest import SettingsFactory
from tests.e2e.processes import wait_until
from tools.kafka import KafkaServer, free_port
from tools.processes import OtklikProcesses

pytestmark = pytest.mark.integration

MiB = 1 << 20
HOSTILE = 200 * MiB
LIMIT = Settings.model_fields["max_body_bytes"].default
SOURCES = (
    "sources:\n  - {id: 'vk:-5550001', name: 'Город', kind: vk_group, group_id: 5550001,"
    " managed: true, municipality: testgrad,"
    " callback: {secret: city_callback, confirmation: c0nf1rm}}\n"
)


@pytest.fixture
def ingest_http(
    kafka_server: KafkaServer, settings_factory: SettingsFactory, tmp_path: Path
) -> Iterator[tuple[int, int]]:
    """(pid, port) of a running `otklik ingest http` with its default body limit."""
    settings = settings_factory(kafka_bootstrap=kafka_server.bootstrap)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "OTKLIK_KAFKA_BOOTSTRAP": kafka_server.bootstrap,
        "OTKLIK_TOPIC_NAMESPACE": settings.topic_namespace,
        "OTKLIK_SOURCES_FILE": str(sources),
        "OTKLIK_DATA_DIR": str(tmp_path / "data"),
        "OTKLIK_INGEST_HTTP_PORT": str(port),
        "OTKLIK_SECRETS": json.dumps({"city_callback": "s3cret"}),
        "OTKLIK_LOG_LEVEL": "WARNING",
    }
    processes = OtklikProcesses(env, tmp_path)
    process = processes.start("ingest-http", "ingest", "http")
    try:
        wait_until(lambda: _answers(processes, port), 60, "otklik ingest http to listen")
        yield process.pid, port
    finally:
        processes.stop_all()


def _answers(processes: OtklikProcesses, port: int) -> bool:
    processes.check_running()
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def peak_resident(pid: int) -> int:
    """VmHWM of a process, in bytes: the most it has ever held resident."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def exchange(port: int, head: bytes, chunks: Iterator[bytes]) -> bytes:
    """Send ``head`` and then ``chunks`` until the server stops reading; return its answer. The
    answer is read while sending, since the server answers (and closes) before the body ends."""
    answer = bytearray()
    with socket.create_connection(("127.0.0.1", port)) as sock:

        def read() -> None:
            with contextlib.suppress(OSError):  # a reset after the answer
                while data := sock.recv(65536):
                    answer.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            sock.sendall(head)
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server has closed: what matters is what it answered before
        finally:
            with contextlib.suppress(OSError):  # already reset by the server
                sock.shutdown(socket.SHUT_WR)
            reader.join(60)
    return bytes(answer)


def chunked(total: int, size: int = MiB) -> Iterator[bytes]:
    block = b"%x\r\n" % size + b"a" * size + b"\r\n"
    for _ in range(total // size):
        yield block
    yield b"0\r\n\r\n"


def callback_request(headers: str) -> bytes:
    return f"POST /vk/callback HTTP/1.1\r\nHost: otklik\r\n{headers}\r\n".encode()


def status_and_detail(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)["detail"]


def test_a_chunked_200_mib_callback_is_refused_while_streaming_and_memory_stays_put(
    ingest_http: tuple[int, int],
) -> None:
    pid, port = ingest_http
    small = httpx.post(f"http://127.0.0.1:{port}/vk/callback", json={"type": "confirmation"})
    assert small.status_code == 404  # a small body still reaches the route
    before = peak_resident(pid)
    answer = exchange(port, callback_request("Transfer-Encoding: chunked\r\n"), chunked(HOSTILE))
    growth = peak_resident(pid) - before
    assert growth < 50 * MiB, f"peak resident memory grew by {growth / MiB:.0f} MiB"
    assert status_and_detail(answer) == (413, f"тело запроса больше {LIMIT} байт (body too large)")
    again = httpx.post(f"http://127.0.0.1:{port}/vk/callback", json={"type": "confirmation"})
    assert again.status_code == 404  # the server is alive and serves the next request


def test_a_declared_200_mib_body_is_refused_unread(ingest_http: tuple[int, int]) -> None:
    pid, port = ingest_http
    before = peak_resident(pid)
    head = callback_request(f"Content-Type: application/json\r\nContent-Length: {HOSTILE}\r\n")
    body = (b"a" * MiB for _ in range(HOSTILE // MiB))
    answer = exchange(port, head, body)
    assert status_and_detail(answer)[0] == 413
    assert peak_resident(pid) - before < 50 * MiB


async def test_a_body_just_over_the_limit_is_refused_and_one_at_it_goes_through() -> None:
    """The ASGI contract of BodyLimit itself: the app answers for a body at the limit, 413 is
    sent for one byte more even when the app catches the error and answers something else."""
    seen: list[int] = []

    async def app(scope: object, receive: object, send: object) -> None:
        received = 0
        try:
            while True:
                message = await receive()  # type: ignore[operator]
                received += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except Exception:  # an app that swallows errors, as FastAPI's body parsing does
            received = -1
        seen.append(received)
        await send({"type": "http.response.start", "status": 400, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[operator]

    limited = BodyLimit(app, limit=1000)

    async def stream(size: int) -> AsyncIterator[bytes]:
        for _ in range(size // 100):
            yield b"a" * 100
        yield b"a" * (size % 100)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=limited), base_url="http://test"
    ) as client:
        at_limit = await client.post("/", content=stream(1000))
        over = await client.post("/", content=stream(1001))
    assert at_limit.status_code == 400 and over.status_code == 413
    assert seen == [1000, -1]
    assert over.json() == {"detail": "тело запроса больше 1000 байт (body too large)"}


async def test_the_web_app_refuses_a_streamed_body_over_its_limit_before_sign_in(
    settings_factory: SettingsFactory, database_url: str
) -> None:
    settings = settings_factory(database_url=database_url, max_body_bytes=4096)
    context = await open_sla(settings, Metrics())

    async def login_body(size: int) -> AsyncIterator[bytes]:
        yield b'{"login": "anna", "password": "'
        for _ in range(size // 128):
            yield b"a" * 128
        yield b'"}'

    try:
        transport = httpx.ASGITransport(app=create_app(context, settings))
        async with httpx.AsyncClient(transport=transport, base_url="https://otklik.test") as client:
            json_type = {"content-type": "application/json"}
            small = await client.post("/api/login", content=login_body(128), headers=json_type)
            large = await client.post("/api/login", content=login_body(8192), headers=json_type)
    finally:
        await context.db.close()
    assert small.status_code == 401
    assert large.status_code == 413
    assert large.json() == {"detail": "тело запроса больше 4096 байт (body too large)"}
