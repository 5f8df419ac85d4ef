"""Main-content extraction: from a fetched page to metadata and body paragraphs.

The extractor is deliberately conservative about what it *removes*: it keeps in-body chrome
such as "ALSO READ:" lines, captions placed between paragraphs and repeated pull quotes,
because those are removed by the rule-driven normalizer, which can say why each line went.
What it must get right is the choice of the article container and the block order.

Speed matters (a crawler extracts every page it fetches), so all tree walks are done by
lexbor's CSS engine in C; Python touches only the few hundred text blocks of a page and
never recurses over the DOM, which keeps 10,000-deep nesting harmless.
"""

from __future__ import annotations

import codecs
import html as html_lib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlsplit

from charset_normalizer import from_bytes
from selectolax.lexbor import LexborHTMLParser

from ._dates import (
    UPDATE_LABEL,
    dayfirst_for,
    find_date,
    parse_date,
    parse_date_line,
    parse_timestamp,
    url_date,
)

MAX_BYTES = 10 * 1024 * 1024
_RETRY_CHARS = 250
_BR = "\n\u2029"  # what a <br> becomes: survives text(), never in real text
_ALT_SHARE = 0.5
_WIDEN_LEVELS = 4
_WS = re.compile(r"\s+")


@dataclass
class ExtractedPage:
    url: str | None = None
    title: str | None = None
    byline: str | None = None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    method: str = "dom"
    # Body lines whose markup makes them a link to another page ("Read also: <link>", a
    # linked headline): the normalizer drops them under a rule name.
    link_lines: list[str] = field(default_factory=list)


def _clean(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


# --------------------------------------------------------------------------- decoding

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels that browsers treat as their superset; decoding with the superset never loses text.
_SUPERSET = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSET.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


_SINGLE_BYTE = {"cp1252", "iso8859-1", "latin-1", "cp1254", "iso8859-15", "ascii"}


def decode_html(data: bytes, declared: str | None = None) -> tuple[str, list[str]]:
    """Bytes to text, trusting in order: BOM, a declared charset that decodes cleanly, the
    <meta> charset, UTF-8, then statistical detection. Never raises; says what it guessed."""
    warns: list[str] = []
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), warns
    head = data[:4096]
    candidates: list[tuple[str, str]] = []
    if declared:
        c = _codec(declared)
        if c:
            candidates.append((c, "declared"))
        else:
            warns.append(f"unknown declared charset {declared!r}")
    m = _META_CHARSET.search(head)
    if m:
        c = _codec(m.group(1).decode("ascii", "replace"))
        if c:
            candidates.append((c, "meta"))
        else:
            warns.append(f"unknown meta charset {m.group(1)!r}")
    for enc, source in candidates:
        if enc in _SINGLE_BYTE and enc != "ascii":
            # A single-byte label on bytes that are valid, non-ASCII UTF-8 is a stale
            # template declaration far more often than genuine mojibake-looking text.
            try:
                text = data.decode("utf-8")
                if not data.isascii():
                    warns.append(f"{source} charset {enc} but bytes are UTF-8; used UTF-8")
                return text, warns
            except UnicodeDecodeError:
                pass
        try:
            return data.decode(enc), warns
        except UnicodeDecodeError:
            warns.append(f"{source} charset {enc} does not decode the page")
        except LookupError:  # codecs without a decoder
            warns.append(f"{source} charset {enc} unsupported")
    try:
        text = data.decode("utf-8")
        if candidates:
            warns.append("decoded as UTF-8 instead")
        return text, warns
    except UnicodeDecodeError:
        pass
    best = None
    try:
        best = from_bytes(data[:200_000]).best()
    except Exception as exc:  # noqa: BLE001 - detection must never take the page down
        warns.append(f"charset detection failed: {exc!r}")
    if best is not None and best.encoding:
        enc = best.encoding
        warns.append(f"no usable charset; detected {enc}")
        return data.decode(enc, errors="replace"), warns
    warns.append("no usable charset; decoded as UTF-8 with replacement")
    return data.decode("utf-8", errors="replace"), warns


# --------------------------------------------------------------------------- metadata


def _jsonld_objects(tree: LexborHTMLParser, warns: list[str]) -> list[dict]:
    """All JSON-LD objects of the page, flattened out of lists, @graph and a WebPage's
    ``mainEntity`` (schema.org's way to say what the page is about: the article itself)."""
    out: list[dict] = []
    for node in tree.css('script[type="application/ld+json"]'):
        raw = node.text(deep=True) or ""
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            try:  # common breakage: raw newlines inside strings, trailing junk
                data = json.loads(raw.replace("\n", " ").replace("\r", " ").strip().rstrip(";"))
            except ValueError:
                warns.append("invalid JSON-LD skipped")
                continue
        stack = [data]
        while stack and len(out) < 200:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                out.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))
                main = item.get("mainEntity")
                if isinstance(main, dict | list):
                    stack.append(main)
    return out


_ARTICLE_TYPES = re.compile(r"(?:Article|Posting|Report|Blog)$", re.IGNORECASE)


def _is_article(obj: dict) -> bool:
    t = obj.get("@type")
    types = t if isinstance(t, list) else [t]
    return any(isinstance(x, str) and _ARTICLE_TYPES.search(x) for x in types)


def _names(value, by_id: dict[str, str] | None = None) -> list[str]:
    """Author names from any of JSON-LD's shapes: str, {"name"}, list of either, or an
    {"@id"} reference to a Person elsewhere in the graph (how Yoast writes them)."""
    items = value if isinstance(value, list) else [value]
    names = []
    for it in items[:20]:
        if isinstance(it, str):
            names.append(_clean(it))
        elif isinstance(it, dict):
            if isinstance(it.get("name"), str):
                names.append(_clean(it["name"]))
            elif by_id and isinstance(it.get("@id"), str) and it["@id"] in by_id:
                names.append(_clean(by_id[it["@id"]]))
    return [n for n in names if n and len(n) < 120]


def _meta_map(tree: LexborHTMLParser) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        key = (
            attrs.get("property")
            or attrs.get("name")
            or attrs.get("itemprop")
            or attrs.get("http-equiv")
        )
        if key and (value := attrs.get("content")):
            out.setdefault(key.strip().lower(), value.strip())
    return out


_SITE_SUFFIX = re.compile(r"\s+[|\-–—:·»]\s+[^|\-–—:·»]{2,60}$")


_SEPARATOR = re.compile(r"\s*[|\-–—:·»*：｜/]")


def _clean_headline(title: str, tree: LexborHTMLParser, article: dict | None) -> str:
    """The headline as printed when the metadata title is it plus a suffix ("… | Site",
    "… * Site * by Author"): the <h1> or JSON-LD headline that the title starts with,
    followed by a separator."""
    want = light_fold(title)
    shown = []
    h1 = tree.css_first("h1")
    if h1 is not None:
        shown.append(_clean(h1.text(deep=True)))
    if article and isinstance(article.get("headline"), str):
        shown.append(_clean(html_lib.unescape(article["headline"])))
    for cand in shown:
        got = light_fold(cand)
        if len(got) < 10:
            continue
        if got == want:
            return title
        if want.startswith(got) and _SEPARATOR.match(want, len(got)):
            # The title's own text up to that separator (its quotes and dashes as written).
            for m in _SEPARATOR.finditer(title):
                if light_fold(title[: m.start()]) == got:
                    return title[: m.start()]
            return cand
    return title


def _strip_site_suffix(title: str, site: str | None, generic: bool) -> str:
    """Drop " | Site Name" from a title. Without a known site name only a <title> is cut
    at its last separator: headlines ("Turkey - EU talks stall") keep theirs."""
    if site and title.endswith(site) and len(title) > len(site) + 5:
        trimmed = title[: -len(site)].rstrip(" |-–—:·»：｜*")
        if trimmed:
            return trimmed
    if not generic:
        return title
    m = _SITE_SUFFIX.search(title)
    if m and m.start() > 15:
        return title[: m.start()]
    return title


def _descriptions(meta: dict[str, str], article: dict | None) -> list[str]:
    """The page's summaries of itself, most often the standfirst printed under the title."""
    found = [meta.get("og:description"), meta.get("description"), meta.get("twitter:description")]
    if article:
        found.append(_str(article.get("description")))
    return list(dict.fromkeys(_clean(html_lib.unescape(d)) for d in found if d and d.strip()))


@dataclass
class _PageInfo:
    """What metadata collection learns that the body stages need."""

    article: dict | None
    descriptions: list[str]
    dates: _DateContext


