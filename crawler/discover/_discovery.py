"""Discovery: turn a source (feed, sitemap, homepage, start URL) into article URLs.

Parsers are pure functions over bytes so they can be tested without a network; `discover`
is the only part that fetches, and always through the polite Fetcher. An empty result must
always carry its reason (`error` or `notes`): a silent empty run is the complaint users
make most, and "HTTP 404" or "feed has 0 entries" answers it before it is asked.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.parsers import expat
from xml.sax import SAXException

import feedparser
from dateutil import parser as dateutil_parser
from selectolax.lexbor import LexborHTMLParser

from crawler.fetch import Fetcher, FetchResult
from crawler._urls import canonicalize_url, host_of, is_http_url

__all__ = [
    "Discovered",
    "DiscoveryResult",
    "discover",
    "find_feed_links",
    "parse_feed",
    "parse_sitemap",
]

MAX_SITEMAP_BYTES = 64 * 1024 * 1024  # protocol limit is 50 MB uncompressed; a little slack
MAX_SITEMAPS = 200  # child sitemaps fetched per discovery
MAX_SITEMAP_DEPTH = 3  # index -> index -> index -> urlset
MAX_EXPAND_PAGES = 50  # pages fetched to harvest links beyond the start page
MAX_FEEDS_FOLLOWED = 3  # advertised feeds tried on a homepage

_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
)
_SKIP_EXT = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|bmp|tiff?|pdf|zip|gz|tgz|rar|7z|mp[34]|m4a|wav|ogg|"
    r"webm|mov|avi|css|js|json|xml|rss|atom|woff2?|ttf|eot|exe|dmg|apk|docx?|xlsx?|pptx?)$",
    re.IGNORECASE,
)


@dataclass
class Discovered:
    url: str
    published: datetime | None
    title: str | None
    source: str  # the feed/sitemap/page URL it was found in
    kind: str  # "feed" | "sitemap" | "news-sitemap" | "page"


@dataclass
class DiscoveryResult:
    source: str
    urls: list[Discovered] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


# -- helpers ----------------------------------------------------------------------


def _parse_date(text: str | None) -> datetime | None:
    """W3C datetime (sitemaps) or anything dateutil reads; naive values are taken as UTC."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = dateutil_parser.parse(text)
        except (ValueError, OverflowError):
            return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _gunzip(data: bytes, limit: int) -> tuple[bytes, bool]:
    """Decompress at most `limit` bytes (a gzip bomb must not become 10 GB in memory)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, limit)
    truncated = bool(inflater.unconsumed_tail)
    return out, truncated


def _same_site(a: str, b: str) -> bool:
    def norm(host: str) -> str:
        return host[4:] if host.startswith("www.") else host

    return norm(host_of(a)) == norm(host_of(b))


def _dedupe(items: list[Discovered]) -> list[Discovered]:
    seen: set[str] = set()
    out: list[Discovered] = []
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            out.append(item)
    return out


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


# -- feeds --------------------------------------------------------------------------


_CHARREF = re.compile(rb"&#([xX][0-9a-fA-F]{1,16}|[0-9]{1,20});")


def _safe_charref(m: re.Match[bytes]) -> bytes:
    """A character reference to a surrogate or past U+10FFFF made feedparser raise
    (``&#xD800;`` in a title lost the whole feed); such a reference becomes U+FFFD."""
    ref = m.group(1)
    code = int(ref[1:], 16) if ref[:1] in (b"x", b"X") else int(ref)
    return m.group(0) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else b"&#xFFFD;"


def parse_feed(data: bytes, base_url: str) -> list[Discovered]:
    """Entries of an RSS 0.9x/1.0 (RDF)/2.0, Atom or JSON feed.

    Returns [] for a well-formed feed with no entries; raises ValueError("not a feed: …")
    when the bytes are not a feed at all, so callers can tell the two apart.
    """
    if re.search(rb"<!ENTITY", data[:65536], re.IGNORECASE):
        raise ValueError("refused: feed declares XML entities")
    data = _CHARREF.sub(_safe_charref, data)
    try:
        parsed = feedparser.parse(data, response_headers={"content-location": base_url})
    except Exception as exc:  # feedparser's own bugs: one odd byte must not crash a crawl
        raise ValueError(f"malformed feed: feedparser failed: {exc!r}") from None
    if not parsed.entries and not parsed.get("version"):
        exc = parsed.get("bozo_exception")
        raise ValueError(f"not a feed: {exc}" if exc else "not a feed")
    found: list[Discovered] = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            for alt in entry.get("links", []):
                if alt.get("rel", "alternate") == "alternate" and alt.get("href"):
                    link = alt["href"]
                    break
        if not link and entry.get("guidislink") is not False:
            guid = entry.get("id")
            if guid and is_http_url(guid):
                link = guid
        if not link:
            continue
        url = canonicalize_url(link, base_url)
        if not is_http_url(url):
            continue
        stamp = (
            entry.get("published_parsed")
            or entry.get("updated_parsed")
            or entry.get("created_parsed")
        )
        published = datetime(*stamp[:6], tzinfo=UTC) if stamp else None
        title = entry.get("title") or None
        found.append(Discovered(url, published, title, base_url, "feed"))
    if not found and isinstance(parsed.get("bozo_exception"), SAXException):
        # A cut-off or garbled feed: say so, rather than the misleading "0 entries".
        raise ValueError(f"malformed feed, no entries read: {parsed['bozo_exception']}")
    return _dedupe(found)


def find_feed_links(html: bytes | str, base_url: str) -> list[str]:
    """Feeds a page advertises with `<link rel=alternate type=application/rss+xml|atom+xml>`."""
    tree = LexborHTMLParser(html if isinstance(html, str) else html.decode("utf-8", "replace"))
    base = base_url
    base_node = tree.css_first("base[href]")
    if base_node is not None and base_node.attributes.get("href"):
        base = canonicalize_url(base_node.attributes["href"] or "", base_url)
    links: list[str] = []
    for node in tree.css("link[href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        typ = (node.attributes.get("type") or "").lower().split(";")[0].strip()
        if "alternate" not in rel or typ not in _FEED_TYPES:
            continue
        url = canonicalize_url(node.attributes.get("href") or "", base)
        if is_http_url(url) and url not in links:
            links.append(url)
    return links


def _page_links(html: bytes | str, base_url: str) -> list[tuple[str, str | None]]:
    """Same-site `<a href>` targets that could be articles, with their anchor text."""
    tree = LexborHTMLParser(html if isinstance(html, str) else html.decode("utf-8", "replace"))
    base = base_url
    base_node = tree.css_first("base[href]")
    if base_node is not None and base_node.attributes.get("href"):
        base = canonicalize_url(base_node.attributes["href"] or "", base_url)
    self_url = canonicalize_url(base_url)
    out: list[tuple[str, str | None]] = []
    seen: set[str] = {self_url}
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        url = canonicalize_url(href, base)
        if url in seen or not is_http_url(url) or not _same_site(url, base_url):
            continue
        if _SKIP_EXT.search(url.split("?")[0]):
            continue
        seen.add(url)
        out.append((url, node.text(separator=" ", strip=True) or None))
    return out


# -- sitemaps -----------------------------------------------------------------------


class _StopParsing(Exception):
    pass


@dataclass
class _SitemapParse:
    urls: list[Discovered] = field(default_factory=list)
    children: list[tuple[str, datetime | None]] = field(default_factory=list)
    root: str | None = None


def _parse_sitemap_full(
    data: bytes, base_url: str, max_urls: int, notes: list[str]
) -> _SitemapParse:
    if data[:2] == b"\x1f\x8b":
        data, truncated = _gunzip(data, MAX_SITEMAP_BYTES)
        if truncated:
            notes.append(f"{base_url}: decompressed sitemap exceeds {MAX_SITEMAP_BYTES} bytes")
    out = _SitemapParse()
    text_start = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text_start.startswith(b"<"):
        # Plain-text sitemap: one URL per line.
        for line in data.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if is_http_url(line):
                if len(out.urls) >= max_urls:
                    notes.append(f"{base_url}: capped at {max_urls} URLs")
                    break
                out.urls.append(Discovered(canonicalize_url(line), None, None, base_url, "sitemap"))
        out.root = "text"
        return out

    stack: list[str] = []
    text: list[str] = []
    current: dict[str, str] = {}
    news = False

    def refuse(*_args: object) -> None:
        raise ValueError("refused: sitemap has a DOCTYPE/entity declaration")

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal news
        ns, _, local = name.rpartition(" ")
        if not stack:
            out.root = local
            if local not in ("urlset", "sitemapindex"):
                raise ValueError(f"not a sitemap: root element <{local}>")
        if local in ("url", "sitemap") and len(stack) == 1:
            current.clear()
            news = False
        if ns == _NEWS_NS:
            news = True
        stack.append(("news:" if ns == _NEWS_NS else "") + local)
        text.clear()

    def end(_name: str) -> None:
        nonlocal news
        tag = stack.pop()
        parent = stack[-1] if stack else ""
        value = "".join(text).strip()
        text.clear()
        if tag == "loc" and parent in ("url", "sitemap"):
            current["loc"] = value
        elif tag == "lastmod" and parent in ("url", "sitemap"):
            current["lastmod"] = value
        elif tag == "news:publication_date":
            current["pub"] = value
        elif tag == "news:title":
            current["title"] = value
        elif tag == "url" and len(stack) == 1:
            loc = current.get("loc")
            if loc and is_http_url(canonicalize_url(loc, base_url)):
                if len(out.urls) >= max_urls:
                    notes.append(f"{base_url}: capped at {max_urls} URLs")
                    raise _StopParsing
                published = _parse_date(current.get("pub")) or _parse_date(current.get("lastmod"))
                out.urls.append(
                    Discovered(
                        canonicalize_url(loc, base_url),
                        published,
                        current.get("title") or None,
                        base_url,
                        "news-sitemap" if news else "sitemap",
                    )
                )
        elif tag == "sitemap" and len(stack) == 1:
            loc = current.get("loc")
            if loc and is_http_url(canonicalize_url(loc, base_url)):
                out.children.append(
                    (canonicalize_url(loc, base_url), _parse_date(current.get("lastmod")))
                )

    def chars(data_: str) -> None:
        text.append(data_)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    step = 1 << 20
    try:
        for offset in range(0, len(data), step):
            parser.Parse(data[offset : offset + step], False)
        parser.Parse(b"", True)
    except _StopParsing:
        pass
    except expat.ExpatError as exc:
        if not out.urls and not out.children:
            raise ValueError(f"not a sitemap: XML error: {exc}") from None
        notes.append(f"{base_url}: XML error after {len(out.urls)} URLs: {exc}")
    return out


def parse_sitemap(
    data: bytes,
    base_url: str,
    *,
    max_urls: int = 50_000,
    notes: list[str] | None = None,
) -> tuple[list[Discovered], list[str]]:
    """(page URLs, child sitemap URLs) from a urlset/sitemapindex, gzip or plain text.

    Streams through expat with DTDs refused (no entity-expansion attacks); stops at
    `max_urls`, recording why in `notes`. Raises ValueError("not a sitemap: …") when the
    bytes are not a sitemap at all.
    """
    parsed = _parse_sitemap_full(data, base_url, max_urls, notes if notes is not None else [])
    return parsed.urls, [url for url, _ in parsed.children]


# -- discover -----------------------------------------------------------------------


def _adopt_validators(result: DiscoveryResult, fetched: FetchResult) -> None:
    result.etag = fetched.etag
    result.last_modified = fetched.last_modified
    result.not_modified = fetched.not_modified


async def _discover_feed(
    fetcher: Fetcher, result: DiscoveryResult, url: str, etag: str | None,
    last_modified: str | None, *, follow_html: bool = True,
) -> list[Discovered]:
    fetched = await fetcher.fetch(url, kind="feed", etag=etag, last_modified=last_modified)
    if url == result.source:
        _adopt_validators(result, fetched)
    if fetched.not_modified:
        result.notes.append(f"{url}: not modified since last run (HTTP 304)")
        return []
    if fetched.error is not None:
        result.error = result.error or fetched.error
        return []
    if _looks_like_html(fetched.body, fetched.content_type):
        advertised = find_feed_links(fetched.body, fetched.final_url) if follow_html else []
        if advertised:
            result.notes.append(
                f"{url} is an HTML page; following its advertised feed {advertised[0]}"
            )
            return await _discover_feed(
                fetcher, result, advertised[0], None, None, follow_html=False
            )
        result.error = result.error or f"not a feed: {fetched.content_type or 'HTML'}"
        return []
    try:
        entries = parse_feed(fetched.body, fetched.final_url)
    except ValueError as exc:
        result.error = result.error or str(exc)
        return []
    if not entries:
        result.error = result.error or "feed has 0 entries"
    return entries


async def _discover_sitemap(
    fetcher: Fetcher, result: DiscoveryResult, root: str, etag: str | None,
    last_modified: str | None, max_urls: int,
) -> list[Discovered]:
    queue: list[tuple[str, int]] = [(root, 0)]
    seen = {root}
    found: list[Discovered] = []
    fetched_count = 0
    while queue and len(found) < max_urls:
        url, depth = queue.pop(0)
        if fetched_count >= MAX_SITEMAPS:
            result.notes.append(
                f"stopped after {MAX_SITEMAPS} sitemaps; {len(queue) + 1} not fetched"
            )
            break
        fetched_count += 1
        is_root = url == root
        fetched = await fetcher.fetch(
            url, kind="sitemap",
            etag=etag if is_root else None, last_modified=last_modified if is_root else None,
        )
        if is_root:
            _adopt_validators(result, fetched)
            if fetched.not_modified:
                result.notes.append(f"{url}: not modified since last run (HTTP 304)")
                return []
        if fetched.error is not None:
            if is_root:
                result.error = fetched.error
                return []
            result.notes.append(f"{url}: {fetched.error}")
            continue
        try:
            parsed = _parse_sitemap_full(
                fetched.body, fetched.final_url, max_urls - len(found), result.notes
            )
        except ValueError as exc:
            if parsed_as_feed := _feed_fallback(fetched, result):
                found.extend(parsed_as_feed)
                continue
            if is_root:
                result.error = str(exc)
                return []
            result.notes.append(f"{url}: {exc}")
            continue
        found.extend(parsed.urls)
        if parsed.children:
            if depth + 1 > MAX_SITEMAP_DEPTH:
                result.notes.append(f"{url}: sitemap indexes nested deeper than "
                                    f"{MAX_SITEMAP_DEPTH}; children ignored")
                continue
            # Newest first: for news, the fresh sitemaps are the ones that matter.
            children = sorted(
                parsed.children,
                key=lambda c: c[1] or datetime.min.replace(tzinfo=UTC),
                reverse=True,
            )
            for child, _ in children:
                if child not in seen:
                    seen.add(child)
                    queue.append((child, depth + 1))
    if not found and result.error is None and not result.not_modified:
        result.error = "sitemap has 0 URLs" if fetched_count <= 1 else (
            f"{fetched_count} sitemaps fetched, 0 URLs"
        )
    return found


def _feed_fallback(fetched: FetchResult, result: DiscoveryResult) -> list[Discovered]:
    """Sitemaps listed in robots.txt are sometimes RSS/Atom feeds (search engines accept it)."""
    head = fetched.body[:2048].lower()
    if b"<rss" not in head and b"<feed" not in head and b"<rdf:rdf" not in head:
        return []
    try:
        entries = parse_feed(fetched.body, fetched.final_url)
    except ValueError:
        return []
    result.notes.append(f"{fetched.url} is a feed, not a sitemap; read it as a feed")
    return [
        Discovered(e.url, e.published, e.title, e.source, "feed") for e in entries
    ]


async def _expand_links(
    fetcher: Fetcher, result: DiscoveryResult, start_url: str, start_body: bytes | None,
    max_depth: int, max_urls: int,
) -> list[Discovered]:
    """Breadth-first same-site links from `start_url` down to `max_depth` link levels."""
    found: list[Discovered] = []
    seen = {canonicalize_url(start_url)}
    frontier: list[tuple[str, bytes | None]] = [(start_url, start_body)]
    pages_fetched = 0
    for depth in range(1, max_depth + 1):
        next_frontier: list[str] = []
        bodies: list[tuple[str, bytes]] = []
        to_fetch = [u for u, b in frontier if b is None]
        bodies.extend((u, b) for u, b in frontier if b is not None)
        if pages_fetched + len(to_fetch) > MAX_EXPAND_PAGES:
            keep = max(0, MAX_EXPAND_PAGES - pages_fetched)
            result.notes.append(
                f"link expansion capped at {MAX_EXPAND_PAGES} pages; "
                f"{len(to_fetch) - keep} pages at depth {depth - 1} not expanded"
            )
            to_fetch = to_fetch[:keep]
        fetched = await asyncio.gather(*(fetcher.fetch(u, kind="page") for u in to_fetch))
        pages_fetched += len(to_fetch)
        for res in fetched:
            if res.ok and res.body:
                bodies.append((res.final_url, res.body))
            else:
                result.notes.append(f"{res.url}: {res.error}")
        for page_url, body in bodies:
            for link, text in _page_links(body, page_url):
                if link in seen:
                    continue
                seen.add(link)
                if len(found) >= max_urls:
                    result.notes.append(f"capped at {max_urls} URLs")
                    return found
                found.append(Discovered(link, None, text, page_url, "page"))
                next_frontier.append(link)
        frontier = [(u, None) for u in next_frontier]
        if not frontier:
            break
    return found


async def discover(
    fetcher: Fetcher,
    source_url: str,
    kind: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_urls: int = 50_000,
    max_depth: int = 1,
) -> DiscoveryResult:
    """Find candidate article URLs from one source; never raises for network trouble.

    kind: "feed"; "sitemap" (indexes followed, bounded); "homepage" (advertised feeds,
    else same-site links to `max_depth`); "url" (the URL itself + same-site links).
    """
    result = DiscoveryResult(source=source_url)
    if not is_http_url(source_url):
        result.error = f"not an HTTP URL: {source_url!r}"
        return result
    urls: list[Discovered] = []
    if kind == "feed":
        urls = await _discover_feed(fetcher, result, source_url, etag, last_modified)
    elif kind == "sitemap":
        urls = await _discover_sitemap(
            fetcher, result, source_url, etag, last_modified, max_urls
        )
    elif kind == "homepage":
        urls = await _discover_homepage(
            fetcher, result, source_url, etag, last_modified, max_urls, max_depth
        )
    elif kind == "url":
        urls = [Discovered(canonicalize_url(source_url), None, None, source_url, "page")]
        if max_depth >= 1:
            urls += await _expand_links(fetcher, result, source_url, None, max_depth, max_urls)
    else:
        result.error = f"unknown discovery kind: {kind!r}"
    urls = _dedupe(urls)
    if len(urls) > max_urls:
        result.notes.append(f"capped at {max_urls} URLs ({len(urls)} found)")
        urls = urls[:max_urls]
    result.urls = urls
    if not urls and result.error is None and not result.not_modified:
        result.error = "no URLs found" + (f": {result.notes[-1]}" if result.notes else "")
    if urls and result.error is not None:
        # Partial success (e.g. one of several feeds failed): keep the reason as a note.
        result.notes.append(result.error)
        result.error = None
    return result


async def _discover_homepage(
    fetcher: Fetcher, result: DiscoveryResult, url: str, etag: str | None,
    last_modified: str | None, max_urls: int, max_depth: int,
) -> list[Discovered]:
    page = await fetcher.fetch(url, kind="page", etag=etag, last_modified=last_modified)
    _adopt_validators(result, page)
    if page.not_modified:
        result.notes.append(f"{url}: not modified since last run (HTTP 304)")
        return []
    if page.error is not None:
        result.error = page.error
        return []
    feeds = find_feed_links(page.body, page.final_url)
    found: list[Discovered] = []
    if feeds:
        for feed in feeds[:MAX_FEEDS_FOLLOWED]:
            sub = DiscoveryResult(source=feed)
            entries = await _discover_feed(fetcher, sub, feed, None, None, follow_html=False)
            result.notes.append(
                f"feed {feed}: {len(entries)} entries" + (f" ({sub.error})" if sub.error else "")
            )
            found.extend(entries)
        if found:
            return found
        result.notes.append("advertised feeds gave no entries; falling back to page links")
    else:
        result.notes.append("no feed advertised; falling back to same-site page links")
    return await _expand_links(
        fetcher, result, page.final_url, page.body, max(1, max_depth), max_urls
    )
