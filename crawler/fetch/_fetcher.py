"""The polite fetcher: every byte the crawler downloads goes through `Fetcher.fetch`.

Politeness and safety live here, not in the crawl loop, so no caller can forget them:
a global and a per-host concurrency cap, a minimum gap between request *starts* per host
(raised by robots.txt Crawl-delay and by Retry-After), robots.txt, an SSRF guard on every
redirect hop, a size cap enforced while streaming, retries with jittered backoff, and a
per-host circuit breaker so a dead site costs seconds, not the whole run.

`fetch` never raises for network or HTTP trouble: it returns a FetchResult whose `error`
says in a few words what went wrong, because "why is this run empty" is the question
users ask most.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import brotli
import httpx

from crawler._identity import USER_AGENT
from crawler._urls import host_of, is_http_url

from ._netguard import GuardedBackend, NetGuard, Resolver
from ._robots import RobotsCache

__all__ = ["FetchConfig", "FetchResult", "Fetcher", "parse_retry_after"]

log = logging.getLogger("newsdedup.fetch")
# Retries are about one page or document: lines a -v reader wants, a cron log does not.
page_log = logging.getLogger("newsdedup.page")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XMLISH_TYPES = frozenset(
    {
        "application/gzip",
        "application/x-gzip",
        "application/octet-stream",
        "binary/octet-stream",
        "application/json",
        "application/feed+json",
    }
)
_ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/rdf+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
    "sitemap": "application/xml,text/xml;q=0.9,application/gzip;q=0.8,*/*;q=0.1",
    "robots": "text/plain,*/*;q=0.1",
}


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str | None = None  # bare media type, lower case ("text/html")
    encoding: str | None = None  # charset from Content-Type, None if absent
    error: str | None = None  # None on success (2xx/304); else a short reason
    elapsed: float = 0.0
    attempts: int = 0  # HTTP requests sent for this fetch, retries and redirect hops included
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.status is not None
            and (200 <= self.status < 300 or self.status == 304)
        )


@dataclass
class FetchConfig:
    user_agent: str = USER_AGENT
    timeout: float = 15.0  # per read; one attempt as a whole gets 2x this
    connect_timeout: float = 5.0
    max_bytes: int = 5_000_000
    # Feeds and sitemaps: the sitemap protocol allows 50 MiB uncompressed, ten times a
    # page, and a page cap applied to them lost every URL of a big sitemap.
    max_sitemap_bytes: int = 52_428_800
    max_redirects: int = 5
    concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    retry_after_max: float = 300.0
    obey_robots: bool = True
    robots_ttl: float = 3600.0
    circuit_failures: int = 5
    circuit_cooldown: float = 300.0
    allow_hosts: list[str] = field(default_factory=list)
    http2: bool = True
    robots_error_ttl: float = 600.0  # how long an unreachable robots.txt means "disallow"
    max_crawl_delay: float = 60.0  # cap on a robots.txt Crawl-delay we agree to honour


@dataclass
class _HostState:
    sem: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = -math.inf
    not_before: float = -math.inf  # set from Retry-After: the whole host waits
    failures: int = 0  # consecutive failed attempts
    open_until: float = -math.inf


@dataclass
class _Outcome:
    """One HTTP attempt, before retry/redirect policy is applied."""

    result: FetchResult
    retryable: bool = False
    retry_after: float | None = None
    location: str | None = None


class _TooLarge(Exception):
    """The body passed its cap (the one argument)."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def split_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    media, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'").lower()
    return (media.strip().lower() or None), charset


def looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    return any(tag in head for tag in (b"<html", b"<head", b"<body"))


def _type_refusal(kind: str, media: str | None) -> str | None:
    """Why a response of type `media` is useless for `kind` (None: acceptable/unknown)."""
    if media is None:
        return None
    if kind == "page":
        return None if media in _HTML_TYPES else f"not HTML: {media}"
    if kind in ("feed", "sitemap", "robots"):
        if "xml" in media or media.startswith("text/") or media in _XMLISH_TYPES:
            return None
        return f"unexpected content-type: {media}"
    return None


