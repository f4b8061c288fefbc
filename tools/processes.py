"""otklik commands run as OS processes, each with a metrics port and a log file of its own:
what the end-to-end tests and the benchmarks start."""

import signal
import subprocess
import sys
from pathlib import Path

from tools.kafka import free_port


class OtklikProcesses:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.metrics_ports: dict[str, int] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """``python -m services.cli *args`` in the background, logging to ``<name>.log``."""
        self.metrics_ports[name] = port = free_port()
        env = {**self.env, "OTKLIK_METRICS_PORT": str(port)}
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - otklik's own CLI, arguments from the caller
            [sys.executable, "-m", "services.cli", *args], env=env, stdout=log, stderr=log
        )
        self.processes[name] = process
        return process

    def check_running(self) -> None:
        """Raises, with the end of its log, if a started process has already exited: a test
        waiting for it to answer learns at once, not when its wait runs out."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log[-3000:]}")

    def run(self, *args: str) -> None:
        """``python -m services.cli *args`` to its end; raises if it fails."""
        subprocess.run(  # noqa: S603 - otklik's own CLI, arguments from the caller
            [sys.executable, "-m", "services.cli", *args],
            env={**self.env, "OTKLIK_METRICS_PORT": str(free_port())},
            check=True,
            timeout=120,
        )

    def stop_all(self) -> None:
        """SIGTERM to every process still running, SIGKILL to one that has not ended in 20 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
