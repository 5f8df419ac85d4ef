"""Fetcher behaviour against a real HTTP server on 127.0.0.1.

Politeness is asserted from the server's side (arrival times it recorded), never from
wall-clock durations. A 10 ms allowance covers localhost transit jitter between the
client claiming a start slot and the server thread stamping the arrival.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpcore
import httpx
import pytest

from crawler.fetch._fetcher import FetchConfig, Fetcher, FetchResult, parse_retry_after
from crawler.fetch._netguard import GuardedBackend, NetGuard
from tests.webserver import Recorded, Reply, ScriptedServer

pytestmark = pytest.mark.quick

JITTER = 0.01
HTML = "<!doctype html><html><body><p>hello</p></body></html>"


def cfg(**overrides: Any) -> FetchConfig:
    base: dict[str, Any] = dict(
        allow_hosts=["127.0.0.1"],
        per_host_delay=0.0,
        backoff_base=0.01,
        backoff_max=0.05,
        timeout=5.0,
        connect_timeout=2.0,
    )
    base.update(overrides)
    return FetchConfig(**base)


def run(config: FetchConfig, body: Callable[[Fetcher], Awaitable[Any]], **kw: Any) -> Any:
    async def main() -> Any:
        async with Fetcher(config, **kw) as fetcher:
            return await body(fetcher)

    return asyncio.run(main())


def fetch_one(config: FetchConfig, url: str, **kw: Any) -> FetchResult:
    return run(config, lambda f: f.fetch(url, **kw))


def gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [b - a for a, b in zip(ordered, ordered[1:], strict=False)]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport and notes every request actually handed to the network."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- basics ---------------------------------------------------------------------------


def test_fetch_html_ok() -> None:
    with ScriptedServer({"/": Reply(body=HTML)}) as srv:
        res = fetch_one(cfg(), srv.url("/"))
    assert res.ok and res.error is None
    assert res.status == 200 and res.body == HTML.encode()
    assert res.content_type == "text/html" and res.encoding == "utf-8"
    assert res.attempts == 1 and res.final_url == srv.url("/")
    page_req = srv.requests_for("/")[0]
    assert page_req.headers["user-agent"].startswith("newsdedup/")


def test_default_transport_checks_at_connect_time_and_keeps_connections_per_host() -> None:
    with (
        ScriptedServer({"/a": Reply(body=HTML), "/b": Reply(body=HTML)}) as one,
        ScriptedServer({"/a": Reply(body=HTML)}) as two,
    ):

        async def go() -> list:
            async with Fetcher(cfg(obey_robots=False)) as fetcher:
                for url in (one.url("/a"), one.url("/b"), two.url("/a"), one.url("/a")):
                    assert (await fetcher.fetch(url)).ok
                return fetcher._client._transport.pools()  # type: ignore[attr-defined]

        pools = asyncio.run(go())
    assert len(pools) == 2  # one pool per origin
    for pool in pools:
        assert isinstance(pool._pool._network_backend, GuardedBackend)


def test_loopback_refused_unless_allowed() -> None:
    with ScriptedServer({"/": Reply(body=HTML)}) as srv:
        res = fetch_one(cfg(allow_hosts=[]), srv.url("/"))
        assert srv.requests == []
    assert not res.ok
    assert res.error is not None and res.error.startswith("refused: 127.0.0.1 is a loopback")


def test_non_html_refused_and_sniffing() -> None:
    routes = {
        "/doc.pdf": Reply(body=b"%PDF-1.4", content_type="application/pdf"),
        "/untyped": Reply(body=HTML, content_type=None),
        "/blob": Reply(body=b"\x00\x01binary", content_type=None),
    }
    with ScriptedServer(routes) as srv:
        pdf, untyped, blob = run(
            cfg(obey_robots=False),
            lambda f: asyncio.gather(
                f.fetch(srv.url("/doc.pdf")),
                f.fetch(srv.url("/untyped")),
                f.fetch(srv.url("/blob")),
            ),
        )
    assert pdf.error == "not HTML: application/pdf" and pdf.body == b""
    assert untyped.ok and untyped.content_type is None
    assert blob.error is not None and blob.error.startswith("not HTML")


def test_feed_kind_accepts_xml() -> None:
    with ScriptedServer({"/f": Reply(body="<rss/>", content_type="application/rss+xml")}) as srv:
        res = fetch_one(cfg(), srv.url("/f"), kind="feed")
        assert srv.count("/robots.txt") == 0  # robots gate only page fetches
    assert res.ok and res.body == b"<rss/>"


def test_http_error_status() -> None:
    with ScriptedServer() as srv:
        res = fetch_one(cfg(obey_robots=False), srv.url("/missing"))
        assert srv.count("/missing") == 1  # 4xx is not retried
    assert res.error == "HTTP 404" and res.status == 404 and not res.ok


# -- robots -----------------------------------------------------------------------------


def test_robots_disallow() -> None:
    robots = "User-agent: *\nDisallow: /private\n"
    routes = {
        "/robots.txt": Reply(body=robots, content_type="text/plain"),
        "/private/a": Reply(body=HTML),
        "/public": Reply(body=HTML),
    }
    with ScriptedServer(routes) as srv:
        blocked, fine = run(
            cfg(),
            lambda f: asyncio.gather(f.fetch(srv.url("/private/a")), f.fetch(srv.url("/public"))),
        )
        assert srv.count("/private/a") == 0
        assert srv.count("/robots.txt") == 1  # cached, fetched once under concurrency
    assert blocked.error == "robots.txt disallows"
    assert fine.ok


@pytest.mark.slow
def test_robots_crawl_delay_honoured() -> None:
    delay = 0.3
    robots = f"User-agent: *\nCrawl-delay: {delay}\n"
    routes = {"/robots.txt": Reply(body=robots, content_type="text/plain")}
    routes.update({f"/p{i}": Reply(body=HTML) for i in range(3)})
    with ScriptedServer(routes) as srv:
        results = run(
            cfg(per_host_delay=0.0, per_host_concurrency=4),
            lambda f: asyncio.gather(*(f.fetch(srv.url(f"/p{i}")) for i in range(3))),
        )
        times = srv.times()
    assert all(r.ok for r in results)
    assert len(times) == 4  # robots + 3 pages
    assert all(g >= delay - JITTER for g in gaps(times)), gaps(times)


def test_robots_5xx_means_disallow() -> None:
    routes = {"/robots.txt": Reply(503, body="down"), "/a": Reply(body=HTML)}
    with ScriptedServer(routes) as srv:
        res = fetch_one(cfg(), srv.url("/a"))
        assert srv.count("/a") == 0
    assert res.error == "robots.txt unavailable: HTTP 503"


@pytest.mark.parametrize("status", [404, 403, 410])
def test_robots_4xx_means_allow(status: int) -> None:
    routes = {"/robots.txt": Reply(status, body="no"), "/a": Reply(body=HTML)}
    with ScriptedServer(routes) as srv:
        res = fetch_one(cfg(), srv.url("/a"))
        assert srv.count("/a") == 1
    assert res.ok


def test_robots_sitemaps_listed() -> None:
    robots = "Sitemap: https://example.invalid/sm.xml\nUser-agent: *\nAllow: /\n"
    with ScriptedServer({"/robots.txt": Reply(body=robots, content_type="text/plain")}) as srv:
        maps = run(cfg(), lambda f: f.robots.sitemaps(srv.url("/anything")))
    assert maps == ["https://example.invalid/sm.xml"]


# -- conditional GET / retries -----------------------------------------------------------


def test_conditional_get_304() -> None:
    def page(req: Recorded) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'}, content_type=None)
        return Reply(body=HTML, headers={"ETag": '"v1"', "Last-Modified": "Mon, 01 Jan 2024"})

    with ScriptedServer({"/a": page}) as srv:
        first = fetch_one(cfg(obey_robots=False), srv.url("/a"))
        second = fetch_one(
            cfg(obey_robots=False),
            srv.url("/a"),
            etag=first.etag,
            last_modified=first.last_modified,
        )
        sent = srv.requests_for("/a")[1].headers
    assert first.ok and not first.not_modified and first.etag == '"v1"'
    assert second.ok and second.not_modified and second.status == 304
    assert second.body == b"" and second.etag == '"v1"'
    assert second.last_modified == "Mon, 01 Jan 2024"  # carried over from the caller
    assert sent["if-modified-since"] == "Mon, 01 Jan 2024"


@pytest.mark.slow
def test_429_retry_after_honoured() -> None:
    routes = {"/a": [Reply(429, headers={"Retry-After": "1"}), Reply(body=HTML)]}
    with ScriptedServer(routes) as srv:
        res = fetch_one(cfg(obey_robots=False), srv.url("/a"))
        times = srv.times("/a")
    assert res.ok and res.attempts == 2
    assert len(times) == 2 and times[1] - times[0] >= 1.0 - JITTER


def test_retry_after_too_long_gives_up() -> None:
    routes = {"/a": Reply(503, headers={"Retry-After": "3600"})}
    with ScriptedServer(routes) as srv:
        res = fetch_one(cfg(obey_robots=False, retry_after_max=300), srv.url("/a"))
        assert srv.count("/a") == 1
    assert res.error == "retry-after too long: 3600s"


def test_5xx_retries_then_success_with_jittered_backoff() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    routes = {"/a": [Reply(503), Reply(502), Reply(body=HTML)]}
    with ScriptedServer(routes) as srv:
        res = run(
            cfg(obey_robots=False, backoff_base=0.5, backoff_max=0.75),
            lambda f: f.fetch(srv.url("/a")),
            sleep=sleep,
            rng=lambda: 1.0,  # top of the jitter range, so the cap is visible
        )
        assert srv.count("/a") == 3
    assert res.ok and res.attempts == 3
    assert waits == [0.5, 0.75]  # base*2**attempt, capped at backoff_max


def test_5xx_exhausted() -> None:
    with ScriptedServer({"/a": Reply(500)}) as srv:
        res = fetch_one(cfg(obey_robots=False, max_retries=2), srv.url("/a"))
        assert srv.count("/a") == 3
    assert res.error == "HTTP 500" and res.attempts == 3


def test_dropped_connection_retried() -> None:
    with ScriptedServer({"/a": [Reply(drop=True), Reply(body=HTML)]}) as srv:
        res = fetch_one(cfg(obey_robots=False), srv.url("/a"))
    assert res.ok and res.attempts == 2


def test_timeout() -> None:
    with ScriptedServer({"/slow": Reply(body=HTML, delay=0.5)}) as srv:
        res = fetch_one(cfg(obey_robots=False, timeout=0.1, max_retries=0), srv.url("/slow"))
    assert res.error == "timeout"


def test_circuit_breaker_opens_and_recovers() -> None:
    now = [1000.0]

    async def main(fetcher: Fetcher, url: str) -> list[FetchResult]:
        results = [await fetcher.fetch(url) for _ in range(4)]
        now[0] += 301  # cooldown passes
        results.append(await fetcher.fetch(url))
        return results

    with ScriptedServer({"/a": Reply(503)}) as srv:
        config = cfg(obey_robots=False, max_retries=0, circuit_failures=3, circuit_cooldown=300)
        results = run(config, lambda f: main(f, srv.url("/a")), clock=lambda: now[0])
        assert srv.count("/a") == 4  # 3 failures, fast-fail, then one half-open trial
    assert [r.error for r in results] == [
        "HTTP 503",
        "HTTP 503",
        "HTTP 503",
        "circuit open for host",
        "HTTP 503",
    ]
    assert results[3].attempts == 0


# -- size / redirects / SSRF ------------------------------------------------------------


def test_max_bytes_enforced_while_streaming() -> None:
    chunks = [b"x" * 1000] * 20
    with ScriptedServer({"/big": Reply(chunks=chunks)}) as srv:
        res = fetch_one(cfg(obey_robots=False, max_bytes=2500), srv.url("/big"))
    assert res.error == "too large: > 2500 bytes" and res.body == b""


def test_content_length_over_max_refused_early() -> None:
    with ScriptedServer({"/big": Reply(body=b"y" * 5000)}) as srv:
        res = fetch_one(cfg(obey_robots=False, max_bytes=1000), srv.url("/big"))
    assert res.error == "too large: > 1000 bytes"


def test_redirect_followed() -> None:
    routes = {"/old": Reply(301, headers={"Location": "/new"}), "/new": Reply(body=HTML)}
    with ScriptedServer(routes) as srv:
        res = fetch_one(cfg(), srv.url("/old"))
    assert res.ok and res.url == srv.url("/old") and res.final_url == srv.url("/new")
    assert res.attempts == 2


def test_redirect_loop() -> None:
    with ScriptedServer({"/loop": Reply(302, headers={"Location": "/loop"})}) as srv:
        res = fetch_one(cfg(obey_robots=False, max_redirects=3), srv.url("/loop"))
        assert srv.count("/loop") == 4
    assert res.error == "too many redirects"


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("http://10.0.0.1/x", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is a cloud metadata"),
    ],
)
def test_ssrf_refused_after_redirect(target: str, fragment: str) -> None:
    transport = RecordingTransport()
    with ScriptedServer({"/r": Reply(302, headers={"Location": target})}) as srv:
        res = run(cfg(obey_robots=False), lambda f: f.fetch(srv.url("/r")), transport=transport)
    assert res.error is not None and res.error.startswith("refused: ")
    assert fragment in res.error and f"after redirect from {srv.url('/r')}" in res.error
    assert transport.urls == [srv.url("/r")]  # nothing ever went towards the target


def test_ssrf_refused_after_dns_resolution() -> None:
    """A harmless-looking name that resolves to a private address is refused too."""

    async def resolver(host: str, port: int) -> list[str]:
        return {"internal.example": ["10.0.0.5"]}.get(host, [])

    transport = RecordingTransport()
    redirect = Reply(302, headers={"Location": "http://internal.example/"})
    with ScriptedServer({"/r": redirect}) as srv:
        res = run(
            cfg(obey_robots=False),
            lambda f: f.fetch(srv.url("/r")),
            transport=transport,
            resolver=resolver,
        )
    assert res.error is not None and "10.0.0.5 is a private address" in res.error
    assert transport.urls == [srv.url("/r")]


def test_guarded_backend_refuses_at_connect_time() -> None:
    """Second line of defence (DNS rebinding): the backend checks what it connects to."""
    calls: list[tuple[str, int]] = []

    class SpyBackend(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, *a: Any, **k: Any) -> Any:
            calls.append((host, port))
            raise httpcore.ConnectError("spy")

    async def resolver(host: str, port: int) -> list[str]:
        return {"rebind.example": ["10.0.0.7"], "ok.example": ["127.0.0.1"]}[host]

    backend = GuardedBackend(NetGuard(["127.0.0.1"], resolver=resolver), SpyBackend())

    async def main() -> str:
        with pytest.raises(httpcore.ConnectError) as refused:
            await backend.connect_tcp("rebind.example", 80)
        with pytest.raises(httpcore.ConnectError):
            await backend.connect_tcp("ok.example", 80)
        return str(refused.value)

    message = asyncio.run(main())
    assert message.startswith("refused: 10.0.0.7 is a private address")
    assert calls == [("127.0.0.1", 80)]  # connected by checked IP, never to 10.0.0.7


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x/"])
def test_non_http_redirect_refused(target: str) -> None:
    with ScriptedServer({"/r": Reply(302, headers={"Location": target})}) as srv:
        res = fetch_one(cfg(obey_robots=False), srv.url("/r"))
    assert res.error is not None and res.error.startswith("refused: redirect to non-HTTP URL")


def test_non_http_start_url_refused() -> None:
    res = fetch_one(cfg(), "file:///etc/passwd")
    assert res.error is not None and res.error.startswith("refused: not an HTTP URL")


# -- politeness ---------------------------------------------------------------------------


@pytest.mark.slow
def test_per_host_delay_across_concurrent_fetches() -> None:
    delay = 0.2
    routes = {f"/p{i}": Reply(body=HTML) for i in range(5)}
    with ScriptedServer(routes) as srv:
        results = run(
            cfg(obey_robots=False, per_host_delay=delay, per_host_concurrency=5),
            lambda f: asyncio.gather(*(f.fetch(srv.url(f"/p{i}")) for i in range(5))),
        )
        times = srv.times()
    assert all(r.ok for r in results) and len(times) == 5
    assert all(g >= delay - JITTER for g in gaps(times)), gaps(times)


def test_per_host_concurrency_cap() -> None:
    active = [0]
    peak = [0]
    import threading

    lock = threading.Lock()

    def slow(req: Recorded) -> Reply:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        import time

        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return Reply(body=HTML)

    with ScriptedServer({"/s": slow}) as srv:
        results = run(
            cfg(obey_robots=False, per_host_concurrency=2),
            lambda f: asyncio.gather(*(f.fetch(srv.url(f"/s?i={i}")) for i in range(6))),
        )
    assert all(r.ok for r in results)
    assert 1 <= peak[0] <= 2


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=5), usegmt=True)
    assert parse_retry_after(later, now=now) == 90
    assert parse_retry_after(earlier, now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