# Content-Encodings this fetcher decodes itself, in bounded steps (see _Inflater).
ACCEPT_ENCODING = "gzip, deflate, br"
_INFLATE_STEP = 1 << 16  # most decoded bytes one decompression step may produce


class _Inflater:
    """Undoes a response's Content-Encoding at most 64 KiB of output per step.

    httpx inflates each network read in one call, so 64 KiB of a gzip bomb became 64 MB,
    and a brotli bomb hundreds of MB, in memory before the size cap saw a byte; and a
    gzip or brotli stream cut short was passed on as if complete, so a truncated article
    was stored. Decoding here keeps ``max_bytes`` true of decoded bytes and makes an
    early end an error. Encodings we did not offer (zstd, stacked ones) are refused.
    """

    def __init__(self, header: str | None) -> None:
        codings = [c.strip() for c in (header or "").lower().split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise httpx.DecodingError(f"stacked content-encodings refused: {header}")
        self.coding = codings[0] if codings else None
        self._fed = self._produced = False
        self._zlib = None
        self._br = None
        if self.coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.coding == "deflate":
            self._zlib = zlib.decompressobj()
        elif self.coding == "br":
            self._br = brotli.Decompressor()
        elif self.coding is not None:
            raise httpx.DecodingError(f"unsupported content-encoding: {self.coding}")

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.coding is None:
            yield data
            return
        if data:
            self._fed = True
        if self._br is not None:
            try:
                out = self._br.process(data, output_buffer_limit=_INFLATE_STEP)
                yield out
                # A full buffer means more output may be pending: drain it with no input.
                while not self._br.is_finished() and (
                    len(out) >= _INFLATE_STEP or not self._br.can_accept_more_data()
                ):
                    out = self._br.process(b"", output_buffer_limit=_INFLATE_STEP)
                    yield out
            except brotli.error as exc:
                raise httpx.DecodingError(f"brotli: {exc}") from exc
            return
        assert self._zlib is not None
        while not self._zlib.eof:
            try:
                out = self._zlib.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                if self.coding == "deflate" and not self._produced:
                    # Many servers send raw deflate without the zlib wrapper.
                    self._zlib, self.coding = zlib.decompressobj(-zlib.MAX_WBITS), "raw deflate"
                    continue
                raise httpx.DecodingError(f"{self.coding}: {exc}") from exc
            self._produced = self._produced or bool(out)
            yield out
            data = self._zlib.unconsumed_tail
            if not data and len(out) < _INFLATE_STEP:
                return

    def finish(self) -> None:
        """Raise when the encoded stream stopped before its end (a truncated body)."""
        if self.coding is None or not self._fed:
            return
        done = self._br.is_finished() if self._br is not None else self._zlib.eof
        if not done:
            raise httpx.DecodingError(f"{self.coding} stream ends early (truncated body)")


class _PerOriginTransport(httpx.AsyncBaseTransport):
    """One small connection pool per origin, behind the one client the fetcher uses.

    A single pool capped at the global concurrency thrashes when many hosts are crawled
    at once: with 66 hosts x 2 slots and 16 pooled connections, nearly every page opened
    a new TCP connection (and httpcore's pool search is quadratic in its size, so a bigger
    single pool costs more CPU instead). A pool per origin, sized to the per-host limit,
    keeps every host's connections alive. Pools beyond ``max_origins`` are closed least
    recently used first, so a crawl of thousands of sites holds bounded sockets.
    """

    def __init__(self, cfg: FetchConfig, guard: NetGuard, *, max_origins: int = 512) -> None:
        self._cfg, self._guard, self._max = cfg, guard, max_origins
        self._ssl = httpx.create_ssl_context()  # one context: each one costs ~0.5 MiB
        self._closing: set[asyncio.Future[None]] = set()
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = (
            OrderedDict()
        )

    def _pool_for(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is not None:
            self._pools.move_to_end(key)
            return pool
        size = max(1, self._cfg.per_host_concurrency) + 1  # +1: robots.txt beside pages
        pool = httpx.AsyncHTTPTransport(
            http2=self._cfg.http2,
            verify=self._ssl,
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        )
        inner = getattr(pool, "_pool", None)
        if inner is not None and hasattr(inner, "_network_backend"):
            # httpx offers no public hook for the network backend; the pre-hop check in
            # fetch() still applies if this private attribute ever disappears.
            inner._network_backend = GuardedBackend(self._guard)
        else:  # pragma: no cover - depends on httpcore internals
            log.warning("connect-time SSRF guard unavailable; relying on pre-request checks")
        self._pools[key] = pool
        if len(self._pools) > self._max:
            _, oldest = self._pools.popitem(last=False)
            closing = asyncio.ensure_future(oldest.aclose())
            self._closing.add(closing)  # keep a reference until it is done
            closing.add_done_callback(self._closing.discard)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool_for(request.url).handle_async_request(request)

    def pools(self) -> list[httpx.AsyncHTTPTransport]:
        return list(self._pools.values())

    async def aclose(self) -> None:
        pools, self._pools = self.pools(), OrderedDict()
        for pool in pools:
            await pool.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class Fetcher:
    """Async context manager over ONE shared httpx.AsyncClient.

    `sleep`/`clock`/`rng` are injectable so tests can run politeness logic fast;
    `resolver` replaces DNS for the SSRF guard (tests map fake names to addresses).
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        resolver: Resolver | None = None,
    ) -> None:
        self.config = cfg = config or FetchConfig()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.guard = NetGuard(cfg.allow_hosts, resolver=resolver)
        if transport is None:
            transport = self._guarded_transport(cfg)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(cfg.timeout, connect=cfg.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": cfg.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            trust_env=False,  # a proxy from the environment would defeat the SSRF guard
        )
        self.robots = RobotsCache(
            self._fetch_robots,
            user_agent=cfg.user_agent,
            ttl=cfg.robots_ttl,
            error_ttl=cfg.robots_error_ttl,
            clock=clock,
        )
        self._global = asyncio.Semaphore(cfg.concurrency)
        self._hosts: dict[str, _HostState] = {}

    def _guarded_transport(self, cfg: FetchConfig) -> _PerOriginTransport:
        return _PerOriginTransport(cfg, self.guard)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- public -----------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        kind: str = "page",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """Fetch `url` politely; never raises for network/HTTP problems."""
        start = self._clock()
        retries = self.config.max_retries if kind != "robots" else min(1, self.config.max_retries)
        try:
            result = await self._fetch(url, kind, etag, last_modified, retries)
        except Exception as exc:  # contract: callers never see transport-level exceptions
            log.debug("unexpected error fetching %s", url, exc_info=True)
            result = FetchResult(url, url, error=f"error: {type(exc).__name__}: {exc}")
        result.elapsed = self._clock() - start
        facts = {
            "url": url,
            "kind": kind,
            "status": result.status,
            "reason": result.error,
            "final_url": result.final_url,
            "bytes": len(result.body),
            "elapsed": round(result.elapsed, 3),
            "attempts": result.attempts,
        }
        if result.error is not None:
            # A detail, not the warning: the caller knows whether this is a fault (a page
            # or source the crawl lost) or normal life (a missing robots.txt, a child
            # sitemap noted in the summary), and logs the fault once, with its context.
            log.debug("fetch %s failed: %s", url, result.error, extra=facts)
        else:
            moved = f" -> {result.final_url}" if result.final_url != url else ""
            log.debug(
                "fetched %s [%s]: HTTP %s, %d bytes, %.2fs%s",
                url,
                kind,
                result.status,
                len(result.body),
                result.elapsed,
                moved,
                extra=facts,
            )
        return result

    def host_failures(self, url: str) -> int:
        """Consecutive failed attempts recorded for `url`'s host (for reports)."""
        st = self._hosts.get(host_of(url))
        return st.failures if st else 0

    # -- internals --------------------------------------------------------------

    async def _fetch_robots(self, url: str) -> FetchResult:
        return await self.fetch(url, kind="robots")

    def _host(self, host: str) -> _HostState:
        st = self._hosts.get(host)
        if st is None:
            st = self._hosts[host] = _HostState(
                sem=asyncio.Semaphore(self.config.per_host_concurrency)
            )
        return st

    def _circuit_open(self, st: _HostState) -> bool:
        return st.failures >= self.config.circuit_failures and self._clock() < st.open_until

    def _record_failure(self, st: _HostState, host: str) -> None:
        st.failures += 1
        if st.failures >= self.config.circuit_failures:
            if self._clock() >= st.open_until:
                log.warning("circuit opened for %s after %d failures", host, st.failures)
            st.open_until = self._clock() + self.config.circuit_cooldown

    async def _fetch(
        self,
        url: str,
        kind: str,
        etag: str | None,
        last_modified: str | None,
        retries: int,
    ) -> FetchResult:
        headers = {"Accept": _ACCEPT.get(kind, "*/*")}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        previous: str | None = None
        hops = 0
        attempts = 0

        def fail(reason: str) -> FetchResult:
            return FetchResult(url, current, error=reason, attempts=attempts)

        while True:
            via = f" (after redirect from {previous})" if previous else ""
            if not is_http_url(current):
                return fail(f"refused: not an HTTP URL: {current[:200]}{via}")
            host = host_of(current)
            st = self._host(host)
            if self._circuit_open(st):
                return fail("circuit open for host")
            refusal = await self.guard.check_url(current)
            if refusal is not None:
                return fail(f"refused: {refusal}{via}")
            if kind == "page" and self.config.obey_robots:
                allowed, why = await self.robots.check(current)
                if not allowed:
                    # An unreachable robots.txt means "wait", not "forbidden": say which,
                    # or a dead host reads as a site that blocks us.
                    if why.startswith("robots.txt unavailable"):
                        return fail(why)
                    extra = "" if why == "disallowed by rules" else f" ({why})"
                    return fail(f"robots.txt disallows{extra}")
            outcome, sent = await self._with_retries(current, kind, headers, st, host, retries)
            attempts += sent
            res = outcome.result
            res.url, res.attempts = url, attempts
            if outcome.location is None:
                if res.not_modified:
                    res.etag = res.etag or etag
                    res.last_modified = res.last_modified or last_modified
                return res
            hops += 1
            if hops > self.config.max_redirects:
                return fail("too many redirects")
            target = urljoin(current, outcome.location.strip())
            if not is_http_url(target):
                return fail(f"refused: redirect to non-HTTP URL {target[:200]}")
            previous, current = current, target

    async def _with_retries(
        self,
        url: str,
        kind: str,
        headers: dict[str, str],
        st: _HostState,
        host: str,
        retries: int,
    ) -> tuple[_Outcome, int]:
        cfg = self.config
        sent = 0
        for attempt in range(retries + 1):
            if self._circuit_open(st):
                return _Outcome(FetchResult(url, url, error="circuit open for host")), sent
            outcome = await self._attempt(url, kind, headers, st)
            sent = attempt + 1
            if not outcome.retryable:
                status = outcome.result.status
                if status is not None and status < 500:
                    st.failures = 0  # the host answered sensibly: it is alive
                return outcome, sent
            self._record_failure(st, host)
            wait = outcome.retry_after
            if wait is not None and wait > cfg.retry_after_max:
                outcome.result.error = f"retry-after too long: {wait:.0f}s"
                return outcome, sent
            if attempt == retries:
                return outcome, sent
            if wait is not None:
                # Retry-After is about the server, not this URL: hold the whole host.
                st.not_before = max(st.not_before, self._clock() + wait)
            else:
                cap = min(cfg.backoff_max, cfg.backoff_base * (2**attempt))
                wait = self._rng() * cap  # "full jitter"
            page_log.info(
                "retrying %s in %.2fs (%s)",
                url,
                wait,
                outcome.result.error,
                extra={"url": url, "reason": outcome.result.error, "status": outcome.result.status},
            )
            await self._sleep(wait)
        raise AssertionError("unreachable")

    async def _pace(self, st: _HostState, url: str) -> None:
        """Wait, holding the host's lock, until this host may see another request start.

        The caller keeps `st.lock` until its request headers actually leave (see
        `_attempt`), so the gap is measured between real request starts: connection
        setup of one request cannot eat into the next one's delay.
        """
        while True:
            delay = self.config.per_host_delay
            crawl_delay = self.robots.crawl_delay(url)
            if crawl_delay is not None:
                delay = max(delay, min(crawl_delay, self.config.max_crawl_delay))
            due = max(st.last_start + delay, st.not_before)
            now = self._clock()
            if now >= due:
                return
            await self._sleep(due - now)

    async def _attempt(
        self, url: str, kind: str, headers: dict[str, str], st: _HostState
    ) -> _Outcome:
        # Order matters: a request waiting out the host's delay holds only that host's
        # slot; the global slot is taken once it is ready to go, so one slow-paced host
        # cannot starve the others of global concurrency.
        async with st.sem:
            await st.lock.acquire()
            released = False

            def release() -> None:
                nonlocal released
                if not released:
                    released = True
                    st.last_start = self._clock()
                    st.lock.release()

            async def trace(event: str, _info: dict[str, object]) -> None:
                # "complete", not "started": a process descheduled between the two would
                # otherwise pace the next request from before these bytes left.
                if event.endswith("send_request_headers.complete"):
                    release()

            try:
                await self._pace(st, url)
                deadline = 2 * self.config.timeout + self.config.connect_timeout
                async with self._global, asyncio.timeout(deadline):
                    return await self._send(url, kind, headers, trace)
            except (TimeoutError, httpx.TimeoutException):
                return _Outcome(FetchResult(url, url, error="timeout"), retryable=True)
            except httpx.ConnectError as exc:
                msg = str(exc)
                if msg.startswith("refused:"):
                    return _Outcome(FetchResult(url, url, error=msg))
                return _Outcome(
                    FetchResult(url, url, error=f"connection error: {msg or type(exc).__name__}"),
                    retryable=True,
                )
            except httpx.TransportError as exc:
                return _Outcome(
                    FetchResult(url, url, error=f"network error: {type(exc).__name__}: {exc}"),
                    retryable=True,
                )
            except httpx.DecodingError as exc:
                return _Outcome(FetchResult(url, url, error=f"bad content-encoding: {exc}"))
            except _TooLarge as exc:
                return _Outcome(FetchResult(url, url, error=f"too large: > {exc.args[0]} bytes"))
            finally:
                release()  # transports without trace support, or failure before sending

    async def _send(
        self,
        url: str,
        kind: str,
        headers: dict[str, str],
        trace: Callable[[str, dict[str, object]], Awaitable[None]],
    ) -> _Outcome:
        cfg = self.config
        request = self._client.build_request(
            "GET", url, headers=headers, extensions={"trace": trace}
        )
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            media, charset = split_content_type(response.headers.get("content-type"))
            result = FetchResult(
                url,
                url,
                status=status,
                headers=dict(response.headers.items()),
                content_type=media,
                encoding=charset,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
            if status in _REDIRECTS and response.headers.get("location"):
                return _Outcome(result, location=response.headers["location"])
            if status == 304:
                result.not_modified = True
                return _Outcome(result)
            if status == 429 or status >= 500:
                result.error = f"HTTP {status}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                return _Outcome(result, retryable=True, retry_after=retry_after)
            if not 200 <= status < 300:
                result.error = f"HTTP {status}"
                return _Outcome(result)
            refusal = _type_refusal(kind, media)
            if refusal is not None:
                result.error = refusal
                return _Outcome(result)
            cap = cfg.max_sitemap_bytes if kind in ("feed", "sitemap") else cfg.max_bytes
            length = response.headers.get("content-length")
            if length and length.strip().isdigit() and int(length) > cap:
                raise _TooLarge(cap)
            inflater = _Inflater(response.headers.get("content-encoding"))
            chunks: list[bytes] = []
            total = 0
            async for raw in response.aiter_raw():  # decoded by _Inflater, in bounded steps
                for chunk in inflater.feed(raw):
                    total += len(chunk)
                    if total > cap:
                        raise _TooLarge(cap)  # stop reading now: never buffer past the cap
                    chunks.append(chunk)
            inflater.finish()
            result.body = b"".join(chunks)
            if kind == "page" and media is None and not looks_like_html(result.body):
                result.error = "not HTML: no content-type and body does not look like HTML"
            return _Outcome(result)
        finally:
            await response.aclose()
