"""A real Alertmanager on 127.0.0.1 (Debian's ``prometheus-alertmanager`` package) running
otklik's routing (deploy/alertmanager): the shipped file with only its addresses, ports and
file paths replaced, checked by ``amtool check-config`` before it starts.

    with AlertmanagerServer(directory, {"smtp.city.example:587": "127.0.0.1:2525"}) as am: ...
"""

import subprocess
from pathlib import Path

from tools.kafka import free_port
from tools.servers import (
    Started,
    answers,
    find_tool,
    launch,
    passed,
    run_tool,
    stop_process,
    wait_ready,
)

PACKAGE = "prometheus-alertmanager"
INSTALL_HINT = (
    "apt-get install -y prometheus-alertmanager (Debian's Alertmanager: alertmanager and amtool)"
)
SHIPPED = Path(__file__).resolve().parents[1] / "deploy" / "alertmanager"
CONFIG = SHIPPED / "alertmanager.yml"
TEMPLATES = "/etc/alertmanager/templates"  # where compose and Kubernetes mount templates/
# Debian names the server after its package; upstream's images and tarballs call it alertmanager.
SERVER_NAMES = ("alertmanager", "prometheus-alertmanager")


def server_binary() -> str | None:
    return next((found for name in SERVER_NAMES if (found := find_tool(name))), None)


def missing_tools() -> list[str]:
    missing = [] if server_binary() else ["alertmanager"]
    return missing + ([] if find_tool("amtool") else ["amtool"])


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return run_tool("amtool", INSTALL_HINT, *args)


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


class AlertmanagerServer(Started):
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
        passed(amtool("check-config", str(self.config_file)), "amtool check-config")
        self._process = launch(
            [
                binary,
                f"--config.file={self.config_file}",
                f"--storage.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no gossip port: one instance, nothing on 0.0.0.0
                "--log.level=warn",
            ],
            self.directory / "alertmanager.log",
        )
        failed = f"Alertmanager did not start; see {self.directory}/alertmanager.log"
        wait_ready(self._process, lambda: answers(f"{self.url}/-/ready"), timeout, failed)

    def log(self) -> str:
        path = self.directory / "alertmanager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self._process)