def _collect_metadata(
    tree: LexborHTMLParser,
    page: ExtractedPage,
    ld: list[dict],
    html: str,
    fetched: datetime | None,
) -> _PageInfo:
    meta = _meta_map(tree)
    article = next((o for o in ld if _is_article(o)), None)
    site = meta.get("og:site_name")
    if not site:
        for o in ld:
            pub = o.get("publisher")
            if isinstance(pub, dict) and isinstance(pub.get("name"), str):
                site = pub["name"]
                break
    page.site_name = _clean(site) or None

    title = meta.get("og:title") or meta.get("twitter:title")
    if not title and article and isinstance(article.get("headline"), str):
        title = article["headline"]
    if not title:
        h1 = tree.css_first("h1")
        title = h1.text(deep=True) if h1 else None
    from_title_tag = False
    if not title:
        t = tree.css_first("title")
        title = t.text(deep=True) if t else None
        from_title_tag = True
    title = _clean(title)
    page.title = _strip_site_suffix(title, page.site_name, from_title_tag) if title else None
    if page.title:
        page.title = _clean_headline(page.title, tree, article)

    page.authors, printed = _authors(tree, page, meta, ld, article)
    if page.authors:
        page.byline = printed or ", ".join(page.authors)

    html_node = tree.css_first("html")
    lang = html_node.attributes.get("lang") if html_node is not None else None
    lang = lang or meta.get("og:locale") or meta.get("content-language") or meta.get("language")
    if lang:
        page.language = lang.strip().replace("_", "-").split(",")[0].lower() or None
    dates = _metadata_dates(tree, page, meta, ld, article, html, fetched)
    link = tree.css_first('link[rel="canonical"][href]')
    page.canonical_url = (link.attributes.get("href") if link is not None else None) or meta.get(
        "og:url"
    )
    return _PageInfo(article, _descriptions(meta, article), dates)


def _str(v) -> str | None:
    return v if isinstance(v, str) else None


# --------------------------------------------------------------------------- authors

_AUTHOR_META = (
    "author",
    "article:author",
    "dc.creator",
    "dcterms.creator",
    "parsely-author",
    "sailthru.author",
    "twitter:misc:written by",
    "byl",
)
_AUTHOR_NODES = (
    '[rel="author"]',
    '[itemprop="author"] [itemprop="name"]',
    '[itemprop="author"]',
    '[class*="byline" i]',
    '[class*="author-name" i]',
    '[class*="authorname" i]',
)
_DOMAIN = re.compile(r"^[\w-]+(?:\.[\w-]+)+$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")  # "chuck-ross": a URL's slug, not the name
_BYLINE_WORDS = (
    r"by|von|par|por|di|door|av|af|przez|autor|autorin|yazar|text|texto|tekst|"
    r"written by|reporting by"
)
_BYLINE_LEAD = re.compile(rf"^(?:{_BYLINE_WORDS})\s*:?\s+", re.IGNORECASE)
_BYLINE_PREFIX = re.compile(rf"^(?:{_BYLINE_WORDS})\s*:?$", re.IGNORECASE)
_BYLINE_SEGMENT = re.compile(
    rf"^(?:{_BYLINE_WORDS})\s*:?\s+(?P<who>\S.{{1,80}})$",
    re.IGNORECASE,
)


def _authors(
    tree: LexborHTMLParser,
    page: ExtractedPage,
    meta: dict[str, str],
    ld: list[dict],
    article: dict | None,
) -> tuple[list[str], str | None]:
    """Author names from the first source that has usable ones: JSON-LD (the article, then
    other objects), <meta> (author and its common variants, Yoast's "Written by" label),
    author elements, then a "By …"/"Von …" segment of a line near the headline. An e-mail
    address or a URL is no name; where a source names only the outlet itself (its site
    name or domain), later sources are asked for a person, and the outlet is kept too.
    Also gives the byline as printed when it came from a line ("Von Eva Muster")."""
    site = light_fold(page.site_name or "")
    host = (urlsplit(page.url).hostname or "") if page.url else ""

    def usable(names: list[str]) -> list[str]:
        out = []
        for n in names:
            n = _clean(n)
            n = _BYLINE_LEAD.sub("", n)
            if (
                2 <= len(n) < 120
                and "@" not in n
                and not n.startswith("http")
                and not (_SLUG.match(n) and n not in host)
            ):
                out.append(n)
        return list(dict.fromkeys(out))

    def outlet(n: str) -> bool:
        f = light_fold(n)
        return bool(f == site or _DOMAIN.match(n) or (f and f.replace(" ", "") in host))

    found: list[str] = []
    for got, printed in _author_sources(tree, page, meta, ld, article):
        got = usable(got)
        if not got:
            continue
        if not all(outlet(n) for n in got):
            return [*got, *(n for n in found if n not in got)], (None if found else printed)
        found = found or got  # the outlet's own name: keep looking for a person
    return found, None


def _author_sources(
    tree: LexborHTMLParser,
    page: ExtractedPage,
    meta: dict[str, str],
    ld: list[dict],
    article: dict | None,
):
    by_id = {
        o["@id"]: o["name"]
        for o in ld
        if isinstance(o.get("@id"), str) and isinstance(o.get("name"), str)
    }
    if article:
        yield _names(article.get("author"), by_id), None
    for o in ld:
        if o is not article and not set(_ld_types(o)) & _NOT_ARTICLE_LD and o.get("author"):
            yield _names(o.get("author"), by_id), None
    values = [meta.get(k) for k in _AUTHOR_META]
    label = meta.get("twitter:label1", "").strip().lower()
    if label in ("written by", "verfasst von", "escrito por", "écrit par", "autor"):
        values.append(meta.get("twitter:data1"))
    for v in values:
        if v:
            yield [v], None
    for sel in _AUTHOR_NODES:
        node = tree.css_first(sel)
        if node is not None:
            yield [node.text(deep=True)], None
    if tree.body is not None:
        after, _ = _headline_lines(tree.body, page.title)
        for i, line in enumerate(after):
            if _BYLINE_PREFIX.match(line) and i + 1 < len(after):
                line = f"{line} {after[i + 1]}"  # "Von:" and the linked name on lines of their own
            for seg in re.split(r"\s*[|·•]\s*", line):
                m = _BYLINE_SEGMENT.match(seg.strip())
                if m and _name_like(m["who"]):
                    yield [m["who"]], seg.strip()


def _name_like(who: str) -> bool:
    """A short run of capitalized words (or CJK), not a sentence."""
    words = who.replace(",", " ").split()
    if not 1 <= len(words) <= 8 or any(c.isdigit() for c in who) or who.rstrip()[-1:] in ".!?":
        return False
    if len(words) == 1:
        return words[0].isupper()  # one word: an agency's initials ("TPN"), not "Donnerstag"
    return sum(w[:1].isupper() for w in words) >= max(1, (len(words) + 1) // 2)


# --------------------------------------------------------------------------- dates


@dataclass
class _DateContext:
    """How this page writes dates: numeric order, language, its UTC offset, and the time
    no publication date may be later than."""

    dayfirst: bool | None
    lang: str | None
    tz: tzinfo | None
    latest: datetime

    def parse(self, value: str | None) -> datetime | None:
        dt = parse_date(value, dayfirst=self.dayfirst, lang=self.lang, tz=self.tz)
        return dt if dt is not None and dt <= self.latest else None

    def find(self, text: str | None) -> datetime | None:
        dt = find_date(text, dayfirst=self.dayfirst, lang=self.lang, tz=self.tz)
        return dt if dt is not None and dt <= self.latest else None

    def line(self, text: str) -> tuple[datetime | None, datetime | None] | None:
        got = parse_date_line(text, dayfirst=self.dayfirst, lang=self.lang, tz=self.tz)
        if got is None:
            return None
        pub, upd = (d if d is not None and d <= self.latest else None for d in got)
        return (pub, upd) if pub or upd else None


_PUB_META = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "published_time",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date.created",
    "sailthru.date",
    "parsely-pub-date",
    "citation_publication_date",
    "dc.date",
    "date",
)
_UPD_META = (
    "article:modified_time",
    "og:article:modified_time",
    "datemodified",
    "og:updated_time",
    "dcterms.modified",
    "modified_time",
)
_PUB_KEY = re.compile(r"publi|pubdate|issued|created|release", re.IGNORECASE)
_UPD_KEY = re.compile(r"modif|updat|revis|expir|edit", re.IGNORECASE)
_DATE_KEY = re.compile(r"date|time", re.IGNORECASE)
_ZONED = re.compile(r"(?:[+-]\d\d:?\d\d|Z)$")
_NOT_ARTICLE_LD = frozenset(
    [
        "WebSite",
        "Organization",
        "NewsMediaOrganization",
        "Person",
        "BreadcrumbList",
        "ImageObject",
        "VideoObject",
        "AudioObject",
        "MediaObject",
        "SiteNavigationElement",
    ]
)
_FUTURE_SLACK = timedelta(minutes=10)


def _ld_types(obj: dict) -> list[str]:
    t = obj.get("@type")
    return [x for x in (t if isinstance(t, list) else [t]) if isinstance(x, str)]


def _page_offset(values: list[str]) -> tzinfo | None:
    """The UTC offset the page's own timestamps are written in: a time without one on the
    same page means that local time, not UTC. A non-zero offset wins over "Z" (which is
    what a CMS writes when it converts to UTC, not the newsroom's clock)."""
    found: tzinfo | None = None
    for v in values:
        v = v.strip()
        if not (v[:4].isdigit() and _ZONED.search(v)):
            continue
        try:
            dt = datetime.fromisoformat(v)
        except ValueError:
            continue
        off = dt.utcoffset()
        if off is None:
            continue
        if off:
            return dt.tzinfo
        found = found or dt.tzinfo
    return found


