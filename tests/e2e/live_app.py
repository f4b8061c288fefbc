"""The web app served for real on 127.0.0.1 (uvicorn in a thread with its own event loop, configured
as `otklik web` configures it) for the browser and proxy tests, with a way to run coroutines on
that loop (to add incidents meanwhile)."""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import uvicorn

from kernel.observability import Metrics
from kernel.settings import Settings
from services.web.app import create_app
from services.web.serve import server_config
from sla.stage import SlaContext, open_sla
from tools.kafka import free_port

T = TypeVar("T")


class LiveApp:
    def __init__(self, settings: Settings, seed: Callable[[SlaContext], Awaitable[None]]) -> None:
        self.settings = settings
        self.seed = seed
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.context: SlaContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-app", daemon=True)

    def start(self, timeout: float = 120.0) -> "LiveApp":
        self._thread.start()
        if not self._ready.wait(timeout) or self._failure is not None:
            raise RuntimeError(f"the web app did not start: {self._failure!r}")
        return self

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``work`` on the app's loop (its engine belongs there) and wait for the result."""
        if self._loop is None:
            raise RuntimeError("not started")
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to start() instead of dying silently
            self._failure = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.context = await open_sla(self.settings, Metrics())
        try:
            await self.seed(self.context)
            # As `otklik web` serves (proxy headers from OTKLIK_FORWARDED_ALLOW_IPS and all).
            served = self.settings.model_copy(
                update={"http_host": "127.0.0.1", "http_port": self.port}
            )
            config = server_config(create_app(self.context, self.settings), served)
            self._server = uvicorn.Server(config)
            serving = asyncio.create_task(self._server.serve())
            while not self._server.started and not serving.done():
                await asyncio.sleep(0.05)
            self._ready.set()
            await serving
        finally:
            await self.context.db.close()
