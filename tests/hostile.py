"""A hostile web server on 127.0.0.1, written on raw sockets.

`tests.webserver.ScriptedServer` speaks correct HTTP through the standard library, which
is exactly what a hostile site does not do. Here every route is a function that writes
whatever bytes it likes to the connection: half a body then a TCP reset, one byte a
second, a gzip stream cut short, a status line that is not HTTP, a chunked body with no
end. Each connection gets its own daemon thread and every wait checks the server's stop
flag, so a slowloris route never outlives the test that started it.

    with HostileServer({"/": ok_page("<html>…</html>")}) as srv:
        srv.routes["/bomb"] = gzip_bomb(100 << 20)
        url = srv.url("/bomb")
        srv.count("/bomb")            # requests that asked for it
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import brotli

from tests.webserver import LoopbackURLs

__all__ = [
    "Conn",
    "HostileServer",
    "Request",
    "brotli_bomb",
    "chunked_forever",
    "content_length_lie",
    "garbage_status_line",
    "gzip_bomb",
    "gzip_sitemap_stream",
    "huge_headers",
    "never_answer",
    "ok",
    "redirect",
    "reset_mid_body",
    "slowloris",
    "status",
    "truncated_gzip",
]


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    time: float  # time.monotonic() on arrival


class Conn:
    """One accepted connection, as a route handler sees it."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self._stopping = stopping

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def send(self, data: bytes) -> bool:
        """False once the client has gone away (or the server stops): stop writing then."""
        if self.stopping:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def sleep(self, seconds: float) -> bool:
        """Wait, but wake at once when the server stops; False then."""
        return not self._stopping.wait(seconds)

    def reset(self) -> None:
        """Close with an RST instead of a FIN: what a crashed server or a middlebox sends."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Handler = Callable[[Conn, Request], None]


def _head(code: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {code} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


# -- route builders ------------------------------------------------------------------


def status(
    code: int,
    body: bytes | str = b"",
    *,
    headers: dict[str, str] | None = None,
    content_type: str | None = "text/html; charset=utf-8",
) -> Handler:
    """A well-formed reply with any status (also the base of the polite routes)."""
    data = _as_bytes(body)

    def handle(conn: Conn, _req: Request) -> None:
        h = {"Connection": "close", "Content-Length": str(len(data))}
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        conn.send(_head(code, h) + data)

    return handle


def ok(
    body: bytes | str, content_type: str | None = "text/html; charset=utf-8", **headers: str
) -> Handler:
    return status(200, body, content_type=content_type, headers=headers)


def redirect(location: str, code: int = 302) -> Handler:
    return status(code, b"", headers={"Location": location}, content_type=None)


def reset_mid_body(body: bytes | str) -> Handler:
    """Promise the whole body, send a third of it, then reset the connection."""
    data = _as_bytes(body)

    def handle(conn: Conn, _req: Request) -> None:
        h = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(data))}
        conn.send(_head(200, h) + data[: len(data) // 3])
        conn.sleep(0.05)
        conn.reset()

    return handle


def slowloris(body: bytes | str, interval: float = 1.0) -> Handler:
    """Headers at once, then the body one byte every `interval` seconds."""
    data = _as_bytes(body)

    def handle(conn: Conn, _req: Request) -> None:
        h = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(data))}
        if not conn.send(_head(200, h)):
            return
        for i in range(len(data)):
            if not conn.send(data[i : i + 1]) or not conn.sleep(interval):
                return

    return handle


def never_answer(handler_time: float = 120.0) -> Handler:
    """Accept, read the request, and say nothing until the client gives up."""

    def handle(conn: Conn, _req: Request) -> None:
        conn.sleep(handler_time)

    return handle


def truncated_gzip(body: bytes | str) -> Handler:
    """A complete HTTP message whose gzip stream stops halfway (no gzip trailer)."""
    packed = gzip.compress(_as_bytes(body))
    cut = packed[: len(packed) // 2]
    return status(200, cut, headers={"Content-Encoding": "gzip"})


def gzip_bomb(size: int) -> Handler:
    """`size` bytes of zeros, gzip'd to about size/1000: small on the wire, huge inflated."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [comp.compress(block) for _ in range(size >> 20)]
    packed = b"".join(parts) + comp.flush()
    return status(200, packed, headers={"Content-Encoding": "gzip"})