def _metadata_dates(
    tree: LexborHTMLParser,
    page: ExtractedPage,
    meta: dict[str, str],
    ld: list[dict],
    article: dict | None,
    html: str,
    fetched: datetime | None,
) -> _DateContext:
    """Publication and update dates from the sources a page has, most reliable first:
    JSON-LD (the article object, then any other object with a datePublished, such as a
    ClaimReview), <meta> (the known names, then any name that says published), a
    time[datetime], a visible date line near the headline, a date in a data-* attribute.
    The URL's date comes last, after the body's date lines (see _extract_into). No
    candidate later than the fetch time is taken."""
    ld_pub = [_str(o.get("datePublished")) for o in ([article] if article else [])]
    ld_upd = [_str(article.get("dateModified"))] if article else []
    for o in ld:
        if o is article or set(_ld_types(o)) & _NOT_ARTICLE_LD:
            continue
        ld_pub.append(_str(o.get("datePublished")))
        ld_upd.append(_str(o.get("dateModified")))
    meta_pub = [meta.get(k) for k in _PUB_META]
    meta_upd = [meta.get(k) for k in _UPD_META]
    for k, v in meta.items():
        if _DATE_KEY.search(k) and k not in _PUB_META and k not in _UPD_META:
            if _UPD_KEY.search(k):
                meta_upd.append(v)
            elif _PUB_KEY.search(k):
                meta_pub.append(v)
    times = [n.attributes.get("datetime") for n in tree.css("time[datetime]")[:10]]
    raw = [v for v in (*ld_pub, *ld_upd, *meta_pub, *meta_upd, *times) if v]
    latest = (fetched or datetime.now(UTC)) + _FUTURE_SLACK
    if latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    ctx = _DateContext(
        dayfirst_for(page.language, page.url), page.language, _page_offset(raw), latest
    )
    pub = next((d for v in (*ld_pub, *meta_pub) if v and (d := ctx.parse(v))), None)
    upd = next((d for v in (*ld_upd, *meta_upd) if v and (d := ctx.parse(v))), None)
    if pub is None:
        pub = _time_element_date(tree, page.title, ctx)
    if pub is None and tree.body is not None:
        seen = _visible_date(tree.body, page.title, ctx)
        if seen:
            pub, upd = seen[0], upd or seen[1]
    if pub is None:
        pub = _data_attribute_date(tree.body, html, page.title, ctx)
    page.published, page.updated = pub, upd
    return ctx


def _time_element_date(
    tree: LexborHTMLParser, title: str | None, ctx: _DateContext
) -> datetime | None:
    """A <time datetime>: one marked as the publication time, else one near the headline,
    else the page's only one. Live blogs and teaser lists have many, the newest first."""
    nodes = tree.css("time[datetime]")[:50]
    if not nodes:
        return None
    marked = [
        n
        for n in nodes
        if n.attributes.get("itemprop") == "datePublished"
        or "pubdate" in n.attributes
        or _PUB_KEY.search(n.attributes.get("class") or "")
    ]
    near = []
    if tree.body is not None and (head := _headline(tree.body, title)) is not None:
        chain, story = _near_chain(head), _story_of(head)
        near = [n for n in nodes if _near(n, chain) and _story_of(n) == story]
    for node in (*marked, *near, *(nodes if len(nodes) == 1 else ())):
        if _says_updated(node) or _in_list(node):
            continue
        if not UPDATE_LABEL.match(_clean(node.text(deep=True))) and (
            dt := ctx.parse(node.attributes.get("datetime"))
        ):
            return dt
    return None


def _says_updated(node) -> bool:
    a = node.attributes
    return bool(_UPD_KEY.search(f"{a.get('class') or ''} {a.get('itemprop') or ''}"))


def _in_list(node) -> bool:
    """Inside a list item: teaser lists ("latest posts") carry a date per story."""
    anc = node.parent
    for _ in range(6):
        if anc is None or anc.tag in ("body", "article"):
            return False
        if anc.tag == "li":
            return True
        anc = anc.parent
    return False


_DATE_BOXES = (
    "time, [itemprop='datePublished'], [class*='date' i], [id*='date' i], "
    "[class*='time' i], [class*='publish' i], [class*='posted' i], [class*='datum' i], "
    "[class*='fecha' i], [class*='tarih' i], [class*='data' i], [class*='meta' i]"
)
_NEAR_LEVELS = 4
_DATE_BOX_CHARS = 160
_LINE_WORDS = 16
_LINES_AFTER, _LINES_BEFORE = 8, 3


def _headline(body, title: str | None):
    """The page's headline element: the first <h1> that says the title, else the first
    <h2>/<h3> that does, else the first <h1>."""
    want = light_fold(title) if title else ""
    heads = body.css("h1, h2, h3")
    if want:
        for tags in (("h1",), ("h2", "h3")):
            for n in heads:
                if n.tag not in tags:
                    continue
                got = light_fold(n.text(deep=True) or "")
                if got and (
                    got == want
                    or (len(got) > 20 and got in want)
                    or (len(want) > 20 and want in got and len(got) < 2 * len(want))
                ):
                    return n
    return next((n for n in heads if n.tag == "h1"), None)


def _near_chain(head) -> dict[int, int]:
    chain: dict[int, int] = {}
    node, level = head.parent, 0
    while node is not None and node.tag not in ("body", "html") and level < _NEAR_LEVELS:
        chain[node.mem_id] = level
        node, level = node.parent, level + 1
    return chain


def _visible_date(
    body, title: str | None, ctx: _DateContext
) -> tuple[datetime | None, datetime | None] | None:
    """A date printed near the headline: in a date box (span.date, div.metaInfoDateTime,
    span.tarih...) that shares a box with the headline a few levels up, else on one of the
    short lines right after it ("Do 25.04.24 | 14:07 Uhr | Von ..."). Dates in teaser
    lists elsewhere on the page are never near the headline. Gives (published, updated):
    a labelled line ("Published: … | Updated: …") has both."""
    head = _headline(body, title)
    if head is None:
        return None
    chain = _near_chain(head)
    story = _story_of(head)
    for n in body.css(_DATE_BOXES):
        if (
            not _near(n, chain)
            or _story_of(n) != story
            or _in_caption(n)
            or _says_updated(n)
            or _in_list(n)
        ):
            continue
        text = _clean(n.text(deep=True))
        if not _datelike_line(text):
            continue
        attr = n.attributes.get("datetime") or n.attributes.get("content")
        if got := _date_text(text, ctx, attr):
            return got
    after, before = _headline_lines(body, title, head)
    for x in (*after, *before):
        if _datelike_line(x) and (got := _date_text(x, ctx)):
            return got
    return None


def _headline_lines(body, title: str | None, head=None) -> tuple[list[str], list[str]]:
    """The text lines just after the headline and (nearest first) just before it, in the
    box around it: where templates print the date and the byline. Captions left out."""
    head = head if head is not None else _headline(body, title)
    if head is None:
        return [], []
    region = head.parent
    for _ in range(2):
        if region is None or region.parent is None or region.parent.tag in ("body", "html"):
            break
        region = region.parent
    if region is None:
        return [], []
    # A photo's date or credit is not the article's.
    captions = " ".join(_clean(c.text(deep=True)) for c in region.css(_CAPTION_SEL + ", figure"))
    lines = [
        x
        for x in (_clean(t) for t in (region.text(deep=True, separator="\n") or "").split("\n"))
        if x and x not in captions
    ]
    head_text = _clean(head.text(deep=True))
    at = next((i for i, x in enumerate(lines) if x and x in head_text), None)
    if at is None:
        return [], []
    before = list(reversed(lines[max(0, at - _LINES_BEFORE) : at]))
    return lines[at + 1 : at + 1 + _LINES_AFTER], before


def _datelike_line(text: str) -> bool:
    """Short, not a sentence, not an update line: what a date line looks like."""
    words = len(text.split())
    return (
        0 < len(text) <= _DATE_BOX_CHARS
        and words <= _LINE_WORDS
        and not (words >= 8 and text.endswith("."))  # a sentence that mentions a date
        and not UPDATE_LABEL.match(text)
    )


def _in_caption(node) -> bool:
    """In a photo caption or holding one: a photo's date is not the article's."""
    if node.css_first(_CAPTION_SEL + ", figure") is not None:
        return True
    anc = node
    for _ in range(8):
        if anc is None:
            return False
        if (
            anc.tag in ("figure", "figcaption")
            or "caption" in (anc.attributes.get("class") or "").lower()
        ):
            return True
        anc = anc.parent
    return False


def _date_text(
    text: str, ctx: _DateContext, attr: str | None = None
) -> tuple[datetime | None, datetime | None] | None:
    if attr and (dt := ctx.parse(attr)):
        return dt, None
    if (both := ctx.line(text)) and both[0]:
        return both
    dt = ctx.find(text)
    return (dt, None) if dt is not None else None


