"""`otklik demo` as a separate process, as `make demo` runs it (its embedded PostgreSQL, its
living sample), for the tests and benchmarks that drive it from outside: started on free ports in
a data directory of its own, read up to the line that says it serves, and stopped by Ctrl+C."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.kafka import free_port

STARTUP_SECONDS = 180  # migrations and the sample's replay on a loaded 2-core machine
READY = "Ctrl+C"  # the demo's last line once it serves
_SIGNED_IN = re.compile(
    r"Веб-интерфейс: (?P<base>\S+)/queue — логин (?P<login>\S+), пароль (?P<password>\S+)"
)


def start_demo(data_dir: Path, model_dir: Path | None = None) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OTKLIK_DATA_DIR": str(data_dir),
        "OTKLIK_HTTP_PORT": str(free_port()),
        "OTKLIK_METRICS_PORT": str(free_port()),
        "OTKLIK_LOG_LEVEL": "WARNING",
    }
    if model_dir is not None:
        env["OTKLIK_MODEL_DIR"] = str(model_dir)
    env.pop("OTKLIK_DATABASE_URL", None)
    return subprocess.Popen(  # noqa: S603 - this venv's own otklik
        [str(Path(sys.executable).parent / "otklik"), "demo"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


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
        if time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} in {STARTUP_SECONDS} s")
    raise AssertionError(f"the demo ended before {marker!r}: exit {process.wait()}")


@dataclass(frozen=True)
class Demo:
    base: str  # http://127.0.0.1:<port>
    login: str
    password: str  # printed by the demo for the person at the terminal


@contextmanager
def running_demo(data_dir: Path, model_dir: Path | None = None) -> Iterator[Demo]:
    process = start_demo(data_dir, model_dir)
    try:
        lines: list[str] = []
        try:
            wait_for_line(process, READY, lines)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{''.join(lines)}") from None
        found = next(filter(None, map(_SIGNED_IN.search, lines)), None)
        if found is None:
            raise AssertionError(f"no sign-in line:\n{''.join(lines)}")
        yield Demo(found["base"], found["login"], found["password"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
