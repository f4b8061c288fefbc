"""A real Prometheus on 127.0.0.1 (Debian's ``prometheus`` package) for the tests that check the
dashboards and alert rules against real scrapes, and for trying the dashboards by hand.

``python -m tools.prometheus HOST:PORT ...`` scrapes the given /metrics endpoints
every second with the rules of deploy/prometheus and serves the API on a free port.
"""

import argparse
import json
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

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

PACKAGE = "prometheus"
INSTALL_HINT = "apt-get install -y prometheus (Debian's package: the prometheus and promtool tools)"
DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
RULES = DEPLOY / "prometheus" / "rules"
JOB = "otklik"  # the job name of deploy/prometheus/prometheus.yml: dashboards filter on it


class PromQueryError(RuntimeError):
    """Prometheus refused a query (it does not parse, or it cannot be evaluated)."""


def missing_tools() -> list[str]:
    return [tool for tool in ("prometheus", "promtool") if find_tool(tool) is None]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return run_tool("promtool", INSTALL_HINT, *args)


def scrape_config(
    targets: Mapping[str, str],
    rule_files: list[Path],
    interval: str,
    alertmanagers: Sequence[str] = (),
) -> str:
    """A Prometheus config scraping each ``name -> host:port`` as job otklik, instance = name,
    sending its alerts to the Alertmanagers at ``host:port`` (none: alerts stay in Prometheus)."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": JOB,
                "scrape_timeout": interval,
                "static_configs": [
                    {"targets": [address], "labels": {"process": name}}
                    for name, address in targets.items()
                ],
            }
        ],
    }
    if alertmanagers:
        receivers = [{"static_configs": [{"targets": list(alertmanagers)}]}]
        config["alerting"] = {"alertmanagers": receivers}
    return yaml.safe_dump(config, sort_keys=False)


class PromClient:
    """Prometheus' HTTP API (instant and range queries) at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def api(self, path: str, **params: str | float) -> Any:
        """GET /api/v1/<path>; the ``data`` of a success, PromQueryError with Prometheus' own
        message otherwise (e.g. a query that does not parse)."""
        query = urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        try:
            with urllib.request.urlopen(  # noqa: S310
                f"{self.url}/api/v1/{path}?{query}", timeout=30
            ) as reply:
                body = json.loads(reply.read())
        except urllib.error.HTTPError as refused:
            body = json.loads(refused.read() or b"{}")
        if body.get("status") != "success":
            raise PromQueryError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        data = self.api("query", query=expr, **({"time": at} if at is not None else {}))
        return list(data["result"]) if data["resultType"] in {"vector", "matrix"} else [data]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return list(self.api("query_range", query=expr, start=start, end=end, step=step)["result"])


class PrometheusServer(PromClient, Started):
    def __init__(
        self,
        directory: Path,
        targets: Mapping[str, str],
        rule_files: list[Path] | None = None,
        interval: str = "1s",
        alertmanagers: Sequence[str] = (),
    ) -> None:
        self.directory = directory
        self.config_file = directory / "prometheus.yml"
        self.port = free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        rules = rule_files or sorted(RULES.glob("*.yml"))
        self._config = scrape_config(targets, rules, interval, alertmanagers)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        binary = find_tool("prometheus")
        if binary is None:
            raise FileNotFoundError(f"prometheus missing: {INSTALL_HINT}")
        self.config_file.write_text(self._config, encoding="utf-8")
        passed(promtool("check", "config", str(self.config_file)), "promtool check config")
        self._process = launch(
            [
                binary,
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            self.directory / "prometheus.log",
        )
        failed = f"Prometheus did not start; see {self.directory}/prometheus.log"
        wait_ready(self._process, lambda: answers(f"{self.url}/-/ready"), timeout, failed)

    def stop(self) -> None:
        stop_process(self._process)


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Prometheus scraping otklik processes")
    parser.add_argument("targets", nargs="+", help="HOST:PORT of each /metrics endpoint")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="otk-prom-"))
    targets = {address: address for address in args.targets}
    with PrometheusServer(directory, targets) as server:
        print(f"Prometheus on {server.url} (data in {directory}); Ctrl+C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
