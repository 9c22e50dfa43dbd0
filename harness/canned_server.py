"""A small generic canned-response HTTP server, in the shape of pytest-httpserver and responses.

Routes (a request matcher and a sequence of canned responses) are checked in order; a request
no route answers goes to the fallback handler, if any; the log keeps every request with the
answer it got, body included.

    with CannedServer(routes=[Route(RequestMatcher("GET", "/ping"), [CannedResponse.json({"ok": True})])]) as server:
        ...  # server.url, server.requests

It is the standard library's ThreadingHTTPServer on 127.0.0.1 with an ephemeral port and
HTTP/1.1 keep-alive. Nagle's algorithm is off: otherwise every keep-alive answer waits for the
client's delayed ACK (about 23 answers a second instead of 2,300) and the server, not the
client under test, dominates request-heavy runs. Bodies are bytes built once, so a large one
costs a single write per request.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
WHEN_EXHAUSTED = ("repeat_last", "fall_through")


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def query_text(value: Any) -> str:
    """A JSON or YAML scalar as it appears in a query string or header: true, 3, text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


@dataclass
class RecordedRequest:
    """One request as the server received it, and what it answered."""

    method: str
    path: str  # as sent, before `?`, not percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str
    status: int | None = None  # None: the connection was dropped without an answer
    response_body: bytes = b""
    handled_by: str = ""  # "route[N]", "fallback" or "unmatched"
    time: float = 0.0  # seconds since the server started

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup."""
        lname = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lname:
                return value
        return default

    def describe(self) -> str:
        q = "&".join(f"{k}={v}" for k, vs in self.query.items() for v in vs)
        return f"{self.method} {self.path}{'?' + q if q else ''} -> {self.status}"


class RequestMatcher:
    """Matches a request by method, exact path or path regex, and a subset of its query: each
    listed parameter must be present with all the listed values; others may be there too."""

    def __init__(
        self,
        method: str | None = None,
        path: str | None = None,
        path_regex: str | None = None,
        query: Mapping[str, Iterable[str]] | None = None,
    ):
        if path is not None and path_regex is not None:
            raise ValueError("give either path or path_regex, not both")
        self.method = method.upper() if method else None
        self.path = path
        self.path_regex = path_regex
        self._regex = re.compile(path_regex) if path_regex is not None else None
        self.query = {key: list(values) for key, values in (query or {}).items()}

    def matches(self, request: RecordedRequest) -> bool:
        if self.method is not None and request.method.upper() != self.method:
            return False
        if self.path is not None and request.path != self.path:
            return False
        if self._regex is not None and not self._regex.search(request.path):
            return False
        return all(
            all(value in request.query.get(key, []) for value in wanted) for key, wanted in self.query.items()
        )

    def describe(self) -> str:
        parts = [self.method or "*"]
        if self.path is not None:
            parts.append(self.path)
        elif self.path_regex is not None:
            parts.append(f"~{self.path_regex}")
        else:
            parts.append("(any path)")
        if self.query:
            parts.append("?" + "&".join(f"{k}={v}" for k, vs in self.query.items() for v in vs))
        return " ".join(parts)


@dataclass(frozen=True)
class Answer:
    """What the server does with one request."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection instead of answering


class CannedResponse:
    """One scripted answer of a route, its body encoded once.

    template: a function of the request giving values for `{name}` placeholders in the body;
    json_escape: the body is JSON, so the values are JSON-escaped before they go in.
    """

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: Mapping[str, Any] | None = None,
        *,
        content_type: str | None = None,
        delay: float = 0.0,
        drop: bool = False,
        template: Callable[[RecordedRequest], Mapping[str, str]] | None = None,
        json_escape: bool = False,
    ):
        self.status = int(status)
        self.body = body
        self.headers = {str(k): query_text(v) for k, v in (headers or {}).items()}
        if content_type and not any(k.lower() == "content-type" for k in self.headers):
            self.headers["Content-Type"] = content_type
        self.delay = float(delay)
        self.drop = bool(drop)
        self.template = template
        self.json_escape = json_escape

    @classmethod
    def json(cls, value: Any, status: int = 200, **options) -> CannedResponse:
        return cls(status, encode_json(value), content_type=JSON_TYPE, json_escape=True, **options)

    @classmethod
    def text(cls, text: str, status: int = 200, **options) -> CannedResponse:
        return cls(status, text.encode("utf-8"), content_type=TEXT_TYPE, **options)

    def answer(self, request: RecordedRequest) -> Answer:
        body = self.body
        if self.template is not None:
            for name, value in self.template(request).items():
                text = json.dumps(value)[1:-1] if self.json_escape else value
                body = body.replace(b"{" + name.encode() + b"}", text.encode())
        return Answer(self.status, body, self.headers, self.delay, self.drop)