def _near(node, chain: dict[int, int]) -> bool:
    anc = node.parent
    while anc is not None and anc.tag not in ("body", "html"):
        if anc.mem_id in chain:
            return True
        anc = anc.parent
    return False


_DATA_ATTR = re.compile(
    r"""\sdata-([\w-]{0,40}?(?:publi|date|time)[\w-]{0,40})\s*=\s*["']([^"'<>]{6,40})["']""",
    re.IGNORECASE,
)
_DATA_NOT = re.compile(
    r"today|now|current|modif|updat|expir|render|server|load|build|cache|"
    r"read|duration|length|live|start|end|event|format",
    re.IGNORECASE,
)


def _data_attribute_date(body, html: str, title: str | None, ctx: _DateContext) -> datetime | None:
    """A publication date kept only in a data-* attribute (data-published, data-date...):
    the attribute names come from one regular expression over the markup, the elements
    must hold the headline or sit near it (teasers carry such attributes too)."""
    names = []
    for m in _DATA_ATTR.finditer(html):
        name = m.group(1).lower()
        if not _DATA_NOT.search(name) and name not in names and re.fullmatch(r"[\w-]+", name):
            names.append(name)
    if not names or body is None:
        return None
    head = _headline(body, title)
    if head is None:
        return None
    chain = _near_chain(head)
    above = set(_ancestors(head))
    story = _story_of(head)
    for name in names[:10]:
        for n in body.css(f"[data-{name}]")[:20]:
            if not (n.mem_id in above or (_near(n, chain) and _story_of(n) == story)):
                continue
            value = (n.attributes.get(f"data-{name}") or "").strip()
            dt = parse_timestamp(value) if value.isdigit() else ctx.parse(value)
            if dt is not None and dt <= ctx.latest:
                return dt
    return None


# --------------------------------------------------------------------------- body

