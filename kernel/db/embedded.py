"""Embedded PostgreSQL (real server binaries from the pgserver wheel)."""

import os
import signal
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any


def start_embedded_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or join) a PostgreSQL server in ``data_dir``; return the handle and its URL.

    The handle must stay referenced: pgserver stops the server when the last handle is closed.
    It does so at interpreter exit, which a terminal's Ctrl+C reaches (KeyboardInterrupt) but a
    SIGTERM (`kill`, a closing service manager) or a SIGHUP (the terminal closed) does not: by
    default they end the process without exit handlers and leave PostgreSQL running. Both are
    turned into a normal exit here.
    """
    _exit_normally_on(signal.SIGTERM, signal.SIGHUP)
    # pgserver keeps its socket inside data_dir; a unix socket path must stay under 107 bytes.
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir.resolve()
    if len(str(data_dir)) > 80:
        raise ValueError(f"PostgreSQL data dir path too long for a unix socket: {data_dir}")
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())  # platformdirs warns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    return server, str(server.get_uri())


def _exit_normally_on(*signals: signal.Signals) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread (tests' servers)
    for number in signals:
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, _raise_exit)


def _raise_exit(number: int, _frame: object) -> None:
    # uvicorn captures SIGTERM while it serves and raises it again once it has shut down: this
    # handler then runs in the main thread, outside the event loop.
    sys.exit(128 + number)
