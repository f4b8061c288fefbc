"""A local fake of the Telegram Bot API for the notification tests, on 127.0.0.1.

The contract it follows (https://core.telegram.org/bots/api#making-requests):
- requests are ``https://api.telegram.org/bot<token>/METHOD_NAME`` (here http://127.0.0.1:port),
  GET or POST, parameters as a query string, ``application/x-www-form-urlencoded``,
  ``application/json`` or multipart (this fake reads the first three); method names are
  case-insensitive; everything is UTF-8;
- the answer is a JSON object with a Boolean ``ok``; on success ``result`` holds the method's
  result — for ``sendMessage`` the sent Message (``message_id``, ``date``, ``chat``, ``text``);
- on failure ``ok`` is false, ``error_code`` an integer (also the HTTP status) and
  ``description`` a human-readable reason, e.g. 400 «Bad Request: chat not found», 401
  «Unauthorized» for a wrong token; ``parameters.retry_after`` (seconds) comes with 429 «Too Many
  Requests: retry after N» (flood control);
- ``sendMessage`` needs ``chat_id`` and a non-empty ``text`` (at most 4096 characters after
  entities parsing), else 400 «Bad Request: message text is empty» / «… message is too long».

    with FakeTelegram(token="123:abc", chats={"42"}) as telegram:
        telegram.flood(retry_after=3)       # the next sendMessage is answered 429
        ...sendMessage to telegram.api...
        telegram.sent  # [SentMessage(chat_id="42", text=...)]
"""

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tools.kafka import free_port

LONGEST_TEXT = 4096
EPOCH = 1_767_225_600  # 2026-01-01 00:00 UTC


@dataclass(frozen=True)
class SentMessage:
    chat_id: str
    text: str


class FakeTelegram:
    """Knows one bot ``token`` and the ``chats`` it may write to; keeps every accepted message
    and counts every request (``requests``), refused ones included."""

    def __init__(self, token: str, chats: Iterable[str]) -> None:
        self.token = token
        self.chats = set(chats)
        self.sent: list[SentMessage] = []
        self.requests = 0
        self._floods: list[int] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(*fake.handle(self.path, self.headers.get("Content-Type"), b""))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._answer(*fake.handle(self.path, self.headers.get("Content-Type"), body))

            def _answer(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.api = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeTelegram":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def flood(self, retry_after: int, times: int = 1) -> None:
        """Answer the next ``times`` sendMessage calls with 429 and this retry_after."""
        with self._lock:
            self._floods += [retry_after] * times

    def handle(self, target: str, content_type: str | None, body: bytes) -> tuple[int, Any]:
        url = urlsplit(target)
        params: dict[str, Any] = dict(parse_qsl(url.query))
        if body and (content_type or "").startswith("application/json"):
            try:
                params.update(json.loads(body))
            except ValueError:
                return _refused(400, "Bad Request: can't parse JSON object")
        elif body:
            params.update(parse_qsl(body.decode()))
        prefix, _, method = url.path.lstrip("/").partition("/")
        with self._lock:
            self.requests += 1
            if prefix != f"bot{self.token}":
                return _refused(401, "Unauthorized")
            if method.lower() != "sendmessage":
                return _refused(404, "Not Found")
            if self._floods:
                wait = self._floods.pop(0)
                return _refused(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            return self._send_message(params)

    def _send_message(self, params: dict[str, Any]) -> tuple[int, Any]:
        chat, text = str(params.get("chat_id", "")), str(params.get("text", ""))
        if not chat or chat not in self.chats:
            return _refused(400, "Bad Request: chat not found")
        if not text.strip():
            return _refused(400, "Bad Request: message text is empty")
        if len(text) > LONGEST_TEXT:
            return _refused(400, "Bad Request: message is too long")
        self.sent.append(SentMessage(chat, text))
        message = {
            "message_id": len(self.sent),
            "date": EPOCH + len(self.sent),  # the fake's own clock: a second a message
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else chat, "type": "private"},
            "text": text,
        }
        return 200, {"ok": True, "result": message}


def _refused(code: int, description: str, retry_after: int | None = None) -> tuple[int, Any]:
    answer: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        answer["parameters"] = {"retry_after": retry_after}
    return code, answer