_CHROME_TAGS = [
    "script",
    "style",
    "noscript",
    "nav",
    "footer",
    "aside",
    "iframe",
    "svg",
    "button",
    "select",
    "textarea",
    "input",
    "template",
    "object",
    "embed",
    "canvas",
    "map",
    "audio",
    "video",
    "menu",
    "dialog",
    "label",
]
# Class words that mark chrome whatever the element holds: nobody wraps an article in a
# share bar or a comment thread, and comment threads hold prose that must not win.
_STRONG_BAD = re.compile(
    r"share|sharing|social|related|comment|cookie|newsletter|breadcrumb|"
    r"recommend|outbrain|taboola|popular|trending|most-?read|read-?more|also-read|"
    r"signup|sign-up|consent|gdpr|disqus",
    re.IGNORECASE,
)
# Chrome words that templates also put on the article's own wrappers (a paywall wrapper
# holds the paid article; a "sidebar-1" column or a "widget" box may be the main column):
# an element marked only by these stays when it holds a large part of the page's prose.
_SOFT_BAD = re.compile(r"promo|subscri|paywall", re.IGNORECASE)
_WEAK_WORDS = frozenset(
    [
        "ad",
        "ads",
        "adv",
        "advert",
        "advertising",
        "advertisement",
        "banner",
        "sidebar",
        "widget",
        "menu",
        "masthead",
        "footer",
        "header",
        "nav",
        "navbar",
        "navigation",
        "sponsor",
        "sponsored",
        "popup",
        "modal",
        "tags",
        "tag",
        "toolbar",
        "pagination",
        "pager",
        "rail",
        "skip",
        "bio",
        "meta",
        "byline",
        "dateline",
        "caption",
        "credit",
        "timestamp",
        "date",
        "dropdown",
        "teaser",
        "teasers",
        "partner",
        "partners",
    ]
)
# State words count only as a whole class token: "hidden" hides, "overflow-hidden" clips
# and "post-text-hidden" is a paywalled article's second half.
_WHOLE_TOKENS = frozenset(
    ["hidden", "is-hidden", "hide", "print", "print-only", "overlay", "visually-hidden"]
)
_WORD_SPLIT = re.compile(r"[-_]+|(?<=[a-z])(?=[A-Z])")
_GOOD = re.compile(
    r"article|content|story|entry|post-?body|main|text|body|prose|rich-?text",
    re.IGNORECASE,
)
# Containers that mark the article itself; an element holding one is never chrome.
_GOOD_DESC = (
    '[itemprop="articleBody"], [class*="article-body"], [class*="articleBody"], '
    '[class*="article-content"], [class*="entry-content"], [class*="post-body"], '
    '[class*="post-content"], [class*="story-body"], [class*="story-content"], '
    '[class*="article__body"], [class*="article-text"], [class*="ArticleBody"]'
)
# Inline elements are never judged by class: removing one would only punch a hole into a
# sentence (a "share" link inside a paragraph is not the paragraph).
_CANDIDATES = (
    ":is([class], [id], [role], [hidden], [aria-hidden], [style*='display'])"
    ":not(a, span, img, i, b, em, strong, picture, source, abbr, time, sup, sub, small, u, "
    "font, code, br, hr, html, body, main, article)"
)
_CHROME_ROLES = frozenset(
    [
        "navigation",
        "complementary",
        "banner",
        "contentinfo",
        "dialog",
        "alertdialog",
        "alert",
        "menu",
        "menubar",
        "search",
        "toolbar",
        "tablist",
    ]
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_PROTECTED_TAGS = {"html", "body", "main", "article"}


_BLOCKS = (
    "p, pre, h2, h3, h4, h5, h6, blockquote:not(:has(p)), li:not(:has(p, li, div)), "
    "dd, td:not(:has(p, td, div, table)), "
    "div:not(:has(div, p, table, ul, ol, pre, blockquote, h1, h2, h3, h4, h5, h6, section, "
    "article, li, dl))"
)
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SENTENCE_END = re.compile(r"[.!?。！？؟।](?:\s|$)")
_PUNCT = re.compile(r"[.,;:!?。，；！？、]")
_CAPTION_SEL = "figcaption, [class*='caption'], [class*='Caption']"


def _punct(text: str) -> int:
    return (
        text.count(",") + text.count(".") + text.count("，") + text.count("。") + text.count("、")
    )


def _class_id(node) -> str:
    a = node.attributes
    return f"{a.get('class') or ''} {a.get('id') or ''}"


_TOKEN_CACHE: dict[str, int] = {}
_NEUTRAL, _GOOD_TOKEN, _SOFT, _VETO, _HIDDEN = 0, 1, 2, 3, 4


def _token_kind(tok: str) -> int:
    """Classify one class/id token; memoized because templates repeat their classes."""
    kind = _TOKEN_CACHE.get(tok)
    if kind is None:
        low = tok.lower()
        if ":" in tok or "[" in tok:
            kind = _NEUTRAL  # utility-CSS variants ("md:hidden", "w-[300px]") say nothing
        elif _STRONG_BAD.search(tok):
            kind = _VETO
        elif (
            low in _WHOLE_TOKENS
            or _SOFT_BAD.search(tok)
            or any(w.lower() in _WEAK_WORDS for w in _WORD_SPLIT.split(tok))
        ):
            kind = _SOFT
        elif _GOOD.search(tok):
            kind = _GOOD_TOKEN
        else:
            kind = _NEUTRAL
        if len(_TOKEN_CACHE) > 100_000:
            _TOKEN_CACHE.clear()
        _TOKEN_CACHE[tok] = kind
    return kind


_CHROME_CACHE: dict[tuple, int] = {}


def _chrome_kind(node) -> int:
    """How sure it is that an element is chrome, judged per class/id token, role and
    visibility: _VETO (a strong word), _SOFT (a word templates also use on content),
    _HIDDEN (hidden by attribute or style) or _NEUTRAL.

    A token that marks article content wins over a chrome token on the same element
    ("entry-content entry-content-read-more").
    """
    attrs = node.attributes
    key = (
        attrs.get("class"),
        attrs.get("id"),
        attrs.get("role"),
        attrs.get("style"),
        "hidden" in attrs or attrs.get("aria-hidden") == "true",
    )
    verdict = _CHROME_CACHE.get(key)
    if verdict is None:
        verdict = _judge(*key)
        if len(_CHROME_CACHE) > 100_000:
            _CHROME_CACHE.clear()
        _CHROME_CACHE[key] = verdict
    return verdict


def _judge(
    cls: str | None, id_: str | None, role: str | None, style: str | None, hidden: bool
) -> int:
    worst = _NEUTRAL
    good = False
    for value in (cls, id_):
        if value:
            for tok in value.split():
                k = _token_kind(tok)
                if k == _GOOD_TOKEN:
                    good = True
                elif k > worst:
                    worst = k
    if good:
        return _NEUTRAL
    if hidden or (style and _HIDDEN_STYLE.search(style)):
        return _HIDDEN
    if role and role.lower() in _CHROME_ROLES:
        return max(worst, _SOFT)
    return worst


# An element marked only by soft words stays when it holds this much of the page's prose
# (characters outside links, in paragraphs of 60+ characters) and this share of it; a
# hidden element only when it holds most of it (a second, hidden copy of the text must go).
_KEEP_PROSE = 400
_KEEP_SHARE = 0.3
_KEEP_HIDDEN_SHARE = 0.6


def _prose(body) -> dict[int, int]:
    """Characters of running text (in <p>s of 60+ characters, outside links) held by each
    element: what a chrome box (menus, teaser links, share bars, captions) hardly has and an
    article always has. One walk up from each paragraph instead of a query per element."""
    out: dict[int, int] = {}
    top = body.mem_id
    for p in body.css("p"):
        text = p.text(deep=True) or ""
        n = len(text.strip())
        if n < 60:
            continue
        if p.css_first("a") is not None:
            n -= _link_len(p)
            if n < 30:
                continue
        node = p
        while node is not None:
            key = node.mem_id
            out[key] = out.get(key, 0) + n
            if key == top:
                break
            node = node.parent
    return out


def _remove_chrome(tree: LexborHTMLParser, body, by_class: bool = True) -> None:
    tree.strip_tags(_CHROME_TAGS)
    # Forms wrap whole pages on ASP.NET sites: remove only the small ones.
    for node in reversed(body.css("form, header")):
        if (
            len(node.text(deep=True) or "") < 400
            or node.tag == "header"
            and not node.css_first("p")
        ):
            node.decompose()
    if not by_class:
        return
    # Elements holding a marked article container are never chrome (Blogger wraps whole
    # posts in class="widget"); one pass collects them instead of a query per candidate.
    protected: set[int] = set()
    for good in body.css(_GOOD_DESC):
        node = good.parent
        while node is not None:
            key = node.mem_id
            if key in protected:
                break
            protected.add(key)
            node = node.parent
    prose = _prose(body)
    total = prose.get(body.mem_id, 0)
    # Judged before anything goes: boxes of one build (the same class) are judged together,
    # since an article is often cut into several of them by ads and embeds.
    doomed = []
    group_mass: dict[tuple, int] = {}
    for node in body.css(_CANDIDATES):
        kind = _chrome_kind(node)
        if kind == _NEUTRAL or node.mem_id in protected:
            continue
        mass = 0
        if kind != _VETO and total:
            mass = prose.get(node.mem_id, 0)
            group = (kind, node.attributes.get("class"))
            group_mass[group] = group_mass.get(group, 0) + mass
        doomed.append((node, kind, mass))
    # Reverse document order: children go before their ancestors, never after them.
    for node, kind, mass in reversed(doomed):
        if kind != _VETO and mass:
            held = group_mass[(kind, node.attributes.get("class"))]
            if (
                kind == _SOFT
                and held >= _KEEP_PROSE
                and held >= _KEEP_SHARE * total
                or kind == _HIDDEN
                and mass >= _KEEP_HIDDEN_SHARE * total
            ):
                continue
        node.decompose()


_INLINE = frozenset(
    [
        "-text",
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "data",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "kbd",
        "mark",
        "nobr",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
    ]
)
_BR_CONTAINERS = (
    "div:has(> br), td:has(> br), section:has(> br), article:has(> br), main:has(> br), "
    "center:has(> br), dd:has(> br)"
)


def _paragraphize(tree: LexborHTMLParser, body) -> None:
    """Turn br-separated text runs that sit directly in a container into <p> elements.

    Old templates (and many blogs) write paragraphs as text + <br><br> inside one div
    that also holds images, ads and embeds; without this the text would belong to no
    paragraph block and could not be scored or kept.
    """
    for cont in body.css(_BR_CONTAINERS):
        run: list = []
        ch = cont.first_child
        while True:
            nxt = ch.next if ch is not None else None
            tag = ch.tag if ch is not None else None
            if ch is not None and (tag in _INLINE or ch.is_comment_node):
                run.append(ch)
            else:
                if run:
                    _flush_run(tree, cont, run, ch)
                    run = []
                if ch is None:
                    break
                if tag == "br":
                    ch.decompose()
            ch = nxt


def _flush_run(tree: LexborHTMLParser, cont, run: list, before) -> None:
    parts = []
    link = 0
    for n in run:
        if n.is_comment_node:
            continue
        if n.tag == "-text":
            parts.append(n.text_content or "")
        else:
            t = n.text(deep=True) or ""
            parts.append(t)
            if n.tag == "a":
                link += len(t.strip())
            elif t.strip():
                link += sum(len((a.text(deep=True) or "").strip()) for a in n.css("a"))
    text = _clean("".join(parts))
    if not text:
        return
    p = tree.create_node("p")
    if link >= len(text) * 0.9:
        a = tree.create_node("a")
        a.insert_child(text)
        p.insert_child(a)
    else:
        p.insert_child(text)
    if before is not None:
        before.insert_before(p)
    else:
        cont.insert_child(p)
    for n in run:
        n.decompose()


def _node_key(node) -> int:
    return node.mem_id


def _text_of(node) -> str:
    return _clean(node.text(deep=True, separator="", strip=False))


def _link_len(node) -> int:
    return sum(len(_clean(a.text(deep=True))) for a in node.css("a"))


@dataclass
class _Block:
    node: object
    text: str
    tag: str


def _split_br(text: str) -> list[str]:
    return [p for p in (_clean(x) for x in text.split(_BR)) if p]


def _dom_body(
    tree: LexborHTMLParser,
    page: ExtractedPage,
    by_class: bool = True,
    heads: set[str] | None = None,
    dates: _DateContext | None = None,
) -> list[str]:
    body = tree.body
    if body is None:
        return []
    titled = _titled_article(body, page.title)
    _remove_chrome(tree, body, by_class)
    _paragraphize(tree, body)
    # Mark <br> so that line structure survives text(): a paragraph separator the
    # whitespace collapse leaves alone.
    for br in body.css("br"):
        br.replace_with(_BR)
    blocks: list[_Block] = []
    scores: dict[int, float] = {}
    deep: dict[int, float] = {}
    prose: set[int] = set()
    nodes: dict[int, object] = {}
    body_id = body.mem_id
    for node in body.css(_BLOCKS):
        raw = node.text(deep=True, separator="", strip=False)
        text = _clean(raw.replace(_BR, " "))
        if not text:
            continue
        tag = node.tag
        blocks.append(_Block(node, raw, tag))
        n = len(text)
        if n < 25 or tag in _HEADINGS:
            continue
        score = 1.0 + _punct(text) + min(n / 100.0, 3.0)
        parent = node.parent
        level = 0
        while parent is not None and level < 3:
            key = parent.mem_id
            if key == body_id:
                break  # the whole page is never the article's container
            nodes[key] = parent
            scores[key] = scores.get(key, 0.0) + score / (1 + level)
            parent = parent.parent
            level += 1
        # Undecayed sums over every ancestor: what a sibling box holds, for merging.
        is_prose = n >= 80 and _SENTENCE_END.search(text) is not None
        anc = node
        while anc is not None:
            key = anc.mem_id
            if key == body_id:
                break
            deep[key] = deep.get(key, 0.0) + score
            if is_prose:
                prose.add(key)
            anc = anc.parent
    if not scores:
        return [p for b in blocks for p in _split_br(b.text)]
    # Link density penalty for the strongest few candidates only.
    top = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:6]
    adjusted: list[tuple[float, int]] = []
    for key, score in top:
        node = nodes[key]
        text_len = len(_text_of(node)) or 1
        ld = min(_link_len(node) / text_len, 1.0)
        adj = score * (1.0 - ld)
        if _GOOD.search(_class_id(node)):
            adj *= 1.1
        adjusted.append((adj, key))
    adjusted.sort(reverse=True)
    best_score, best_key = adjusted[0]
    best_key = _in_titled_story(titled, nodes[best_key], scores, nodes) or best_key
    best = _widen(
        nodes[best_key], [nodes[k] for a, k in adjusted[1:] if a >= _ALT_SHARE * best_score]
    )
    containers = _merge_siblings(best, deep, prose)
    return _collect(blocks, containers, page, heads, dates)


_MERGE_LEVELS = 6
_MERGE_MIN = 3.0
# Shares of the best container's score a sibling box needs: (same build, other build)
# before it, where ledes and earlier sections sit, and after it, where comment rules,
# "about us" boxes and teasers sit as well as the later sections.
_MERGE_BEFORE = (0.0, 0.1)
_MERGE_AFTER = (0.25, 0.5)
_MERGE_LINK_DENSITY = 0.35
_NEVER_MERGED = frozenset(["article", "header", "footer", "aside", "nav", "figure", "form", "h1"])


