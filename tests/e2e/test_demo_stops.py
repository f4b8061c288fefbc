"""`make demo` stops everything it started: the embedded PostgreSQL goes with the demo, whether
the demo is ended by Ctrl+C (SIGINT), by `kill` or a service manager (SIGTERM) or by closing the
terminal (SIGHUP)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.kafka import free_port

pytestmark = pytest.mark.e2e
STARTUP_SECONDS = 180  # migrations and the sample's replay on a loaded 2-core machine


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that may never reap it in a container."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def wait_for_line(
    process: subprocess.Popen[str], marker: str, seen: list[str] | None = None
) -> None:
    """Read the process's output up to the line with ``marker`` (kept in ``seen``, if given)."""
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    for line in process.stdout:  # ends when the process closes its output
        if seen is not None:
            seen.append(line)
        if marker in line:
            return
        assert time.monotonic() < deadline, f"no {marker!r} in {STARTUP_SECONDS} s"
    raise AssertionError(f"the demo ended before {marker!r}: exit {process.wait()}")


@pytest.mark.parametrize(
    "number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda number: number.name
)
def test_the_demo_takes_its_postgresql_with_it(
    number: signal.Signals, model_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "d"
    env = {
        **os.environ,
        "OTKLIK_DATA_DIR": str(data),
        "OTKLIK_MODEL_DIR": str(model_dir),
        "OTKLIK_HTTP_PORT": str(free_port()),
        "OTKLIK_METRICS_PORT": str(free_port()),
        "OTKLIK_LOG_LEVEL": "WARNING",
    }
    env.pop("OTKLIK_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "otklik"), "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_line(process, "Ctrl+C")
        postgres = int((data / "pg" / "postmaster.pid").read_text().splitlines()[0])
        assert alive(postgres)
        process.send_signal(number)
        assert process.wait(timeout=60) != 0 or number == signal.SIGINT
        assert not alive(postgres), f"PostgreSQL {postgres} outlived the demo ({number.name})"
        assert not (data / "pg" / "postmaster.pid").exists()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
