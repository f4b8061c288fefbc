"""A real HTTP receiver on 127.0.0.1 that keeps each POST it is sent (headers and raw body), for
the tests of what otklik and Alertmanager post to the region's systems.

    with WebhookReceiver(answers=[503]) as hook:   # answer 503 once, then 200
        ...post to hook.url...
        got = hook.wait_for(lambda r: r.json()["status"] == "firing", timeout=60)
"""

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.kafka import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Answers each POST with the next of ``answers`` (HTTP statuses), then with 200."""

    def __init__(self, path: str = "/hook", answers: Iterable[int] = ()) -> None:
        self.received: list[Received] = []
        self.answers = list(answers)
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.changed:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, matches: Callable[[Received], bool], timeout: float) -> Received:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (found := [r for r in self.received if matches(r)]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching request; got {self.received}")
                self.changed.wait(left)
        return found[0]
