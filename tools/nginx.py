"""Debian's nginx running otklik's proxy configuration (deploy/nginx/otklik.conf) for the tests:
the file as shipped, with only its addresses, ports and certificate paths replaced, inside a
main configuration of the test's own (foreground, a temporary directory, no system files).

    proxy = NginxProxy(directory, {"web:8080": "127.0.0.1:5000", ...}); proxy.start(); proxy.stop()
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tools.kafka import free_port

PACKAGE = "nginx-light"
INSTALL_HINT = "apt-get install -y nginx-light (Debian's nginx, for the TLS proxy test)"
SHIPPED = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "otklik.conf"

_MAIN = """\
{user}daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/otklik.conf;
}}
"""


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").is_file():
        found = "/usr/sbin/nginx"
    return found


def localised(replacements: dict[str, str]) -> str:
    """The shipped configuration with each key replaced by its value; every key must occur, so
    a change of the shipped file that the test no longer maps fails loudly."""
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"{SHIPPED.name} has no {old!r} to replace")
        text = text.replace(old, new)
    return text


class NginxProxy:
    def __init__(self, directory: Path, replacements: dict[str, str]) -> None:
        self.directory = directory
        self.replacements = replacements
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        conf = localised(self.replacements)
        (self.directory / "otklik.conf").write_text(conf, "utf-8")
        # As root nginx's workers would run as nobody, who cannot enter a private temp directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = self.directory / "nginx.conf"
        main.write_text(_MAIN.format(user=user, directory=self.directory), "utf-8")
        checked = subprocess.run(  # noqa: S603 - the tests' own configuration
            [binary, "-t", "-q", "-c", str(main), "-p", str(self.directory)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t: {checked.stderr.strip()}")
        self._process = subprocess.Popen(  # noqa: S603
            [binary, "-c", str(main), "-p", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        # Ready when every address it listens on accepts a connection (the pid file comes first).
        deadline = time.monotonic() + timeout
        for host, port in re.findall(r"listen ([\d.]+):(\d+)", conf):
            while not _accepts(host, int(port)):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {self.errors()}")
                time.sleep(0.05)

    def errors(self) -> str:
        log = self.directory / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)


__all__ = ["INSTALL_HINT", "PACKAGE", "NginxProxy", "free_port", "nginx_binary"]