def _merge_siblings(best, deep: dict[int, float], prose: set[int]) -> list:
    """The best container plus the boxes around it that carry article text too.

    Templates split one article over sibling containers (a lede beside the body div, a
    metered second half in its own wrapper, sections in separate modules a few levels
    up). Walking up from the best container, each level's other children join when they
    hold prose (a paragraph of sentences), few links and a share of the best container's
    score that depends on whether they are built like the box on the path (same tag and
    class: the next section) and whether they come before or after it. A
    neighbouring article (an <article>, a box with its own <h1>) never joins, and the walk
    stops at the story's <article>. Headings directly before a joined box join with it.
    """
    containers = [best]
    base = deep.get(best.mem_id, 0.0)
    cur = best
    for _ in range(_MERGE_LEVELS):
        parent = cur.parent
        if parent is None or parent.tag in ("body", "html"):
            break
        signature = (cur.tag, cur.attributes.get("class"))
        before = True
        sib = parent.child
        pending_heading = None
        while sib is not None:
            tag = sib.tag
            if sib.mem_id == cur.mem_id:
                if pending_heading is not None:
                    containers.append(pending_heading)
                pending_heading = None
                before = False
            elif tag in _HEADINGS and tag != "h1":
                pending_heading = sib
            elif (
                tag not in _NEVER_MERGED
                and (score := deep.get(sib.mem_id, 0.0)) >= _MERGE_MIN
                and sib.mem_id in prose
            ):
                same = (tag, sib.attributes.get("class")) == signature
                need = (_MERGE_BEFORE if before else _MERGE_AFTER)[0 if same else 1] * base
                if score >= need and _is_content_box(sib):
                    if pending_heading is not None:
                        containers.append(pending_heading)
                    containers.append(sib)
                pending_heading = None
            elif tag != "-text" or (sib.text_content or "").strip():
                pending_heading = None
            sib = sib.next
        # Paragraphs that sit loose beside the container (the first ones before a "read
        # all" box) count together: one by one each is too small to join.
        for step, share in ((-1, _MERGE_BEFORE[1]), (1, _MERGE_AFTER[0])):
            containers.extend(_adjacent_run(cur, step, deep, prose, share * base))
        cur = parent
        if cur.tag == "article":
            break  # an <article> is one story: what lies outside it is another
    seen: set[int] = set()
    return [c for c in containers if not (c.mem_id in seen or seen.add(c.mem_id))]


_RUN_LABEL = 40  # text this short between paragraphs (an ad label) does not end a run


def _adjacent_run(cur, step: int, deep: dict[int, float], prose: set[int], need: float) -> list:
    """The siblings right before (step -1) or after (+1) `cur` that are paragraphs or
    headings, up to the first box that is something else; all of them when together they
    hold prose worth `need`."""
    run: list = []
    total = 0.0
    has_prose = False
    sib = cur.prev if step < 0 else cur.next
    while sib is not None:
        tag = sib.tag
        if tag == "-text":
            if (sib.text_content or "").strip():
                break
        elif tag == "-comment":
            pass
        elif tag in _HEADINGS:
            if tag == "h1":
                break
            run.append(sib)
        elif tag in _NEVER_MERGED:
            break
        elif (score := deep.get(sib.mem_id, 0.0)) > 0:
            if not _is_content_box(sib):
                break
            run.append(sib)
            total += score
            has_prose = has_prose or sib.mem_id in prose
        elif len(_text_of(sib)) > _RUN_LABEL:
            break
        sib = sib.prev if step < 0 else sib.next
    if step > 0:
        while run and run[-1].tag in _HEADINGS:
            run.pop()  # a heading with nothing after it belongs to what follows
    return run if has_prose and total >= need else []


def _is_content_box(node) -> bool:
    """Prose with few links, and not a list of other stories: those have headlines that
    are links (an article's subheadings are not), or an <h1>/<article> of their own."""
    if node.tag == "p":
        return _link_len(node) < _MERGE_LINK_DENSITY * (len(_text_of(node)) or 1)
    if node.css_first("h1, article") is not None:
        return False
    heads = node.css("h2, h3, h4")
    if len(heads) >= 2 and sum(h.css_first("a") is not None for h in heads) * 2 >= len(heads):
        return False
    text_len = len(_text_of(node)) or 1
    return _link_len(node) / text_len < _MERGE_LINK_DENSITY


def _ancestors(node, limit: int = 60) -> list[int]:
    out = []
    node = node.parent
    while node is not None and len(out) < limit:
        out.append(node.mem_id)
        node = node.parent
    return out


def _widen(best, alts: list):
    """When other strong candidates sit near the best one (an article split into chunks by
    ads or widgets), take their nearest common ancestor, a few levels up at most; never
    towards another story (a list of teasers, another <article>)."""
    if not alts:
        return best
    chain = _ancestors(best, _WIDEN_LEVELS)
    chain_set = set(chain)
    best_id = best.mem_id
    story = _story_of(best)
    lowest = None
    for alt in alts:
        alt_chain = _ancestors(alt)
        if alt.mem_id in chain_set or best_id in alt_chain:
            continue  # ancestor or descendant of best: same candidate
        if _story_of(alt) != story or not _is_content_box(alt):
            continue
        common = next((i for i, a in enumerate(chain) if a in set(alt_chain)), None)
        if common is not None and (lowest is None or common > lowest):
            lowest = common
    if lowest is None:
        return best
    node = best
    for _ in range(lowest + 1):
        node = node.parent
    return node if node is not None and node.tag not in ("html", "body") else best


def _titled_article(body, title: str | None) -> int | None:
    """On a page with several <article>s (the next story follows the first), the id of
    the one headed by the page's title; looked up before chrome removal, which often takes
    the headline's header with it."""
    if not title:
        return None
    arts = body.css("article")
    if len(arts) < 2:
        return None
    want = light_fold(title)
    for head in body.css("article h1, article h2"):
        text = light_fold(head.text(deep=True) or "")
        if text and (text == want or (len(text) > 20 and text in want)):
            art = head.parent
            while art is not None and art.tag != "article":
                art = art.parent
            return art.mem_id if art is not None else None
    return None


def _in_titled_story(
    titled: int | None, best, scores: dict[int, float], nodes: dict[int, object]
) -> int | None:
    """The best candidate inside the titled <article> when the best of the page lies in
    another one (a longer next story); None to keep the choice."""
    story = _story_of(best)
    if titled is None or story is None or story == titled:
        return None
    inside = [(sc, key) for key, sc in scores.items() if _story_of(nodes[key]) == titled]
    return max(inside)[1] if inside else None


def _story_of(node) -> int | None:
    """The nearest <article> holding the node (itself included), by id; None outside."""
    while node is not None:
        if node.tag == "article":
            return node.mem_id
        node = node.parent
    return None


_HEADER_BLOCKS = 12
_BYLINE_LINE = re.compile(r"^(?:By|BY|Par|PAR|Von|VON|Por|POR|作者|记者)[\s:：]+(\S.{0,80})$")


def _header_metadata(
    header: list[_Block], page: ExtractedPage, dates: _DateContext | None = None
) -> None:
    """Visible date and byline lines just above the article container: templates often
    print them outside the body element, where the container choice leaves them."""
    for b in header:
        if page.published is not None and page.byline is not None:
            return
        text = _clean(b.text.replace(_BR, " "))
        if len(text) > 160:
            continue
        found = None
        if page.published is None:
            found = dates.line(text) if dates is not None else parse_date_line(text)
        if found:
            page.published, page.updated = found[0], page.updated or found[1]
        elif page.byline is None and (m := _BYLINE_LINE.match(text)):
            page.byline = text
            page.authors = page.authors or [m.group(1).strip()]


def _collect(
    blocks: list[_Block],
    containers: list,
    page: ExtractedPage,
    heads: set[str] | None = None,
    dates: _DateContext | None = None,
) -> list[str]:
    """The blocks inside the containers in page order; `heads` gets the headings' texts."""
    index = {b.node.mem_id: i for i, b in enumerate(blocks)}
    chosen: set[int] = set()
    for c in containers:
        if c.mem_id in index:
            chosen.add(index[c.mem_id])
        for n in c.css(_BLOCKS):
            i = index.get(n.mem_id)
            if i is not None:
                chosen.add(i)
    title_c = _title_key(page.title) if page.title else None
    order = sorted(chosen)
    if order:
        _header_metadata(blocks[max(0, order[0] - _HEADER_BLOCKS) : order[0]], page, dates)
    out: list[str] = []
    for i in order:
        b = blocks[i]
        text = _clean(b.text.replace(_BR, " "))
        if b.tag in _HEADINGS and title_c and _title_key(text) == title_c:
            continue
        if b.tag in ("li", "td", "dd"):
            ll = _link_len(b.node)
            if ll and ll >= 0.5 * len(text):
                continue
        elif (
            len(text) < 200
            and b.tag not in _HEADINGS
            and b.node.css_first("a") is not None
            and _link_len(b.node) >= 0.95 * len(text)
        ):
            continue
        lines = _split_br(b.text)
        if _in_link(b.node):
            # A block inside a link (a teaser card's headline: "Les også <headline>").
            if len(text) < _LINK_LINE_CHARS:
                page.link_lines.extend(lines)
        elif b.node.css_first("a") is None:
            if heads is not None and (b.tag in _HEADINGS or _is_bold_line(b.node)):
                heads.add(text)
        else:
            ll = _link_len(b.node)
            if (
                len(text) < _LINK_LINE_CHARS
                and b.tag not in _HEADINGS
                and ll >= 0.5 * len(text)
                and _ends_with_link(b.node, text)
            ):
                page.link_lines.extend(lines)
            elif (
                heads is not None
                and (b.tag in _HEADINGS or _is_bold_line(b.node))
                and (ll < 0.5 * len(text))
            ):
                heads.add(text)
        out.extend(lines)
    return out


