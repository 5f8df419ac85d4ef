"""Finding article URLs: RSS/Atom/RDF feeds, sitemaps and their indexes, Google News
sitemaps, and the feeds a homepage advertises."""

from ._discovery import (
    Discovered,
    DiscoveryResult,
    discover,
    find_feed_links,
    parse_feed,
    parse_sitemap,
)

__all__ = [
    "Discovered",
    "DiscoveryResult",
    "discover",
    "find_feed_links",
    "parse_feed",
    "parse_sitemap",
]
