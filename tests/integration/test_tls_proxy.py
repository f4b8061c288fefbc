"""The shipped TLS proxy configuration (deploy/nginx/otklik.conf) in Debian's nginx, in front of
the web served as `otklik web` serves it: HTTPS reaches the web and the intake, plain HTTP is
redirected, the session cookie is Secure, the live stream passes unbuffered, and a client's own
X-Forwarded-For cannot move it to another address in the login throttle's count."""

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.auth.roles import Role
from services.auth.store import add_user
from sla.stage import SlaContext
from tests.conftest import SettingsFactory, unavailable
from tests.e2e.live_app import LiveApp
from tools import nginx
from tools.kafka import free_port

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


def certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "otklik.crt", directory / "otklik.key"
    command = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout", str(key), "-out", str(cert),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


async def seed(context: SlaContext) -> None:
    async with context.db.transaction() as connection:
        await add_user(
            connection, login="anna", password=PASSWORD, role=Role.MODERATOR, display_name="Анна"
        )


@pytest.fixture
def proxied(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> Iterator[tuple[str, str, Path]]:
    if nginx.nginx_binary() is None:
        unavailable(f"nginx missing. {nginx.INSTALL_HINT}")
    settings = settings_factory(database_url=database_url, forwarded_allow_ips="127.0.0.1")
    app = LiveApp(settings, seed).start()
    intake = free_port()  # nothing listens: the proxy's answer tells where it sent the request
    https, http = free_port(), free_port()
    cert, key = certificate(tmp_path)
    proxy = nginx.NginxProxy(tmp_path, {
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen 443 ssl": f"listen 127.0.0.1:{https} ssl",
        "http://web:8080": f"http://127.0.0.1:{app.port}",
        "http://ingest-http:8081": f"http://127.0.0.1:{intake}",
        "/etc/nginx/tls/otklik.crt": str(cert),
        "/etc/nginx/tls/otklik.key": str(key),
    })  # fmt: skip
    try:
        proxy.start()
        yield f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}", cert
    finally:
        proxy.stop()
        app.stop()


def test_the_shipped_proxy_serves_the_web_over_tls(
    proxied: tuple[str, str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    https, http, cert = proxied
    with httpx.Client(
        base_url=https, verify=ssl.create_default_context(cafile=cert), timeout=30
    ) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        signed = client.post("/api/login", json={"login": "anna", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        cookie = signed.headers["set-cookie"]
        assert "; Secure" in cookie or "; secure" in cookie, cookie
        # The web saw the client's scheme (https) through X-Forwarded-Proto, not plain HTTP.
        assert "sent over plain HTTP" not in caplog.text
        assert "max-age=31536000" in client.get("/healthz").headers["strict-transport-security"]
        with client.stream("GET", "/ui/events", headers={"Accept": "text/event-stream"}) as live:
            assert live.status_code == 200
            assert live.headers["content-type"].startswith("text/event-stream")
            next(live.iter_lines())  # the first event arrives through the proxy, unbuffered
        # The intake's paths go to ingest-http (not running here: the proxy says so).
        assert client.post("/vk/callback", json={}).status_code == 502
        assert client.post("/intake/site", json={}).status_code == 502
    redirected = httpx.get(f"{http}/queue?x=1", follow_redirects=False)
    assert redirected.status_code == 301
    assert (
        redirected.headers["location"].startswith("https://")
        and "/queue?x=1" in redirected.headers["location"]
    )


def test_a_forged_forwarded_for_does_not_escape_the_throttle(
    proxied: tuple[str, str, Path],
) -> None:
    https, _, cert = proxied
    answers = []
    with httpx.Client(
        base_url=https, verify=ssl.create_default_context(cafile=cert), timeout=30
    ) as client:
        for n in range(1, 6):  # each attempt claims to come from another address
            answers.append(
                client.post(
                    "/api/login",
                    json={"login": "anna", "password": "wrong"},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                ).status_code
            )
    # Counted at the proxy's client address: after the free typos the pair waits.
    assert answers[:3] == [401, 401, 401] and 429 in answers[3:], answers
