"""Discovery: turn a source (site, feed, sitemap, homepage, start URL) into article URLs.

Parsers are pure functions over bytes so they can be tested without a network; `discover`
is the only part that fetches, and always through the polite Fetcher. An empty result must
always carry its reason (`error` or `notes`): a silent empty run is the complaint users
make most, and "HTTP 404" or "feed has 0 entries" answers it before it is asked.

What a document is comes from its bytes, not from its Content-Type or the source's kind:
servers label gzipped sitemaps text/xml, feeds text/html, and list feeds as sitemaps in
robots.txt; search engines read them all, so a reader of real sites must too.
"""

from __future__ import annotations

import asyncio
import re
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.parsers import expat
from xml.sax import SAXException

import feedparser
from dateutil import parser as dateutil_parser
from selectolax.lexbor import LexborHTMLParser

from crawler._urls import canonicalize_url, host_of, is_http_url, origin_of
from crawler.fetch import Fetcher, FetchResult, RobotsEntry

__all__ = [
    "Discovered",
    "DiscoveryResult",
    "discover",
    "find_feed_links",
    "parse_feed",
    "parse_sitemap",
    "sniff",
]

MAX_SITEMAP_BYTES = 52_428_800  # the protocol's limit (50 MiB uncompressed)
MAX_SITEMAPS = 200  # sitemap documents fetched per discovery
MAX_SITEMAP_DEPTH = 10  # index nesting real sites use (by year, month, day, section), and more
MAX_EXPAND_PAGES = 50  # pages fetched to harvest links beyond the start page
MAX_FEEDS_FOLLOWED = 3  # advertised feeds tried on a homepage
# Where sites keep sitemaps that robots.txt does not list; tried for `kind = "site"`.
WELL_KNOWN_SITEMAPS = (
    "/sitemap.xml",
    "/sitemap_index.xml",
    "/sitemap-index.xml",
    "/sitemap-news.xml",
    "/sitemap_news.xml",
    "/news-sitemap.xml",
)
STOPPED = "max duration reached"

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # bytes handed to a parser at a time (and the most one inflate step makes)
_HEAD = 4096  # bytes looked at to tell what a document is
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
    published: datetime | None  # a publication date the source states (feed, news sitemap)
    title: str | None
    source: str  # the feed/sitemap/page URL it was found in
    kind: str  # "feed" | "sitemap" | "news-sitemap" | "page"
    # A sitemap's <lastmod>: when the page last changed. Never taken as `published`: an
    # edited original would then look younger than the copies made of it.
    last_modified: datetime | None = None


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


def _same_site(a: str, b: str) -> bool:
    def norm(host: str) -> str:
        return host[4:] if host.startswith("www.") else host

    return norm(host_of(a)) == norm(host_of(b))


def _dedupe(items: list[Discovered]) -> list[Discovered]:
    """First sighting of each URL, with what later sightings add (a news sitemap's date
    and title for a URL a plain sitemap listed first)."""
    first: dict[str, Discovered] = {}
    for item in items:
        kept = first.setdefault(item.url, item)
        if kept is not item:
            kept.published = kept.published or item.published
            kept.title = kept.title or item.title
            kept.last_modified = kept.last_modified or item.last_modified
    return list(first.values())