class Route:
    """A request matcher with a sequence of responses, one per matching request. Once every
    response has been served, `repeat_last` serves the last one again and `fall_through`
    lets later routes and the fallback answer."""

    def __init__(self, matcher: RequestMatcher, responses: list[CannedResponse], when_exhausted: str = "repeat_last"):
        if not responses:
            raise ValueError("a route needs at least one response")
        if when_exhausted not in WHEN_EXHAUSTED:
            raise ValueError(f"when_exhausted must be one of {', '.join(WHEN_EXHAUSTED)}, not {when_exhausted!r}")
        self.matcher = matcher
        self.responses = responses
        self.when_exhausted = when_exhausted
        self.served = 0
        self._lock = threading.Lock()

    def take(self, request: RecordedRequest) -> CannedResponse | None:
        """The next response for this request, or None if the route does not answer it."""
        if not self.matcher.matches(request):
            return None
        with self._lock:
            index = self.served
            if index >= len(self.responses):
                if self.when_exhausted == "fall_through":
                    return None
                index = len(self.responses) - 1
            self.served += 1
            return self.responses[index]


Fallback = Callable[[RecordedRequest], "Answer | None"]


class CannedServer:
    """The server. Start and stop it with `with`, or `start()` / `stop()`.

    fallback: answers what no route answers (None: it does not know the request either, and
    the server sends `unmatched`).
    """

    def __init__(
        self,
        routes: Iterable[Route] = (),
        fallback: Fallback | None = None,
        *,
        unmatched: Answer = Answer(404),
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        name: str = "canned-server",
    ):
        self.routes = list(routes)
        self.fallback = fallback
        self.unmatched = unmatched
        self.verbose = verbose
        self.name = name
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._started_at = time.monotonic()

    def start(self) -> CannedServer:
        if self._server is not None:
            return self
        handler = type("BoundHandler", (_Handler,), {"canned": self, "server_version": self.name})
        self._stopping.clear()
        self._server = _Server((self._host, self._port), handler)
        self._started_at = time.monotonic()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # wake handler threads idling on keep-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CannedServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order, each with the answer it got."""
        with self._lock:
            return list(self._requests)

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def _dispatch(self, request: RecordedRequest) -> tuple[Answer, str]:
        for index, route in enumerate(self.routes):
            canned = route.take(request)
            if canned is not None:
                return canned.answer(request), f"route[{index}]"
        answer = self.fallback(request) if self.fallback is not None else None
        if answer is None:
            return self.unmatched, "unmatched"
        return answer, "fallback"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):  # quiet on clients that hung up
        if isinstance(sys.exc_info()[1], OSError):  # includes ConnectionError and timeouts
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    sys_version = ""
    canned: CannedServer  # set on the per-server subclass

    def setup(self):
        super().setup()
        self.canned._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.canned._track(self.connection, False)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        if self.canned.verbose:
            sys.stderr.write(f"{self.canned.name}: " + (format % args) + "\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self):
        raw_path, _, raw_query = self.path.partition("?")
        record = RecordedRequest(
            method=self.command,
            path=raw_path,
            query=parse_qs(raw_query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=self._read_body().decode("utf-8", errors="replace"),
            time=time.monotonic() - self.canned._started_at,
        )
        self.canned._record(record)
        answer, record.handled_by = self.canned._dispatch(record)
        drop = answer.drop
        if answer.delay > 0 and self.canned._stopping.wait(answer.delay):
            drop = True  # the server is shutting down: don't answer
        if drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        record.status, record.response_body = answer.status, answer.body
        self.send_response(answer.status)
        has_type = False
        for key, value in answer.headers.items():
            if key.lower() == "content-length":
                continue
            has_type = has_type or key.lower() == "content-type"
            self.send_header(key, value)
        if answer.body and not has_type:
            self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if answer.body and self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle
