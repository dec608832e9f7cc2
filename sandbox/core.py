"""A small threaded HTTP server with routes, JSON helpers, a request log and injectable faults.

Every sandbox is an ``App``: a list of ``(method, regex, handler)`` routes. Handlers receive a
``Request`` and return ``Response``. Each running app also answers a control API:

- ``GET /_sandbox/health`` → ``{"ok": true, "name": ...}``
- ``PUT /_sandbox/faults`` with a JSON ``Faults`` object (fields below) sets faults; ``DELETE`` clears;
- ``GET /_sandbox/requests`` → the log of requests served (method, path, query string, status;
  status 0 for a request held by an injected timeout), newest last;
  ``DELETE /_sandbox/requests`` clears it.

Faults (all optional): ``latency_ms`` added to every response; ``fail_next`` (count) answered with
``fail_status`` (default 500); ``timeout_next`` (count) held for ``timeout_seconds`` (default 30)
before closing without a response; ``malformed_every`` (n): every n-th record of list endpoints is
corrupted by the app (apps read ``request.faults.malformed_every``). Counters decrement as used.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Faults:
    latency_ms: int = 0
    fail_next: int = 0
    fail_status: int = 500
    timeout_next: int = 0
    timeout_seconds: float = 30.0
    malformed_every: int = 0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    match: re.Match
    faults: Faults

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(self.body.decode()).items()}

    @property
    def bearer_token(self) -> str:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else ""


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str).encode()
    return Response(status=status, body=body, headers=headers or {})


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status=status)


Handler = Callable[[Request], Response]


class App:
    """A named set of routes plus the mutable state a sandbox keeps between requests."""

    def __init__(self, name: str):
        self.name = name
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.faults = Faults()
        self.log: list[dict] = []
        self.lock = threading.Lock()

    def route(self, method: str, pattern: str):
        def register(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(f"^{pattern}$"), handler))
            return handler

        return register

    # --- dispatch ------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        """Return a ``Response``, or ``None`` to drop the connection (an injected timeout)."""
        parts = urlsplit(raw_path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if parts.path.startswith("/_sandbox/"):
            return self._control(method, parts.path, body)
        with self.lock:
            faults = self.faults
            if faults.timeout_next:
                faults.timeout_next -= 1
                hold = faults.timeout_seconds
            else:
                hold = 0.0
            failing = not hold and faults.fail_next > 0  # a held request uses no failure
            if failing:
                faults.fail_next -= 1
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if hold:
            # Logged before the hold, so a held request never lands in a later test's log.
            self._remember(method, parts.path, 0, parts.query)
            time.sleep(hold)
            return None
        if failing:
            response = error(faults.fail_status, "injected fault")
        else:
            response = self._dispatch(method, parts.path, query, headers, body)
        self._remember(method, parts.path, response.status, parts.query)
        return response

    def _dispatch(self, method, path, query, headers, body) -> Response:
        allowed = False
        for route_method, pattern, handler in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            if route_method != method:
                allowed = True
                continue
            request = Request(method, path, query, headers, body, match, self.faults)
            try:
                return handler(request)
            except (ValueError, KeyError, TypeError) as exc:
                return error(400, f"bad request: {exc}")
        return error(405, "method not allowed") if allowed else error(404, "not found")

    def _remember(self, method: str, path: str, status: int, query: str = "") -> None:
        with self.lock:
            self.log.append({"method": method, "path": path, "query": query, "status": status})
            del self.log[:-1000]

    def _control(self, method: str, path: str, body: bytes) -> Response:
        if path == "/_sandbox/health":
            return json_response({"ok": True, "name": self.name})
        if path == "/_sandbox/faults":
            if method == "PUT":
                try:
                    values = json.loads(body or b"{}")
                except ValueError as exc:
                    return error(400, f"faults must be a JSON object: {exc}")
                if not isinstance(values, dict):
                    return error(400, "faults must be a JSON object")
                unknown = set(values) - set(asdict(Faults()))
                if unknown:
                    return error(400, f"unknown faults: {sorted(unknown)}")
                faults = Faults(**values)
                with self.lock:
                    self.faults = faults
            elif method == "DELETE":
                with self.lock:
                    self.faults = Faults()
            return json_response(asdict(self.faults))
        if path == "/_sandbox/requests":
            if method == "DELETE":
                with self.lock:
                    self.log.clear()
            with self.lock:
                return json_response(list(self.log))
        return error(404, "not found")


class _Handler(BaseHTTPRequestHandler):
    app: App
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY a keep-alive client waits ~40 ms
    # (Nagle's algorithm against delayed ACKs) for every small answer.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        response = self.app.handle(self.command, self.path, headers, body)
        if response is None:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format, *args):  # noqa: A002 - the signature is the base class's
        return


class RunningServer:
    """A sandbox app served by a background thread; ``url`` is its base URL."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0):
        handler = type(f"{app.name}Handler", (_Handler,), {"app": app})
        self.app = app
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RunningServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