_LINK_LINE_CHARS = 300


def _in_link(node) -> bool:
    anc = node.parent
    for _ in range(4):
        if anc is None or anc.tag in ("body", "article", "main"):
            return False
        if anc.tag == "a" and (anc.attributes.get("href") or "#")[:1] != "#":
            return True
        anc = anc.parent
    return False


def _ends_with_link(node, text: str) -> bool:
    """A short label and then a link to the end: "Read also: <headline>" in any language."""
    links = node.css("a")
    if not links or (links[-1].attributes.get("href") or "").startswith("#"):
        return False  # no link, or one to a place on this page
    last = _clean(links[-1].text(deep=True))
    return len(last) >= 15 and text.endswith(last) and 0 < len(text) - len(last) <= 60


def _is_bold_line(node) -> bool:
    """A paragraph that is one <strong>/<b>: how many templates write a subheading."""
    child = node.child
    while child is not None and child.tag == "-text" and not (child.text_content or "").strip():
        child = child.next
    if child is None or child.tag not in ("strong", "b"):
        return False
    rest = child.next
    while rest is not None and rest.tag == "-text" and not (rest.text_content or "").strip():
        rest = rest.next
    return rest is None


def _captions(tree: LexborHTMLParser) -> list[str]:
    out: list[str] = []
    for node in tree.css(_CAPTION_SEL)[:50]:
        t = _clean(node.text(deep=True))
        if t and t not in out and len(t) < 1000:
            out.append(t)
    return out


_LIGHT_MAP = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u00a0": " ",
    "\u2026": "...",
    "\u200b": "",
}
_LIGHT_RE = re.compile("[" + "".join(_LIGHT_MAP) + "]")


def light_fold(text: str) -> str:
    """Quotes, dashes, case and spacing folded: what differs between two renderings of one
    line on one page. Much cheaper than store's canonical() (no NFKC pass)."""
    if not text.isascii():
        text = _LIGHT_RE.sub(lambda m: _LIGHT_MAP[m.group()], text)
    return " ".join(text.casefold().split())


_light_fold = light_fold


def _title_key(text: str) -> str:
    """A headline compared with the title: typography, width forms, case and spacing
    folded (store's canonical() would do, but importing store costs half a second)."""
    return light_fold(unicodedata.normalize("NFKC", text))


_MARKUP = re.compile(
    r"<(?:p|div|br|h[1-6]|ul|ol|li|span|figure|img|blockquote|strong|em|a)\b", re.IGNORECASE
)
_DIRECTIVE = re.compile(r"^(?:\+{3}[\w-]*|\[#\w+:[^\]]*\]|\{:[^}]*\})$")
_FINAL = ".!?。！？؟।\"'”»)’"


def _jsonld_paragraphs(article: dict | None) -> list[str] | None:
    """JSON-LD articleBody as paragraphs: plain text split at line breaks, or, when it
    carries HTML (escaped or not), that HTML's blocks."""
    if not article:
        return None
    body = article.get("articleBody")
    if not isinstance(body, str) or len(body) < 200:
        return None
    body = html_lib.unescape(body).strip()
    if _MARKUP.search(body):
        paras = _markup_paragraphs(body)
    else:
        paras = [p for p in (_clean(x) for x in re.split(r"\n\s*\n|\r\n|\n", body)) if p]
    # Editor directives some CMSs leave in articleBody ("+++dropcap", "[#image: …]").
    paras = [p for p in paras if not _DIRECTIVE.match(p)]
    return paras or None


