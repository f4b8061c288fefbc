"""schemathesis against the web API, once per role and once without a session, on the real app
and PostgreSQL seeded with a few incidents. Every operation of /openapi.json gets schemathesis'
coverage cases (boundaries, NUL and the like) and examples from its schema, bounded and
deterministic; each answer must be no server error, a status code the schema declares for the
operation, and a body its schema describes.

The app is served by uvicorn on the test's event loop (its database connections live there);
schemathesis runs as its own process against it, with the session's Bearer header, and with
tests/integration/schemathesis_hooks.py putting a seeded incident's id into half the paths.
"""

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from services.auth.roles import Role
from tests.web_api import WebApi, web_api_fixture  # noqa: F401

pytestmark = pytest.mark.integration
EXAMPLES = 4  # per operation in the fuzzing phase, after the coverage phase: 5 runs ~ 50 s
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
HOOKS = "tests.integration.schemathesis_hooks"
ROOT = Path(__file__).parents[2]


@contextlib.asynccontextmanager
async def served(web_api: WebApi) -> AsyncIterator[str]:
    config = uvicorn.Config(web_api.app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.01)  # a readiness poll: nothing to await instead
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def schemathesis(
    base: str, headers: dict[str, str], ids: list[str], workdir: Path
) -> tuple[int, str]:
    """Exit code and report of one schemathesis run, in ``workdir``: it keeps a cache of the
    failures it found there and would replay them in the next run."""
    options = [f"--header={name}: {value}" for name, value in headers.items()]
    if headers:  # signing out would end the session the rest of the run needs
        options.append("--exclude-path=/api/logout")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "OTKLIK_TEST_INCIDENT_IDS": ",".join(ids),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
        f"--checks={CHECKS}", "--phases=examples,coverage,fuzzing", "--mode=all",
        f"--max-examples={EXAMPLES}", "--generation-deterministic", "--no-shrink",
        "--workers=1", "--continue-on-failure", "--warnings=off", *options,
        cwd=workdir, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return await process.wait(), output.decode(errors="replace")


@pytest.mark.parametrize("role", [None, *Role], ids=lambda role: role or "anonymous")
async def test_every_operation_keeps_to_the_schema(
    web_api: WebApi, role: Role | None, tmp_path: Path
) -> None:
    headers = await web_api.bearer(role) if role else {}
    async with served(web_api) as base:
        code, report = await schemathesis(base, headers, web_api.incident_ids, tmp_path)
    assert code == 0, report[-20_000:]
    assert " 0 failures" in report or "No issues found" in report, report[-5_000:]