def brotli_bomb(size: int) -> Handler:
    """`size` bytes of zeros in brotli: about 5000:1, far worse than gzip's 1000:1."""
    packed = brotli.compress(b"\0" * size, quality=1)
    return status(200, packed, headers={"Content-Encoding": "br"})


def chunked_forever(chunk: bytes = b"<p>more</p>" * 400, delay: float = 0.0) -> Handler:
    """A chunked text/html body with no last chunk: it never ends on its own."""

    def handle(conn: Conn, _req: Request) -> None:
        h = {"Content-Type": "text/html; charset=utf-8", "Transfer-Encoding": "chunked"}
        opening = b"<html><body>"
        if not conn.send(_head(200, h) + f"{len(opening):X}\r\n".encode() + opening + b"\r\n"):
            return
        frame = f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n"
        while conn.send(frame):
            if delay and not conn.sleep(delay):
                return

    return handle


def content_length_lie(body: bytes | str, extra: int = 10_000) -> Handler:
    """Claim `extra` more bytes than are sent, then close cleanly (FIN, not RST)."""
    data = _as_bytes(body)

    def handle(conn: Conn, _req: Request) -> None:
        h = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(data) + extra)}
        conn.send(_head(200, h) + data)

    return handle


def garbage_status_line() -> Handler:
    def handle(conn: Conn, _req: Request) -> None:
        conn.send(b"SPDY/9 banana\r\n\x00\x01\x02 not http at all\r\n\r\n")

    return handle


def huge_headers(count: int = 20_000) -> Handler:
    """An endless-looking header block (about 1 MB of headers)."""

    def handle(conn: Conn, _req: Request) -> None:
        if not conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"):
            return
        for i in range(count):
            if not conn.send(f"X-Junk-{i}: {'a' * 40}\r\n".encode()):
                return
        conn.send(b"Content-Length: 0\r\n\r\n")

    return handle


def gzip_sitemap_stream(url_for: Callable[[int], str], count: int) -> Handler:
    """A gzip'd urlset of `count` URLs, compressed while it is sent (never all in memory)."""

    def pieces() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
        yield b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        batch: list[str] = []
        for i in range(count):
            batch.append(f"<url><loc>{url_for(i)}</loc></url>\n")
            if len(batch) == 5000:
                yield "".join(batch).encode()
                batch.clear()
        yield "".join(batch).encode() + b"</urlset>\n"

    def handle(conn: Conn, _req: Request) -> None:
        h = {"Content-Type": "application/gzip", "Transfer-Encoding": "chunked"}
        if not conn.send(_head(200, h)):
            return
        comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        for piece in pieces():
            out = comp.compress(piece)
            if out and not conn.send(f"{len(out):X}\r\n".encode() + out + b"\r\n"):
                return
        out = comp.flush()
        conn.send(f"{len(out):X}\r\n".encode() + out + b"\r\n0\r\n\r\n")

    return handle


# -- the server ------------------------------------------------------------------------


class HostileServer(LoopbackURLs):
    """Raw-socket HTTP/1.x server on 127.0.0.1 with an ephemeral port; one request per
    connection (every reply closes), which is all a misbehaving site needs."""

    def __init__(self, routes: dict[str, Handler] | None = None) -> None:
        self.routes: dict[str, Handler] = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._port: int | None = None

    def __enter__(self) -> HostileServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.settimeout(0.05)
        self._sock = sock
        self._port = int(sock.getsockname()[1])
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self) -> None:
        self._stopping.set()
        for t in list(self._threads):
            t.join(timeout=2)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def count(self, path: str) -> int:
        """Requests for `path` (query string ignored unless `path` has one)."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.path == path or ("?" not in path and r.path.split("?")[0] == path)
            )

    # -- internals -------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()
            with self._lock:
                self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _read_head(self, client: socket.socket) -> bytes | None:
        client.settimeout(5.0)
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                got = client.recv(4096)
            except OSError:
                return None
            if not got or len(data) > 65536:
                return None
            data += got
        return data.split(b"\r\n\r\n", 1)[0]

    def _serve(self, client: socket.socket) -> None:
        try:
            head = self._read_head(client)
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, *_ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            req = Request(method, path, headers, time.monotonic())
            with self._lock:
                self.requests.append(req)
            handler = self.routes.get(path) or self.routes.get(path.split("?")[0])
            if handler is None:
                handler = status(404, b"not found", content_type="text/plain")
            client.settimeout(10.0)  # a client that stops reading must not pin a thread
            handler(Conn(client, self._stopping), req)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.close()
