"""A local fake of the VK API over HTTP, for tests and benchmarks: VK is never reached from them.

``POST /method/<name>`` answers the methods otklik uses (groups.getLongPollServer, wall.get,
wall.getComments, newsfeed.search, execute, and the answers: wall/photos/video/market/
board.createComment, messages.send) and ``GET /lp/<group>`` is the Bots Long Poll server
``groups.getLongPollServer`` points to. The real vk-api client talks to it through
``VkClient(api_url=server.url)``.

Every request and every response is checked against VK's published schema
(``tools/vk_schema.py``, inner calls of ``execute`` included); what breaks it is listed in
``violations`` and leaving the server's context fails with them.
"""

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from kernel.clock import SYSTEM_CLOCK, Clock
from tools.fake_vk_state import FakeApiError, FakeVkState
from tools.vk_schema import check_call, check_response

MethodImpl = Any
_ONE_METHOD = re.compile(
    r"var values = (\[.*\]),i = 0,result = \[\];.*API\.([\w.]+)\(values\[i\]\)"
)
_CALL = re.compile(r"API\.([\w.]+)\(")


class FakeVkServer:
    def __init__(self, state: FakeVkState | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.state = state or FakeVkState()
        self.clock = clock  # the test's moment: what VK stamps on the comments it creates
        self.comments_by_guid: dict[str, int] = {}  # VK drops a repeated guid: same comment
        # (method, what is wrong) for every request or response that breaks VK's schema; a test
        # that makes a bad call on purpose asserts its violation and clears the list.
        self.violations: list[tuple[str, str]] = []
        self.messages_by_random_id: dict[int, int] = {}  # VK drops a repeated random_id too
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "FakeVkServer":
        self._thread.start()
        return self

    def __exit__(self, _type: object, error: BaseException | None, _tb: object) -> None:
        with self.state.lock:
            self.state.lock.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        if not self.violations:
            return
        report = "VK contract violations:\n" + "\n".join(f"  {p}" for _, p in self.violations)
        if error is not None:
            error.add_note(report)  # the test's own failure stays the one reported
            return
        raise AssertionError(report)

    def _check(self, method: str, problems: list[str]) -> None:
        self.violations.extend((method, problem) for problem in problems)

    def call(self, method: str, params: dict[str, str]) -> Any:
        """One API method as VK would run it; raises FakeApiError with VK's code."""
        state = self.state
        state.calls.append((method, params))
        self._check(method, check_call(method, params))
        kind = state.tokens.get(params.get("access_token", ""))
        if kind is None:
            raise FakeApiError(5, "User authorization failed: invalid access_token (4).")
        code = state.take_error(method)
        if code is not None:
            raise _scripted_error(code)
        if method == "execute":
            if kind == "service":
                raise FakeApiError(15, "Access denied: execute is not available for service token")
            return self._execute(params)
        impl = _METHODS.get(method)
        if impl is None:
            raise FakeApiError(3, f"Unknown method passed: {method}")
        response = impl(self, kind, params)
        self._check(method, check_response(method, response))
        return response

    def _execute(self, params: dict[str, str]) -> dict[str, Any]:
        code = params.get("code", "")
        calls = _parse_vkscript(code)
        results: list[Any] = []
        errors: list[dict[str, Any]] = []
        for method, values in calls:
            try:
                results.append(
                    self.call(method, {**_stringify(values), "access_token": _token(params)})
                )
            except FakeApiError as error:
                results.append(False)
                errors.append(
                    {"method": method, "error_code": error.code, "error_msg": error.message}
                )
        body = {"response": results, "execute_errors": errors} if errors else {"response": results}
        if _json_size(body) > self.state.execute_response_limit:
            # VK builds the whole response, then refuses it: the calls ran, nothing comes back.
            raise FakeApiError(
                13, "Runtime error occurred during code invocation: Response size is too big"
            )
        return body


def _token(params: dict[str, str]) -> str:
    return params.get("access_token", "")


def _json_size(body: Any) -> int:
    """The size VK measures: its compact UTF-8 JSON."""
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


_CAPTCHA_SIDS = itertools.count(381940000001)


def _scripted_error(code: int) -> FakeApiError:
    if code == 14:
        sid = str(next(_CAPTCHA_SIDS))
        image = f"https://api.vk.ru/captcha.php?sid={sid}&s=1"
        return FakeApiError(14, "Captcha needed", captcha_sid=sid, captcha_img=image)
    return FakeApiError(code, f"scripted error {code}")


def _error_object(method: str, params: dict[str, str], error: FakeApiError) -> dict[str, Any]:
    """VK's error object: the request's parameters come back too, the token left out."""
    request = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
    request += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
    return {
        "error_code": error.code,
        "error_msg": error.message,
        **error.extra,
        "request_params": request,
    }


def _stringify(values: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in values.items()}


def _parse_vkscript(code: str) -> list[tuple[str, dict[str, Any]]]:
    """The two shapes vk-api's VkRequestsPool generates: one method over a list of values, or
    ``return [API.a({...}),API.b({...})];``."""
    one = _ONE_METHOD.search(code)
    if one is not None:
        return [(one.group(2), values) for values in json.loads(one.group(1))]
    decoder = json.JSONDecoder()
    calls = []
    for match in _CALL.finditer(code):
        values, _ = decoder.raw_decode(code, match.end())
        calls.append((match.group(1), values))
    return calls


def _int(params: dict[str, str], key: str, default: int = 0) -> int:
    return int(params.get(key, default))


def _group_of(server: FakeVkServer, owner_id: int) -> Any:
    if -owner_id in server.state.denied_groups:
        raise FakeApiError(203, "Access to group denied: access to the group is restricted")
    group = server.state.groups.get(-owner_id)
    if group is None:
        raise FakeApiError(15, "Access denied: group is unknown or closed")
    return group


def _get_long_poll_server(server: FakeVkServer, kind: str, params: dict[str, str]) -> Any:
    if kind != "community":
        raise FakeApiError(15, "Access denied: long poll needs a community token")
    group = server.state.group(_int(params, "group_id"))
    ts = len(group.events) + 1
    return {"key": group.key, "server": f"{server.url}/lp/{group.group_id}", "ts": str(ts)}


def _wall_get(server: FakeVkServer, kind: str, params: dict[str, str]) -> Any:
    group = _group_of(server, _int(params, "owner_id"))
    offset, count = _int(params, "offset"), _int(params, "count", 20)
    with server.state.lock:
        posts = sorted(group.posts.values(), key=lambda p: p["id"], reverse=True)
        return {
            "count": len(posts),
            "items": json.loads(json.dumps(posts[offset : offset + count])),
        }


def _wall_get_comments(server: FakeVkServer, kind: str, params: dict[str, str]) -> Any:
    owner, post_id = _int(params, "owner_id"), _int(params, "post_id")
    group = _group_of(server, owner)
    if (owner, post_id) in server.state.closed_posts:
        raise FakeApiError(212, "Access to post comments denied")
    if post_id not in group.posts:
        raise FakeApiError(100, "One of the parameters specified was missing or invalid: post_id")
    parent = _int(params, "comment_id")
    offset, count = _int(params, "offset"), min(_int(params, "count", 10), 100)
    thread_items = _int(params, "thread_items_count")
    with server.state.lock:
        level = [
            c for c in group.comments[post_id] if c["parents_stack"] == ([parent] if parent else [])
        ]
        if params.get("sort", "asc") == "desc":
            level.reverse()
        items = json.loads(json.dumps(level[offset : offset + count]))
        for item in items:
            replies = [c for c in group.comments[post_id] if c["parents_stack"] == [item["id"]]]
            item["thread"] = {
                "count": len(replies),
                "items": json.loads(json.dumps(replies[:thread_items])),
            }
        total = len(group.comments[post_id])
        return {"count": total, "current_level_count": len(level), "items": items}


def _newsfeed_search(server: FakeVkServer, kind: str, params: dict[str, str]) -> Any:
    if kind != "user":
        raise FakeApiError(15, "Access denied: newsfeed.search needs a user token")
    query, start = params.get("q", "").lower(), _int(params, "start_time")
    with server.state.lock:
        found = [
            post
            for group in server.state.groups.values()
            for post in group.posts.values()
            if query in post["text"].lower() and post["date"] >= start
        ]
    found.sort(key=lambda p: p["date"], reverse=True)
    count = _int(params, "count", 30)
    return {"items": found[:count], "count": len(found[:count]), "total_count": len(found)}


def _create_comment(server: FakeVkServer, kind: str, params: dict[str, str]) -> Any:
    owner, post_id = _int(params, "owner_id"), _int(params, "post_id")
    group = _group_of(server, owner)
    guid = params.get("guid")
    if guid and guid in server.comments_by_guid:
        return {"comment_id": server.comments_by_guid[guid]}
    # wall.createComment's from_group is the community's id; 0 or none posts as the user.
    from_id = -group.group_id if _int(params, "from_group") else 1
    comment_id = server.state.add_comment(
        group.group_id,
        post_id,
        params.get("message", ""),
        int(server.clock().timestamp()),
        from_id,
        _int(params, "reply_to_comment"),
    )
    if guid:
        server.comments_by_guid[guid] = comment_id
    return {"comment_id": comment_id}


def _item_comment(kind: str, item_param: str) -> MethodImpl:
    """photos/video/market.createComment: the comment's id, as a bare integer."""

    def create(server: FakeVkServer, _token_kind: str, params: dict[str, str]) -> Any:
        owner = _int(params, "owner_id")
        return _add_item_comment(server, kind, owner, _int(params, item_param), params)

    return create


def _board_comment(server: FakeVkServer, _token_kind: str, params: dict[str, str]) -> Any:
    owner = -_int(params, "group_id")
    return _add_item_comment(server, "topic", owner, _int(params, "topic_id"), params)


def _add_item_comment(
    server: FakeVkServer, kind: str, owner: int, item_id: int, params: dict[str, str]
) -> int:
    group = _group_of(server, owner)
    guid = params.get("guid")
    if guid and guid in server.comments_by_guid:
        return server.comments_by_guid[guid]
    # from_group is a flag here (1: as the community), unlike wall.createComment's group id.
    from_id = -group.group_id if params.get("from_group") == "1" else 1
    comment_id = server.state.add_item_comment(
        kind,
        owner,
        item_id,
        params.get("message", ""),
        int(server.clock().timestamp()),
        from_id,
        _int(params, "reply_to_comment"),
    )
    if guid:
        server.comments_by_guid[guid] = comment_id
    return comment_id


def _messages_send(server: FakeVkServer, _token_kind: str, params: dict[str, str]) -> Any:
    """The message's id; a random_id seen before returns the first message's id and sends
    nothing (VK's deduplication; 0 means no key)."""
    group_id = server.state.token_groups.get(_token(params)) or _int(params, "group_id")
    peer_id = _int(params, "peer_id") or _int(params, "user_id")
    if not group_id or not peer_id:
        raise FakeApiError(100, "One of the parameters specified was missing or invalid: peer_id")
    random_id = _int(params, "random_id")
    if random_id and random_id in server.messages_by_random_id:
        return server.messages_by_random_id[random_id]
    message_id = server.state.add_message(
        group_id, peer_id, params.get("message", ""), int(server.clock().timestamp())
    )
    if random_id:
        server.messages_by_random_id[random_id] = message_id
    return message_id


_METHODS = {
    "groups.getLongPollServer": _get_long_poll_server,
    "wall.get": _wall_get,
    "wall.getComments": _wall_get_comments,
    "newsfeed.search": _newsfeed_search,
    "wall.createComment": _create_comment,
    "photos.createComment": _item_comment("photo", "photo_id"),
    "video.createComment": _item_comment("video", "video_id"),
    "market.createComment": _item_comment("market", "item_id"),
    "board.createComment": _board_comment,
    "messages.send": _messages_send,
}


def _handler_for(server: FakeVkServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read the state, not the access log."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("utf-8"))
            params = {key: values[-1] for key, values in form.items()}
            method = urlparse(self.path).path.removeprefix("/method/")
            try:
                body = server.call(method, params)
                payload = body if method == "execute" else {"response": body}
            except FakeApiError as error:
                payload = {"error": _error_object(method, params, error)}
            self._json(payload)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            group_id = int(url.path.removeprefix("/lp/"))
            wait = min(float(query.get("wait", "0")), 2.0)
            reply = server.state.longpoll(
                group_id, query.get("key", ""), int(query.get("ts", "0")), wait
            )
            self._json(reply)

        def _json(self, payload: Any) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
