"""What the test servers of tools/ share: the with-statement around start() and stop(), waiting
for a started process to answer, and stopping it (SIGTERM, then SIGKILL after a grace period)."""

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self


class Started:
    """``with server:`` starts it and stops it, also on failure."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def answers(url: str) -> bool:
    """GET ``url`` gives 200 (a ready endpoint such as /-/ready)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:  # noqa: S310 - the tests' own servers
            return bool(reply.status == 200)
    except OSError:
        return False


def find_tool(name: str) -> str | None:
    """A Debian package's program: on the PATH, or in /usr/bin where a PATH leaves it out."""
    found = shutil.which(name)
    if found is None and Path(f"/usr/bin/{name}").is_file():
        found = f"/usr/bin/{name}"
    return found


def run_tool(name: str, install_hint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``name *args`` to its end (a minute at most), its output captured."""
    tool = find_tool(name)
    if tool is None:
        raise FileNotFoundError(f"{name} missing: {install_hint}")
    return subprocess.run(  # noqa: S603 - the tests' own arguments
        [tool, *args], capture_output=True, text=True, check=False, timeout=60
    )


def passed(check: subprocess.CompletedProcess[str], what: str) -> None:
    """A configuration check (promtool, amtool) passed, or RuntimeError with its output."""
    if check.returncode != 0:
        raise RuntimeError(f"{what} failed: {check.stdout}{check.stderr}")


def launch(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``command`` in the background, its output appended to ``log``."""
    with log.open("ab") as output:
        return subprocess.Popen(command, stdout=output, stderr=output)  # noqa: S603 - the tests' own


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 20) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float, failed: str
) -> None:
    """Until ``ready()``; if the process exits or ``timeout`` s pass, stops it and raises
    RuntimeError(``failed``)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(failed)
        time.sleep(0.2)
