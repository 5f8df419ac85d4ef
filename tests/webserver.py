"""A small scriptable HTTP/1.1 server on 127.0.0.1 for tests (stdlib only, one thread per request).

Routes map a path to what should be served. A route value may be:

* a `Reply` — served every time;
* a list of `Reply` — served in order, the last one repeating (e.g. `[Reply(503), Reply(200)]`);
* a callable `(request: Recorded) -> Reply` — full control (inspect headers, count calls).

Lookup tries the exact path with its query string first, then the path alone; unknown paths
get 404. Every request is recorded (method, path, headers, `time.monotonic()` on arrival),
so tests can assert on what the client actually sent and *when* — politeness tests measure
gaps between arrivals at the server, never wall-clock durations.

    with ScriptedServer({"/": Reply(body=b"<html>hi</html>")}) as srv:
        url = srv.url("/")            # "http://127.0.0.1:<port>/"
        srv.routes["/x"] = Reply(302, headers={"Location": "/"})
        ...
        srv.times("/")                # arrival times of requests to "/"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackURLs", "Recorded", "Reply", "ScriptedServer"]


@dataclass
class Reply:
    """What to send back.

    `chunks` sends the body with chunked transfer encoding and no Content-Length (with
    `chunk_delay` seconds between chunks); `delay` waits before answering (timeouts);
    `drop=True` closes the connection without answering (connection errors).
    """

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    chunks: list[bytes] | None = None
    chunk_delay: float = 0.0
    delay: float = 0.0
    drop: bool = False


@dataclass
class Recorded:
    method: str
    path: str  # with query string
    headers: dict[str, str]  # lower-case names
    time: float  # time.monotonic() on arrival


Route = Reply | list[Reply] | Callable[[Recorded], Reply]


class LoopbackURLs:
    """URLs of a test server listening on 127.0.0.1 at the ephemeral port in ``_port``."""

    _port: int | None = None

    @property
    def port(self) -> int:
        assert self._port is not None, "server not started"
        return self._port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + path


class ScriptedServer(LoopbackURLs):
    """Context manager running a ThreadingHTTPServer on 127.0.0.1 with an ephemeral port."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Recorded] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None  # kept after stop() so URLs can still be built

    # -- lifecycle ----------------------------------------------------------------

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            scripted = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # -- helpers ------------------------------------------------------------------

    def requests_for(self, path: str) -> list[Recorded]:
        """Requests whose path (query string ignored unless given) equals `path`."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path or ("?" not in path and r.path.split("?")[0] == path)
            ]

    def times(self, path: str | None = None) -> list[float]:
        """Arrival times, in order, of all requests or of those to `path`."""
        with self._lock:
            reqs = list(self.requests)
        if path is not None:
            reqs = [r for r in reqs if r.path == path or r.path.split("?")[0] == path]
        return [r.time for r in reqs]

    def count(self, path: str) -> int:
        return len(self.requests_for(path))

    # -- used by the handler --------------------------------------------------------

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def _resolve(self, rec: Recorded) -> Reply:
        key = rec.path if rec.path in self.routes else rec.path.split("?")[0]
        route = self.routes.get(key)
        if route is None:
            return Reply(404, b"not found", content_type="text/plain")
        if callable(route):
            return route(rec)
        if isinstance(route, list):
            with self._lock:
                n = self._served.get(key, 0)
                self._served[key] = n + 1
            return route[min(n, len(route) - 1)]
        return route


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked encoding, like real servers
    scripted: ScriptedServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        rec = Recorded(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            time=time.monotonic(),
        )
        self.scripted._record(rec)
        reply = self.scripted._resolve(rec)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        try:
            self.send_response(reply.status)
            if reply.content_type is not None:
                self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.chunks is not None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if send_body:
                    for chunk in reply.chunks:
                        self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                        if reply.chunk_delay:
                            time.sleep(reply.chunk_delay)
                    self.wfile.write(b"0\r\n\r\n")
                return
            if not any(k.lower() == "content-length" for k in reply.headers):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and reply.status not in (204, 304):
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
