"""Embedded PostgreSQL (real server binaries from the pgserver wheel)."""

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any


def start_embedded_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or join) a PostgreSQL server in ``data_dir``; return the handle and its URL.

    The handle must stay referenced: pgserver stops the server when the last handle is closed.
    """
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
