"""robots.txt cache: one fetch per origin per TTL, shared by every fetch of that origin.

Policy follows RFC 9309 where it speaks: a 4xx robots.txt means "no rules" (allow all);
a 5xx or unreachable robots.txt means "assume complete disallow" — but only for a short
while (`error_ttl`), so one bad minute on the publisher's side does not blank a whole run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from protego import Protego

from crawler._urls import origin_of

__all__ = ["RobotsCache", "RobotsEntry"]


class _Result(Protocol):
    """The slice of FetchResult the cache needs (kept structural to avoid an import cycle)."""

    status: int | None
    body: bytes
    error: str | None
    encoding: str | None


@dataclass
class RobotsEntry:
    origin: str
    expires: float
    parser: Protego | None  # None: no usable rules (see allow_all)
    allow_all: bool
    reason: str  # how this entry came to be, for error messages
    sitemaps: list[str] = field(default_factory=list)


class RobotsCache:
    """Per-origin robots.txt rules, fetched lazily through the caller-supplied `fetch`.

    `fetch(robots_url)` must never raise for network problems (the Fetcher's contract).
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[_Result]],
        *,
        user_agent: str,
        ttl: float = 3600.0,
        error_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ua = user_agent
        self._ttl = ttl
        self._error_ttl = error_ttl
        self._clock = clock
        self._entries: dict[str, RobotsEntry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _entry_from(self, origin: str, result: _Result) -> RobotsEntry:
        now = self._clock()
        status = result.status
        if status is not None and 200 <= status < 300 and result.error is None:
            # A UTF-8 BOM made the first line "\ufeffUser-agent", which protego skips: the
            # first group's rules were lost, and pages they disallow were fetched.
            bom = result.body.startswith(b"\xef\xbb\xbf")
            encoding = "utf-8-sig" if bom else (result.encoding or "utf-8")
            text = result.body.decode(encoding, errors="replace")
            try:
                parser = Protego.parse(text)
            except Exception as exc:  # a garbled file is as good as none
                return RobotsEntry(origin, now + self._ttl, None, True, f"unparsable: {exc}")
            return RobotsEntry(origin, now + self._ttl, parser, False, "ok", list(parser.sitemaps))
        if status is not None and 400 <= status < 500 and status != 429:
            return RobotsEntry(origin, now + self._ttl, None, True, f"HTTP {status}: allow all")
        why = result.error or f"HTTP {status}"
        return RobotsEntry(
            origin, now + self._error_ttl, None, False, f"robots.txt unavailable: {why}"
        )

    async def entry(self, url: str) -> RobotsEntry:
        """The (possibly freshly fetched) entry for `url`'s origin."""
        origin = origin_of(url)
        cached = self._entries.get(origin)
        if cached is not None and cached.expires > self._clock():
            return cached
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one robots fetch per origin even under concurrency
            cached = self._entries.get(origin)
            if cached is not None and cached.expires > self._clock():
                return cached
            result = await self._fetch(origin + "/robots.txt")
            entry = self._entry_from(origin, result)
            self._entries[origin] = entry
            return entry

    async def check(self, url: str) -> tuple[bool, str]:
        """(allowed, reason) — reason explains a refusal in user-facing words."""
        entry = await self.entry(url)
        if entry.parser is None:
            return entry.allow_all, entry.reason
        if entry.parser.can_fetch(url, self._ua):
            return True, "ok"
        return False, "disallowed by rules"

    async def allowed(self, url: str) -> bool:
        ok, _ = await self.check(url)
        return ok

    def crawl_delay(self, host_or_url: str) -> float | None:
        """Crawl-delay for an origin already in the cache (None if unknown or unset)."""
        key = host_or_url if "://" in host_or_url else f"https://{host_or_url}"
        entry = self._entries.get(origin_of(key))
        if entry is None and "://" not in host_or_url:
            entry = self._entries.get(origin_of(f"http://{host_or_url}"))
        if entry is None or entry.parser is None:
            return None
        delay = entry.parser.crawl_delay(self._ua)
        return float(delay) if delay is not None else None

    async def sitemaps(self, url: str) -> list[str]:
        """Sitemap URLs listed in the robots.txt of `url`'s origin (fetching it if needed)."""
        entry = await self.entry(url)
        return list(entry.sitemaps)