def _once(paras: list[str], page_fold) -> list[str]:
    """articleBody stored twice over (the same paragraphs or words repeated), taken once
    unless the page itself shows the text twice in a row."""
    n = len(paras)
    if n >= 2 and n % 2 == 0 and paras[: n // 2] == paras[n // 2 :]:
        half = paras[: n // 2]
    elif n == 1 and (words := paras[0].split()) and len(words) >= 40:
        k = len(words) // 2
        if words[:k] != words[k : 2 * k]:
            return paras
        half = [" ".join(words[:k])]
    else:
        return paras
    words = _light_fold(" ".join(half)).split()
    seam = " ".join(words[-6:] + words[:6])
    return paras if seam in page_fold() else half


def _markup_paragraphs(markup: str) -> list[str]:
    if "<p" not in markup.lower():
        markup = re.sub(r"\r?\n\s*\n", "<br><br>", markup)  # paragraphs as blank lines
    tree = LexborHTMLParser(f"<html><body><div>{markup}</div></body></html>")
    body = tree.body
    if body is None:
        return []
    tree.strip_tags([*_CHROME_TAGS, "figure", "figcaption"])
    _paragraphize(tree, body)
    for br in body.css("br"):
        br.replace_with(_BR)
    out = [
        p
        for node in body.css(_BLOCKS)
        for p in _split_br(node.text(deep=True, separator="", strip=False))
    ]
    return out or [p for p in (_clean(x) for x in (body.text(deep=True) or "").split("\n")) if p]


def _probes(words: list[str]) -> list[str]:
    return [" ".join(words[i : i + 6]) for i in range(0, len(words) - 6, max(1, len(words) // 20))]


def _share_found(words: list[str], hay: str) -> float:
    probes = _probes(words)
    return sum(1 for p in probes if p in hay) / len(probes) if probes else 0.0


_TEASER_CHARS = 1000
_PART_SHARE = 0.6
_IN_DOM = 0.9  # articleBody's share the DOM's blocks must hold to be preferred over it


def _is_teaser(paras: list[str]) -> bool:
    """A summary or a cut-off start, not a whole article: an ellipsis at the end, or a
    short text that stops without a sentence's end."""
    last = paras[-1].rstrip()
    if last.endswith(("…", "...", "[…]", "[...]")):
        return True
    return last[-1:] not in _FINAL and sum(map(len, paras)) < _TEASER_CHARS


def _choose_body(
    jsonld: list[str] | None, dom: list[str], page_text: str, heads: set[str]
) -> tuple[list[str], str]:
    """JSON-LD's articleBody or the DOM's blocks, and which it was.

    articleBody is used only when the page agrees it is the article: its text is on the
    page and it is whole (not a teaser cut mid-sentence). When the DOM's chosen blocks
    hold it too, the DOM's blocks are kept (they have the subheadings and paragraph
    breaks); where those blocks have much more than articleBody, only the blocks that are
    in it and the subheadings between them stay. articleBody wins only where the DOM's
    choice missed it, which is where templates go wrong, not the metadata.
    """
    if not jsonld:
        return dom, "dom"
    folded: list[str] = []

    def page_fold() -> str:  # the whole page folded: only on the rarer paths
        if not folded:
            folded.append(_light_fold(page_text))
        return folded[0]

    jsonld = _once(jsonld, page_fold)
    jf = _light_fold(" ".join(jsonld))
    words = jf.split()
    if len(words) < 40:
        return dom, "dom"
    df = _light_fold(" ".join(dom))
    in_dom = _share_found(words, df) >= _IN_DOM
    if not in_dom and _share_found(words, page_fold()) < 0.6:
        return dom, "dom"  # not on the page
    if in_dom:
        if _is_teaser(jsonld) or len(jf) < _PART_SHARE * len(df):
            return dom, "dom"  # a teaser or the opening only: the DOM has the article
        kept = _within(dom, jf, heads)
        # articleBody's opening paragraphs that the DOM's container lacks: the lede.
        kf = _light_fold(" ".join(kept))
        lead = []
        for p in jsonld:
            if _light_fold(p) in kf:
                break
            lead.append(p)
        return (lead + kept if len(lead) < len(jsonld) else kept), "jsonld"
    if _is_teaser(jsonld):
        return dom, "dom"
    return jsonld, "jsonld"


def _within(dom: list[str], jf: str, heads: set[str]) -> list[str]:
    """The DOM's blocks that articleBody has, and the subheadings between them (which
    articleBody drops); what the DOM's container has beyond it (teasers, notes, captions)
    goes."""
    keep = []
    for p in dom:
        f = _light_fold(p)
        words = f.split()
        if f in jf or (len(words) >= 12 and _share_found(words, jf) >= 0.5):
            keep.append(True)
        else:
            keep.append(False)
    if not any(keep):
        return dom
    first = keep.index(True)
    last = len(keep) - 1 - keep[::-1].index(True)
    return [
        p
        for i, p in enumerate(dom)
        if keep[i] or (first < i < last and p in heads and _is_subheading(p))
    ]


def _is_subheading(text: str) -> bool:
    return len(text) < 120 and text[-1:] not in ".,;:!?"


_LEDE_MIN = 40
_ELLIPSIS = ("...", "…", "[…]", "[...]")
_NEEDLE_BAD = re.compile(r'["\\]')
# Where standfirsts are printed; testing only these (not every element) keeps the search
# a quarter of the cost.
_LEDE_TAGS = "p, h2, h3, h4, div, span, strong, b"


def _find_lede(body, descriptions: list[str], title: str | None) -> str | None:
    """The standfirst: the block on the page that says what the page's description says.

    The lede is the part of an article templates most often print apart from the body
    (in the header box, beside the headline), so container choice misses it; the meta or
    JSON-LD description is nearly always that same text (or its truncation), which finds
    it in any language. lexbor's :lexbor-contains looks for the description's opening words
    in C; the nearest block around a hit must then carry the description as a whole.
    """
    if body is None:
        return None
    title_f = _light_fold(title) if title else ""
    for desc in descriptions:
        if len(desc) < _LEDE_MIN:
            continue
        words = desc.split()
        needle = ""
        for w in words[:8]:
            if len(needle) + len(w) > 40:
                break
            needle = f"{needle} {w}" if needle else w
        if len(needle) < 12 or _NEEDLE_BAD.search(needle):
            continue
        want = _light_fold(desc)
        cut = want
        for e in _ELLIPSIS:
            cut = cut.removesuffix(e)
        cut = cut.rstrip()
        truncated = len(cut) < len(want)
        for hit in body.css(f':is({_LEDE_TAGS}):lexbor-contains("{needle}" i)')[:5]:
            node = hit
            while node is not None and node.tag in _INLINE:
                node = node.parent
            if node is None or node.tag in ("script", "style", "body", "html", "template"):
                continue
            if _inside(node, ("footer", "nav", "aside", "form")):
                continue  # a site-wide description repeated in the footer is no standfirst
            text = _clean(node.text(deep=True))
            got = _light_fold(text)
            if not got or got == title_f:
                continue
            if (
                got == want
                or (truncated and got.startswith(cut))
                or (want in got and len(want) >= 0.6 * len(got))
                or (got in want and len(got) >= 0.6 * len(want))
            ):
                return text
    return _marked_lede(body, title)


# Class words CMSs give the standfirst (English names are the rule even on other languages'
# sites; a few local ones: sapo/chapo (fr), bajada/entradilla (es), vorspann (de)...).
_LEDE_WORDS = frozenset(
    [
        "subtitle",
        "standfirst",
        "lede",
        "lead",
        "leadtext",
        "intro",
        "excerpt",
        "dek",
        "deck",
        "sapo",
        "chapo",
        "bajada",
        "entradilla",
        "vorspann",
        "einleitung",
        "ingress",
        "ingres",
        "perex",
        "spot",
        "abstract",
        "subheadline",
    ]
)
_LEDE_BOXES = (
    "[class*='sub' i], [class*='standfirst' i], [class*='lede' i], [class*='lead' i], "
    "[class*='intro' i], [class*='excerpt' i], [class*='dek' i], [class*='sapo' i], "
    "[class*='chapo' i], [class*='bajada' i], [class*='entradilla' i], [class*='vorspann' i], "
    "[class*='einleitung' i], [class*='ingres' i], [class*='perex' i], [class*='spot' i], "
    "[class*='abstract' i], [class*='deck' i]"
)
_LEDE_LINES = 6


def _marked_lede(body, title: str | None) -> str | None:
    """A standfirst the description does not match: the block right after the headline
    (among its next few lines) whose class says it is one (p.article-subtitle,
    div.vorspann...), prose and not a link."""
    head = _headline(body, title)
    if head is None:
        return None
    after, _ = _headline_lines(body, title, head)
    following = "\n".join(after[:_LEDE_LINES])
    if not following:
        return None
    chain, story = _near_chain(head), _story_of(head)
    title_f = _light_fold(title) if title else ""
    for node in body.css(_LEDE_BOXES)[:40]:
        tokens = [
            w.lower()
            for t in (node.attributes.get("class") or "").split()
            for w in _WORD_SPLIT.split(t)
        ]
        if not _LEDE_WORDS.intersection(tokens) or node.tag in ("a", "img", "ul", "ol"):
            continue
        if not _near(node, chain) or _story_of(node) != story or _in_caption(node):
            continue
        text = _clean(node.text(deep=True))
        if not 40 <= len(text) <= 600 or _light_fold(text) == title_f:
            continue
        if _link_len(node) > 0.3 * len(text) or _in_link(node):
            continue
        if node.css_first("script, style") is not None or text[:40] not in following:
            continue
        return text
    return None


def _inside(node, tags: tuple[str, ...]) -> bool:
    anc = node.parent
    while anc is not None:
        if anc.tag in tags:
            return True
        anc = anc.parent
    return False


def extract_html(
    html: bytes | str,
    url: str | None = None,
    *,
    encoding: str | None = None,
    fetched: datetime | None = None,
) -> ExtractedPage:
    """Extract metadata and body paragraphs from one HTML page. Never raises.

    `fetched` is when the page was fetched (default: now): no date after it is taken as
    the publication date."""
    page = ExtractedPage(url=url)
    try:
        _extract_into(page, html, encoding, fetched)
    except Exception as exc:  # noqa: BLE001 - a crawler must survive any page
        page.warnings.append(f"extraction failed: {type(exc).__name__}: {exc}")
    return page


def _extract_into(
    page: ExtractedPage, html: bytes | str, encoding: str | None, fetched: datetime | None = None
) -> None:
    if isinstance(html, bytes | bytearray | memoryview):
        data = bytes(html)
        if len(data) > MAX_BYTES:
            page.warnings.append(f"page truncated from {len(data)} to {MAX_BYTES} bytes")
            data = data[:MAX_BYTES]
        text, warns = decode_html(data, encoding)
        page.warnings.extend(warns)
    else:
        text = html
        if len(text) > MAX_BYTES:
            page.warnings.append(f"page truncated from {len(text)} to {MAX_BYTES} characters")
            text = text[:MAX_BYTES]
    if "\x00" in text:
        page.warnings.append("NUL characters removed")
        text = text.replace("\x00", "")
    bad = text.count("\ufffd")
    if bad > 50 and bad > len(text) // 100:
        page.warnings.append("page looks binary or mis-decoded")
    if "<" not in text[:100_000]:
        page.warnings.append("no HTML markup; treated as text")
        tp = extract_text(text, page.url)
        tp.warnings = page.warnings + tp.warnings
        page.__dict__.update(tp.__dict__)
        return
    tree = LexborHTMLParser(text)
    ld = _jsonld_objects(tree, page.warnings)
    info = _collect_metadata(tree, page, ld, text, fetched)
    article, dates = info.article, info.dates
    page.captions = _captions(tree)
    body_node = tree.body
    # Found before the body is cut out: templates print the standfirst in the header box
    # that chrome removal takes away.
    lede = _find_lede(body_node, info.descriptions[:2], page.title)
    jsonld = _jsonld_paragraphs(article)
    page_text = body_node.text(deep=True, separator=" ") if jsonld and body_node else ""
    heads: set[str] = set()
    dom_paras = _dom_body(tree, page, heads=heads, dates=dates)
    if sum(map(len, dom_paras)) < _RETRY_CHARS:
        # Class-based removal can take the article with the chrome on odd templates;
        # like readability, try again without it and keep the longer result.
        retry = _dom_body(LexborHTMLParser(text), page, by_class=False, heads=heads, dates=dates)
        if sum(map(len, retry)) > sum(map(len, dom_paras)):
            dom_paras = retry
    page.paragraphs, page.method = _choose_body(jsonld, dom_paras, page_text, heads)
    if lede and page.paragraphs:
        folded = _light_fold(" ".join(page.paragraphs))
        if _light_fold(lede) not in folded:
            page.paragraphs.insert(0, lede)
    if not page.paragraphs:
        page.warnings.append("no body text found")
    if page.published is None:
        for p in page.paragraphs[:5]:
            r = dates.line(p)
            if r and r[0]:
                page.published, page.updated = r[0], page.updated or r[1]
                break
    if page.published is None:
        u = url_date(page.url) or url_date(page.canonical_url)
        if u is not None and u <= dates.latest:
            page.published = u


# --------------------------------------------------------------------------- plain text


def extract_text(text: str, url: str | None = None) -> ExtractedPage:
    """A plain-text page: every non-empty line is a block; the first short line that is not
    a date line is taken as the title (normalization then drops its repeat)."""
    page = ExtractedPage(url=url, method="text")
    try:
        if len(text) > MAX_BYTES:
            page.warnings.append(f"text truncated from {len(text)} characters")
            text = text[:MAX_BYTES]
        lines = [_clean(x) for x in text.replace("\r", "\n").split("\n")]
        page.paragraphs = [x for x in lines if x]
        for line in page.paragraphs[:5]:
            dates = parse_date_line(line)
            if dates:
                if page.published is None:
                    page.published, page.updated = dates
                continue
            if len(line) < 200 and not line.endswith((".", "。")):
                page.title = line
            break
        if not page.paragraphs:
            page.warnings.append("no body text found")
    except Exception as exc:  # noqa: BLE001
        page.warnings.append(f"extraction failed: {type(exc).__name__}: {exc}")
    return page
