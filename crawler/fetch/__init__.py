"""Fetching pages politely and safely: one shared HTTP client, robots.txt, an SSRF guard.

:class:`Fetcher` wraps one ``httpx.AsyncClient`` with global and per-host concurrency, a
per-host delay (raised by robots.txt's ``Crawl-delay``), retries with backoff that honour
``Retry-After``, a per-host circuit breaker and a streaming size cap; ``_robots`` caches
robots.txt per origin (protego) and ``_netguard`` checks every resolved address, redirects
included, against private and loopback ranges.
"""

from ._fetcher import (
    ACCEPT_ENCODING,
    FetchConfig,
    Fetcher,
    FetchResult,
    looks_like_html,
    parse_retry_after,
    split_content_type,
)
from ._netguard import NetGuard
from ._robots import RobotsCache, RobotsEntry

__all__ = [
    "ACCEPT_ENCODING",
    "FetchConfig",
    "FetchResult",
    "Fetcher",
    "NetGuard",
    "RobotsCache",
    "RobotsEntry",
    "looks_like_html",
    "parse_retry_after",
    "split_content_type",
]