def _gunzip_chunks(data: bytes) -> Iterator[bytes]:
    """Decompressed gzip members, at most `_CHUNK` bytes per step; raises zlib.error when
    the data is corrupt or cut short (a partial sitemap is still worth its first URLs)."""
    pending = data
    while pending[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while True:
            out = inflater.decompress(pending, _CHUNK)
            if out:
                yield out
            pending = inflater.unconsumed_tail
            if inflater.eof or (not pending and len(out) < _CHUNK):
                break
        if not inflater.eof:
            raise zlib.error("gzip stream ends early (truncated)")
        pending = inflater.unused_data


class _Body:
    """A discovery document's bytes, gunzipped when they start with gzip's magic number.

    The declared type says nothing reliable (.gz sitemaps come as text/xml, plain ones as
    application/x-gzip), so the bytes decide. Output stops at `limit` — a gzip bomb ends
    there — and comes in chunks, so a parse that stops early never inflates the rest.
    """

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit = data, limit
        self.problem: str | None = None  # why reading stopped short, once it has

    def chunks(self) -> Iterator[bytes]:
        self.problem = None
        if self.data[:2] != _GZIP_MAGIC:
            end = min(len(self.data), self.limit)
            for offset in range(0, end, _CHUNK):
                yield self.data[offset : min(offset + _CHUNK, end)]
            if len(self.data) > self.limit:
                self.problem = f"over {self.limit} bytes; read the first {self.limit}"
            return
        total = 0
        try:
            for out in _gunzip_chunks(self.data):
                if total + len(out) > self.limit:
                    yield out[: self.limit - total]
                    self.problem = (
                        f"over {self.limit} bytes once decompressed; read the first {self.limit}"
                    )
                    return
                total += len(out)
                yield out
        except zlib.error as exc:
            self.problem = f"gzip data unreadable after {total} bytes: {exc}"

    def head(self) -> bytes:
        got = bytearray()
        for chunk in self.chunks():
            got += chunk
            if len(got) >= _HEAD:
                break
        return bytes(got[:_HEAD])

    def read(self) -> bytes:
        return b"".join(self.chunks())


_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_FIRST_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_HTML_TAG = re.compile(rb"<(?:html|head|body)[\s>]", re.IGNORECASE)


def sniff(head: bytes) -> str:
    """What a discovery document is, from its first (decompressed) bytes.

    "sitemap" (urlset/sitemapindex), "feed" (RSS, RDF, Atom, JSON Feed), "html", "text"
    (no markup: a plain-text sitemap), "xml" (another vocabulary), "json" or "empty".
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "empty"
    if text[:1] == b"{":
        return "feed" if b"jsonfeed.org" in text else "json"
    if text[:1] != b"<":
        return "text"
    tag = _FIRST_TAG.search(_COMMENT.sub(b"", text))
    name = tag.group(1).lower() if tag else b""
    if name in (b"urlset", b"sitemapindex"):
        return "sitemap"
    if name in (b"rss", b"feed", b"rdf", b"channel"):
        return "feed"
    if name in (b"html", b"head", b"body") or _HTML_TAG.search(text):
        return "html"
    return "xml"


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
        # dict.get: feedparser's own get maps a missing updated_parsed to published_parsed,
        # with a DeprecationWarning, each time a published date did not parse
        stamp = next(
            (
                v
                for k in ("published_parsed", "updated_parsed", "created_parsed")
                if (v := dict.get(entry, k))
            ),
            None,
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


def _is_news_ns(ns: str) -> bool:
    """Google's news namespace is spelt http or https, with or without www, in the wild."""
    return "/sitemap-news/" in ns


def _parse_text_sitemap(
    chunks: Iterable[bytes], base_url: str, max_urls: int, notes: list[str]
) -> _SitemapParse:
    """A plain-text sitemap: one URL per line; anything else on a line is ignored."""
    out = _SitemapParse(root="text")
    carry = b""

    def take(raw: bytes) -> bool:
        line = raw.decode("utf-8", "replace").strip().lstrip("\ufeff")
        if not is_http_url(line):
            return True
        if len(out.urls) >= max_urls:
            notes.append(f"{base_url}: capped at {max_urls} URLs")
            return False
        out.urls.append(Discovered(canonicalize_url(line), None, None, base_url, "sitemap"))
        return True

    for chunk in chunks:
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()
        for line in lines:
            if not take(line):
                return out
    take(carry)
    return out


def _parse_xml_sitemap(
    chunks: Iterable[bytes], base_url: str, max_urls: int, notes: list[str]
) -> _SitemapParse:
    out = _SitemapParse()
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
        in_news = _is_news_ns(ns)
        news = news or in_news
        stack.append(("news:" if in_news else "") + local)
        text.clear()

    def end(_name: str) -> None:
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
                out.urls.append(
                    Discovered(
                        canonicalize_url(loc, base_url),
                        _parse_date(current.get("pub")),
                        current.get("title") or None,
                        base_url,
                        "news-sitemap" if news else "sitemap",
                        last_modified=_parse_date(current.get("lastmod")),
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
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _StopParsing:
        pass
    except expat.ExpatError as exc:
        if not out.urls and not out.children:
            raise ValueError(f"not a sitemap: XML error: {exc}") from None
        notes.append(f"{base_url}: XML error after {len(out.urls)} URLs: {exc}")
    return out


def _parse_sitemap_body(
    body: _Body, base_url: str, max_urls: int, notes: list[str]
) -> _SitemapParse:
    if sniff(body.head()) in ("text", "empty"):
        parsed = _parse_text_sitemap(body.chunks(), base_url, max_urls, notes)
    else:
        parsed = _parse_xml_sitemap(body.chunks(), base_url, max_urls, notes)
    if body.problem:
        notes.append(f"{base_url}: {body.problem}")
    return parsed


def parse_sitemap(
    data: bytes,
    base_url: str,
    *,
    max_urls: int = 50_000,
    notes: list[str] | None = None,
    max_bytes: int = MAX_SITEMAP_BYTES,
) -> tuple[list[Discovered], list[str]]:
    """(page URLs, child sitemap URLs) from a urlset/sitemapindex, gzip or plain text.

    Streams through expat with DTDs refused (no entity-expansion attacks); gzip is read by
    its magic bytes and inflated only up to `max_bytes`; stops at `max_urls`, recording
    why in `notes`. Raises ValueError("not a sitemap: …") when the bytes are not a sitemap.
    """
    parsed = _parse_sitemap_body(
        _Body(data, max_bytes), base_url, max_urls, notes if notes is not None else []
    )
    return parsed.urls, [url for url, _ in parsed.children]


# -- discover -----------------------------------------------------------------------


def _declared_sitemaps(entry: RobotsEntry | None, origin: str) -> list[str]:
    """The `Sitemap:` lines of robots.txt as absolute URLs (some sites write them relative)."""
    out: list[str] = []
    for raw in entry.sitemaps if entry is not None else []:
        url = canonicalize_url(raw.strip(), origin + "/")
        if is_http_url(url) and url not in out:
            out.append(url)
    return out


def _newest_first(children: list[tuple[str, datetime | None]]) -> list[str]:
    """For news the fresh sitemaps are the ones that matter, and budgets cut the tail."""
    oldest = datetime.min.replace(tzinfo=UTC)
    return [url for url, _ in sorted(children, key=lambda c: c[1] or oldest, reverse=True)]


@dataclass
class _Walk:
    """One source's discovery: what it has found so far and the bounds it keeps.

    Every fetch goes through `fetch`, which stops at the crawl's deadline and says so: a
    source cut short keeps what it found before, and its report says why it stopped.
    """

    fetcher: Fetcher
    result: DiscoveryResult
    max_urls: int
    deadline: float | None  # a time.monotonic() value; None: no limit
    found: list[Discovered] = field(default_factory=list)
    read: set[str] = field(default_factory=set)  # documents read, by final URL too
    sitemaps_fetched: int = 0
    stopped: bool = False

    # -- bookkeeping --

    def note(self, text: str) -> None:
        self.result.notes.append(text)

    def fail(self, url: str, reason: str, own: bool) -> None:
        """The source's own document failing is the source's error; anything else a note."""
        if own:
            self.result.error = self.result.error or reason
        else:
            self.note(f"{url}: {reason}")

    def keep_validators(self, fetched: FetchResult) -> None:
        """Called only once the source's own document has parsed. A validator kept after a
        failed parse answered the next run's conditional GET with a 304, so a source first
        read the wrong way found nothing until the server's file changed."""
        self.result.etag, self.result.last_modified = fetched.etag, fetched.last_modified

    def not_modified(self, fetched: FetchResult) -> None:
        self.result.not_modified = True
        self.keep_validators(fetched)
        self.note(f"{fetched.url}: not modified since last run (HTTP 304)")

    @property
    def room(self) -> int:
        return self.max_urls - len(self.found)

    # -- bounded network --

    def _left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _cut_short(self, url: str) -> str:
        self.stopped = True
        failures = self.fetcher.host_failures(url)
        extra = f"; {failures} failed attempts on {host_of(url)} so far" if failures else ""
        return f"{STOPPED} before it answered{extra}"

    async def fetch(
        self, url: str, kind: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        left = self._left()
        if left is not None and left <= 0:
            self.stopped = True
            return FetchResult(url, url, error=STOPPED)
        try:
            async with asyncio.timeout(left):
                return await self.fetcher.fetch(
                    url, kind=kind, etag=etag, last_modified=last_modified
                )
        except TimeoutError:
            return FetchResult(url, url, error=self._cut_short(url))

    async def robots(self, url: str) -> RobotsEntry | str:
        """The robots.txt entry of `url`'s origin, or why there is none in time."""
        left = self._left()
        if left is not None and left <= 0:
            self.stopped = True
            return STOPPED
        try:
            async with asyncio.timeout(left):
                return await self.fetcher.robots.entry(url)
        except TimeoutError:
            return f"robots.txt: {self._cut_short(origin_of(url) + '/robots.txt')}"

    # -- documents --

    def take(self, fetched: FetchResult, expect: str, own: bool) -> list[str]:
        """Read a fetched feed or sitemap, whichever its bytes say it is.

        Returns an index's child sitemaps, newest first; raises ValueError with the reason
        when the document is of no use.
        """
        url = fetched.url
        body = _Body(fetched.body, self.fetcher.config.max_sitemap_bytes)
        what = sniff(body.head())
        if what == "html":
            raise ValueError(f"not a {expect}: an HTML page")
        if what == "feed" or (expect == "feed" and what != "sitemap"):
            entries = parse_feed(body.read(), fetched.final_url)
            if body.problem:
                self.note(f"{url}: {body.problem}")
            if expect != "feed":
                self.note(f"{url}: a feed where a sitemap was expected; read as a feed")
            if not entries:
                self.fail(url, "feed has 0 entries", own)
            self.found.extend(entries[: max(0, self.room)])
            return []
        if expect == "feed":
            self.note(f"{url}: a sitemap where a feed was expected; read as a sitemap")
        parsed = _parse_sitemap_body(body, fetched.final_url, self.room, self.result.notes)
        self.found.extend(parsed.urls)
        return _newest_first(parsed.children)

    async def sitemaps(
        self,
        roots: list[str],
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        quiet: frozenset[str] = frozenset(),
        depth: int = 0,
    ) -> list[tuple[str, str]]:
        """Read sitemaps breadth-first from `roots`, indexes down to MAX_SITEMAP_DEPTH.

        Each document is read once, whichever way it is reached again (an index listing
        itself, a cycle of indexes, a redirect to one already read). Roots in `quiet` are
        guesses: their failures come back as (url, why) instead of as notes.
        """
        fresh = [url for url in roots if canonicalize_url(url) not in self.read]
        repeats = len(roots) - len(fresh)
        queue = deque((url, depth) for url in fresh)
        queued = {canonicalize_url(u) for u in fresh}
        missed: list[tuple[str, str]] = []
        while queue:
            if self.room <= 0:
                self.note(f"capped at {self.max_urls} URLs; {len(queue)} sitemaps not read")
                break
            if self.stopped:
                self.note(f"{STOPPED}: {len(queue)} sitemaps not read")
                break
            if self.sitemaps_fetched >= MAX_SITEMAPS:
                self.note(f"stopped after {MAX_SITEMAPS} sitemaps; {len(queue)} not fetched")
                break
            url, level = queue.popleft()
            own = url == self.result.source
            self.sitemaps_fetched += 1
            fetched = await self.fetch(
                url, "sitemap", etag if own else None, last_modified if own else None
            )
            if fetched.not_modified:
                self.not_modified(fetched)
                continue
            final = canonicalize_url(fetched.final_url)
            why = fetched.error
            if why is None and final != canonicalize_url(url) and final in self.read:
                why = f"redirects to {final}, already read"
            children: list[str] = []
            if why is None:
                self.read.update((canonicalize_url(url), final))
                try:
                    children = self.take(fetched, "sitemap", own)
                except ValueError as exc:
                    why = str(exc)
            if why is not None:
                if url in quiet:
                    missed.append((url, why))
                else:
                    self.fail(url, why, own)
                continue
            if own:
                self.keep_validators(fetched)
            if children and level + 1 > MAX_SITEMAP_DEPTH:
                self.note(
                    f"{url}: sitemap indexes nested deeper than {MAX_SITEMAP_DEPTH}; "
                    f"{len(children)} children ignored"
                )
                continue
            for child in children:
                if child in queued or child in self.read:
                    repeats += 1
                    continue
                queued.add(child)
                queue.append((child, level + 1))
        if repeats:
            self.note(f"{repeats} links to sitemaps already read skipped (a loop or a repeat)")
        return missed

    async def feed(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        *,
        follow_html: bool = True,
        own: bool = True,
        keep: bool = True,
    ) -> None:
        """A feed source: RSS/RDF/Atom/JSON by its bytes, whatever its Content-Type.

        An HTML page gets its advertised feed followed; a sitemap is read as one.
        """
        if not own and canonicalize_url(url) in self.read:
            return
        fetched = await self.fetch(url, "feed", etag, last_modified)
        if fetched.not_modified:
            self.not_modified(fetched)
            return
        if fetched.error is not None:
            self.fail(url, fetched.error, own)
            return
        self.read.update((canonicalize_url(url), canonicalize_url(fetched.final_url)))
        body = _Body(fetched.body, self.fetcher.config.max_sitemap_bytes)
        if sniff(body.head()) == "html":
            advertised = find_feed_links(body.read(), fetched.final_url) if follow_html else []
            if advertised:
                self.note(f"{url} is an HTML page; following its advertised feed {advertised[0]}")
                # Not the page's validators: the page may stay the same while its feed moves.
                await self.feed(advertised[0], follow_html=False, own=own, keep=False)
            else:
                self.fail(url, f"not a feed: {fetched.content_type or 'an HTML page'}", own)
            return
        try:
            children = self.take(fetched, "feed", own)
        except ValueError as exc:
            self.fail(url, str(exc), own)
            return
        if own and keep:
            self.keep_validators(fetched)
        if children:
            await self.sitemaps(children, depth=1)

    async def advertised_feeds(self, page: FetchResult) -> list[str]:
        """Read the feeds an HTML page advertises (the first few); returns them all."""
        feeds = find_feed_links(page.body, page.final_url)
        for feed in feeds[:MAX_FEEDS_FOLLOWED]:
            before = len(self.found)
            await self.feed(feed, follow_html=False, own=False)
            self.note(f"feed {feed}: {len(self.found) - before} entries")
        return feeds

    async def expand_links(self, start_url: str, start_body: bytes | None, max_depth: int) -> None:
        """Breadth-first same-site links from `start_url` down to `max_depth` link levels."""
        seen = {canonicalize_url(start_url)} | {d.url for d in self.found}
        frontier: list[tuple[str, bytes | None]] = [(start_url, start_body)]
        pages_fetched = 0
        for depth in range(1, max_depth + 1):
            next_frontier: list[str] = []
            bodies = [(u, b) for u, b in frontier if b is not None]
            to_fetch = [u for u, b in frontier if b is None]
            if pages_fetched + len(to_fetch) > MAX_EXPAND_PAGES:
                keep = max(0, MAX_EXPAND_PAGES - pages_fetched)
                self.note(
                    f"link expansion capped at {MAX_EXPAND_PAGES} pages; "
                    f"{len(to_fetch) - keep} pages at depth {depth - 1} not expanded"
                )
                to_fetch = to_fetch[:keep]
            fetched = await asyncio.gather(*(self.fetch(u, "page") for u in to_fetch))
            pages_fetched += len(to_fetch)
            for res in fetched:
                if res.ok and res.body:
                    bodies.append((res.final_url, res.body))
                else:
                    self.note(f"{res.url}: {res.error}")
            for page_url, body in bodies:
                for link, text in _page_links(body, page_url):
                    if link in seen:
                        continue
                    seen.add(link)
                    if self.room <= 0:
                        self.note(f"capped at {self.max_urls} URLs")
                        return
                    self.found.append(Discovered(link, None, text, page_url, "page"))
                    next_frontier.append(link)
            frontier = [(u, None) for u in next_frontier]
            if not frontier or self.stopped:
                break

    # -- source kinds --

    async def homepage(
        self, url: str, etag: str | None, last_modified: str | None, max_depth: int
    ) -> None:
        """The sitemaps robots.txt declares, then the page's feeds, else its links."""
        entry = await self.robots(url)
        if not isinstance(entry, RobotsEntry):
            self.fail(url, entry, True)
            return
        declared = _declared_sitemaps(entry, origin_of(url))
        if declared:
            self.note(f"robots.txt lists {len(declared)} sitemap(s)")
            await self.sitemaps(declared)
        page = await self.fetch(url, "page", etag, last_modified)
        if page.not_modified:
            self.not_modified(page)
            return
        if page.error is not None:
            self.fail(url, page.error, True)
            return
        self.keep_validators(page)  # the fetcher hands back only HTML for a page
        before = len(self.found)
        if await self.advertised_feeds(page):
            if len(self.found) > before:
                return
            self.note("advertised feeds gave no entries; falling back to page links")
        else:
            self.note("no feed advertised; falling back to same-site page links")
        await self.expand_links(page.final_url, page.body, max(1, max_depth))

    async def site(self, url: str) -> None:
        """A site from its root alone: the sitemaps robots.txt declares, the well-known
        sitemap paths, the homepage's feeds; its same-site links only if all that is empty.
        """
        origin = origin_of(url)
        entry = await self.robots(url)
        if not isinstance(entry, RobotsEntry):
            self.fail(url, entry, True)
            return
        if entry.parser is None and not entry.allow_all and self.fetcher.config.obey_robots:
            self.fail(url, f"{entry.reason}; the site is not read until it answers", True)
            return
        declared = _declared_sitemaps(entry, origin)
        reasons: list[str] = []
        if declared:
            self.note(f"robots.txt lists {len(declared)} sitemap(s)")
            reasons.append(f"robots.txt lists {len(declared)} sitemap(s), no URLs in them")
        else:
            reasons.append(
                "robots.txt lists no sitemap"
                if entry.reason == "ok"
                else f"no robots.txt ({entry.reason.removesuffix(': allow all')})"
            )
        guesses = [
            u
            for u in (canonicalize_url(origin + p) for p in WELL_KNOWN_SITEMAPS)
            if u not in declared
        ]
        missed = await self.sitemaps(declared + guesses, quiet=frozenset(guesses))
        if missed:
            paths = ", ".join(urlsplit(u).path for u, _ in missed)
            whys = {why for _, why in missed}
            summary = f"no sitemap at {paths}" + (f" ({whys.pop()})" if len(whys) == 1 else "")
            reasons.append(summary)
            if len(missed) < len(guesses) or declared:
                self.note(summary)
        page = await self.fetch(url, "page")
        if page.error is not None:
            reasons.append(f"homepage: {page.error}")
            self.note(f"homepage {url}: {page.error}")
        else:
            before = len(self.found)
            feeds = await self.advertised_feeds(page)
            if not feeds:
                reasons.append("the homepage advertises no feed")
            elif len(self.found) == before:
                reasons.append(f"its {len(feeds)} advertised feed(s) gave no entries")
            if not self.found:
                self.note("nothing from sitemaps or feeds; falling back to homepage links")
                await self.expand_links(page.final_url, page.body, 1)
                if not self.found:
                    reasons.append("no same-site links on the homepage")
        if not self.found and self.result.error is None:
            if self.stopped:
                reasons.insert(0, STOPPED)
            self.result.error = "; ".join(reasons)


async def discover(
    fetcher: Fetcher,
    source_url: str,
    kind: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_urls: int = 50_000,
    max_depth: int = 1,
    deadline: float | None = None,
) -> DiscoveryResult:
    """Find candidate article URLs from one source; never raises for network trouble.

    kind: "site" (a site root: robots.txt's sitemaps, well-known sitemap paths, the
    homepage's feeds); "feed"; "sitemap" (indexes followed, bounded); "homepage" (robots.txt's
    sitemaps, advertised feeds, else same-site links to `max_depth`); "url" (the URL itself
    + same-site links). `deadline` (a time.monotonic() value) ends it early, keeping what
    was found and saying so.
    """
    result = DiscoveryResult(source=source_url)
    if not is_http_url(source_url):
        result.error = f"not an HTTP URL: {source_url!r}"
        return result
    walk = _Walk(fetcher, result, max_urls, deadline)
    if kind == "feed":
        await walk.feed(source_url, etag, last_modified)
    elif kind == "sitemap":
        await walk.sitemaps([source_url], etag=etag, last_modified=last_modified)
        if not walk.found and result.error is None and not result.not_modified:
            result.error = (
                "sitemap has 0 URLs"
                if walk.sitemaps_fetched <= 1
                else (f"{walk.sitemaps_fetched} sitemaps fetched, 0 URLs")
            )
    elif kind == "site":
        await walk.site(source_url)
    elif kind == "homepage":
        await walk.homepage(source_url, etag, last_modified, max_depth)
    elif kind == "url":
        walk.found.append(Discovered(canonicalize_url(source_url), None, None, source_url, "page"))
        if max_depth >= 1:
            await walk.expand_links(source_url, None, max_depth)
    else:
        result.error = f"unknown discovery kind: {kind!r}"
    urls = _dedupe(walk.found)
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
