"""`make demo` stops everything it started: the embedded PostgreSQL goes with the demo, whether
the demo is ended by Ctrl+C (SIGINT), by `kill` or a service manager (SIGTERM) or by closing the
terminal (SIGHUP)."""

import os
import signal
from pathlib import Path

import pytest

from tools.demo_process import READY, start_demo, wait_for_line

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that may never reap it in a container."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.parametrize(
    "number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda number: number.name
)
def test_the_demo_takes_its_postgresql_with_it(
    number: signal.Signals, model_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "d"
    process = start_demo(data, model_dir)
    try:
        wait_for_line(process, READY)
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
