"""A real HTTP server on 127.0.0.1 for tests: serves a folder and/or scripted answers.

Why a real server and not mocks: the clients under test (requests, alpaca-py) then run
their real code paths — headers, query strings, retries, timeouts — and the server's
own arrival timestamps measure rate limits honestly.

GET and POST (whose body is recorded) are answered alike. Resolution order for a path:
the next queued scripted answer for that path
(:meth:`LoopbackServer.queue`), then a route handler (:meth:`LoopbackServer.route`),
then a file under ``root``, else 404. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; ``at`` is ``time.monotonic()`` on arrival."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """A scripted response; a dict/list body is sent as JSON."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


Handler = Callable[[Request], Answer]


class LoopbackServer:
    """Threaded HTTP server on an ephemeral 127.0.0.1 port; use as a context manager."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.requests: list[Request] = []
        self._queues: dict[str, deque[Answer]] = defaultdict(deque)
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, path: str, *answers: Answer) -> None:
        """Answer the next requests for ``path`` with ``answers``, in order, once each."""
        with self._lock:
            self._queues[path].extend(answers)

    def route(self, path: str, handler: Handler) -> None:
        """Answer every (unqueued) request for ``path`` by calling ``handler``."""
        self._routes[path] = handler

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            queued = self._queues.get(request.path)
            if queued:
                return queued.popleft()
        handler = self._routes.get(request.path)
        if handler is not None:
            return handler(request)
        if self.root is not None:
            file = (self.root / request.path.lstrip("/")).resolve()
            if file.is_file() and file.is_relative_to(self.root.resolve()):
                return Answer(200, file.read_bytes())
        return Answer(404, "not found")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=method,
                    path=unquote(parts.path),
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    at=time.monotonic(),
                    body=self.rfile.read(length) if length else b"",
                )
                answer = server._answer(request)
                body, content_type = answer.encoded()
                self.send_response(answer.status)
                headers = {"Content-Type": content_type, **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default stderr access log."""

        return _Handler
