"""A real Alertmanager on 127.0.0.1 (Debian's ``prometheus-alertmanager`` package) running
otklik's routing (deploy/alertmanager): the shipped file with only its addresses, ports and
file paths replaced, checked by ``amtool check-config`` before it starts.

    with AlertmanagerServer(directory, {"smtp.city.example:587": "127.0.0.1:2525"}) as am: ...
"""

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from tools.kafka import free_port

PACKAGE = "prometheus-alertmanager"
INSTALL_HINT = (
    "apt-get install -y prometheus-alertmanager (Debian's Alertmanager: alertmanager and amtool)"
)
SHIPPED = Path(__file__).resolve().parents[1] / "deploy" / "alertmanager"
CONFIG = SHIPPED / "alertmanager.yml"
TEMPLATES = "/etc/alertmanager/templates"  # where compose and Kubernetes mount templates/
# Debian names the server after its package; upstream's images and tarballs call it alertmanager.
SERVER_NAMES = ("alertmanager", "prometheus-alertmanager")


def _tool(name: str) -> str | None:
    return shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
    )


def server_binary() -> str | None:
    return next((found for name in SERVER_NAMES if (found := _tool(name))), None)


def missing_tools() -> list[str]:
    missing = [] if server_binary() else ["alertmanager"]
    return missing + ([] if _tool("amtool") else ["amtool"])


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = _tool("amtool")
    if tool is None:
        raise FileNotFoundError(f"amtool missing: {INSTALL_HINT}")
    return subprocess.run(  # noqa: S603
        [tool, *args], capture_output=True, text=True, check=False, timeout=60
    )


def localised(replacements: dict[str, str]) -> str:
    """alertmanager.yml with each key replaced by its value; a key that does not occur fails,
    so a change of the shipped file the test no longer maps is caught."""
    text = CONFIG.read_text(encoding="utf-8")
    absent = [old for old in replacements if old not in text]
    if absent:
        raise ValueError(f"{CONFIG.name} has none of {absent}")
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


class AlertmanagerServer:
    def __init__(self, directory: Path, replacements: dict[str, str]) -> None:
        self.directory = directory
        self.config_file = directory / "alertmanager.yml"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.replacements = {TEMPLATES: str(SHIPPED / "templates"), **replacements}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        binary = server_binary()
        if binary is None:
            raise FileNotFoundError(f"alertmanager missing: {INSTALL_HINT}")
        self.config_file.write_text(localised(self.replacements), encoding="utf-8")
        checked = amtool("check-config", str(self.config_file))
        if checked.returncode != 0:
            raise RuntimeError(f"amtool check-config failed: {checked.stdout}{checked.stderr}")
        log = (self.directory / "alertmanager.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603
            [
                binary,
                f"--config.file={self.config_file}",
                f"--storage.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no gossip port: one instance, nothing on 0.0.0.0
                "--log.level=warn",
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Alertmanager did not start: {self.log()}")
            time.sleep(0.2)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as reply:  # noqa: S310
                return bool(reply.status == 200)
        except OSError:
            return False

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (API v2)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as reply:  # noqa: S310
            return list(json.loads(reply.read()))

    def log(self) -> str:
        path = self.directory / "alertmanager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> "AlertmanagerServer":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
