"""Fuzzing the parsers that read what strangers wrote: nothing escapes, nothing hangs.

Generated HTML (deep, unclosed, mis-encoded, mislabelled), feeds and sitemaps (gzip'd,
truncated, full of odd characters) and plain junk bytes go through the discovery parsers,
`extract_html`, `normalize` and `canonicalize_url`. The contract under test: the parsers
raise nothing but their documented `ValueError("not a feed/sitemap…")`, extraction and
normalization raise nothing at all, and every example finishes within a generous
per-example hypothesis deadline (a slow pathological input shows up as a deadline error,
not as a wall-clock total).

`NEWSDEDUP_FUZZ_EXAMPLES=5000` runs the long version (examples per test).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler._urls import canonicalize_url
from crawler.discover._discovery import _page_links, find_feed_links, parse_feed, parse_sitemap
from crawler.extract._html import decode_html, extract_html
from crawler.normalize._boilerplate import load_rules, normalize

pytestmark = pytest.mark.quick

EXAMPLES = int(os.environ.get("NEWSDEDUP_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=10),  # per example: generous on a loaded CI machine
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    database=None,  # no .hypothesis folder left in the working tree
)
RULES = load_rules()
BASE = "http://news.example.org/section/page.html"
COUNTS: dict[str, int] = {}
_PLAIN_HTTP = re.compile(r"https?://[a-z0-9.-]+(:[0-9]+)?/[!-~]*")

# -- strategies ---------------------------------------------------------------------

TAGS = (
    "p",
    "div",
    "article",
    "main",
    "section",
    "span",
    "a",
    "br",
    "h1",
    "h2",
    "script",
    "style",
    "nav",
    "footer",
    "header",
    "figure",
    "figcaption",
    "table",
    "td",
    "li",
    "ul",
    "title",
    "meta",
    "link",
    "base",
    "noscript",
    "template",
    "svg",
    "iframe",
    "blockquote",
    "time",
    "aside",
    "form",
    "select",
    "option",
    "textarea",
    "pre",
    "code",
    "b",
    "i",
)
ATTRS = (
    "class",
    "id",
    "href",
    "rel",
    "type",
    "content",
    "name",
    "property",
    "charset",
    "itemprop",
    "datetime",
    "lang",
    "role",
    "style",
    "hidden",
    "src",
)
NASTY = (
    "&amp;",
    "&#0;",
    "&#xD800;",
    "&#x10FFFF;",
    "&nbsp;",
    "&bogus;",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "\x00",
    "\ufeff",
    "\u202e",
    "\r\n",
    "’",
    "“",
    "—",
    "é",
    "北京",
    "javascript:alert(1)",
    "http://",
    "//",
    "../../",
    "%00",
    "%zz",
    "[::1]",
    "ÿ" * 3,
    '{"@type": "NewsArticle", "articleBody": "x"}',
    "By Staff Reporter",
    "(AP) —",
    "Advertisement",
    "READ MORE:",
    "2026-03-02T08:00:00Z",
    "Photo: Reuters",
)
CODECS = ("utf-8", "cp1252", "gbk", "utf-16", "latin-1", "shift_jis", "koi8-r")
LABELS = (
    None,
    "utf-8",
    "iso-8859-1",
    "gbk",
    "utf-16",
    "x-unknown",
    "",
    "utf-8; garbage",
    "binary",
    "UTF8",
    "windows-1252",
)

words = st.one_of(st.text(max_size=40), st.sampled_from(NASTY))
text_runs = st.lists(words, max_size=6).map(" ".join)
attr = st.tuples(st.sampled_from(ATTRS), st.one_of(text_runs, st.sampled_from(NASTY)))


def _render(tag: str, attrs: list[tuple[str, str]], children: list[str], close: bool) -> str:
    a = "".join(f' {k}="{v}"' if i % 2 == 0 else f" {k}={v}" for i, (k, v) in enumerate(attrs))
    return f"<{tag}{a}>" + "".join(children) + (f"</{tag}>" if close else "")


html_node = st.recursive(
    text_runs,
    lambda kids: st.builds(
        _render,
        st.sampled_from(TAGS),
        st.lists(attr, max_size=3),
        st.lists(kids, max_size=5),
        st.booleans(),
    ),
    max_leaves=40,
)


@st.composite
def html_documents(draw: st.DrawFn) -> tuple[bytes | str, str | None]:
    body = "".join(draw(st.lists(html_node, max_size=8)))
    depth = draw(st.sampled_from((0, 0, 0, 50, 3000)))
    doc = (
        "<!doctype html><html><head><title>"
        + draw(text_runs)
        + "</title></head><body>"
        + "<div>" * depth
        + body
        + "</div>" * draw(st.integers(0, depth))
        + "</body></html>"
    )
    if draw(st.booleans()):
        doc = doc[: draw(st.integers(0, len(doc)))]  # cut anywhere, mid-tag included
    form = draw(st.sampled_from(("str", "bytes", "junk")))
    if form == "str":
        return doc, draw(st.sampled_from(LABELS))
    if form == "junk":
        return draw(st.binary(max_size=4000)) + doc.encode("utf-8", "surrogatepass"), None
    codec = draw(st.sampled_from(CODECS))
    return doc.encode(codec, "replace"), draw(st.sampled_from(LABELS))


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    def field(tag: str) -> str:
        value = draw(st.one_of(text_runs, st.sampled_from(NASTY)))
        return f"<{tag}>{value if draw(st.booleans()) else escape(value)}</{tag}>"

    items = []
    for _ in range(draw(st.integers(0, 5))):
        link = draw(st.one_of(st.just("https://news.example.org/a/1.html"), text_runs))
        items.append(
            "<item>"
            + field("title")
            + f"<link>{escape(link)}</link>"
            + field("pubDate")
            + field("guid")
            + field("description")
            + "</item>"
        )
    kind = draw(st.sampled_from(("rss", "atom", "rdf", "junk")))
    if kind == "rss":
        doc = (
            "<?xml version='1.0'?><rss version='2.0'><channel>"
            + field("title")
            + "".join(items)
            + "</channel></rss>"
        )
    elif kind == "atom":
        entries = "".join(
            f"<entry><title>{escape(draw(text_runs))}</title>"
            f"<link href='{escape(draw(text_runs), {chr(39): '&apos;'})}'/>"
            f"<updated>{escape(draw(text_runs))}</updated></entry>"
            for _ in range(draw(st.integers(0, 4)))
        )
        doc = f"<feed xmlns='http://www.w3.org/2005/Atom'>{entries}</feed>"
    elif kind == "rdf":
        doc = (
            "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
            "xmlns='http://purl.org/rss/1.0/'>" + "".join(items) + "</rdf:RDF>"
        )
    else:
        return draw(st.binary(max_size=3000))
    if draw(st.booleans()):
        doc = doc[: draw(st.integers(0, len(doc)))]
    return doc.encode(draw(st.sampled_from(("utf-8", "utf-16", "latin-1"))), "replace")


@st.composite
def sitemaps(draw: st.DrawFn) -> bytes:
    locs = draw(
        st.lists(
            st.one_of(
                st.just("https://news.example.org/a.html"), text_runs, st.sampled_from(NASTY)
            ),
            max_size=12,
        )
    )
    kind = draw(st.sampled_from(("urlset", "sitemapindex", "news", "text", "junk")))
    if kind == "text":
        doc = "\n".join(locs)
    elif kind == "junk":
        return draw(st.binary(max_size=3000))
    else:
        inner = "url" if kind != "sitemapindex" else "sitemap"
        root = "urlset" if kind != "sitemapindex" else "sitemapindex"
        news = (
            (
                "<news:news><news:publication_date>"
                + escape(draw(text_runs))
                + "</news:publication_date><news:title>"
                + escape(draw(text_runs))
                + "</news:title></news:news>"
            )
            if kind == "news"
            else ""
        )
        entries = "".join(
            f"<{inner}><loc>{escape(u)}</loc><lastmod>{escape(draw(text_runs))}"
            f"</lastmod>{news}</{inner}>"
            for u in locs
        )
        doc = (
            f"<?xml version='1.0'?><{root} xmlns='http://www.sitemaps.org/schemas/sitemap/"
            f"0.9' xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>{entries}"
            f"</{root}>"
        )
    if draw(st.booleans()):
        doc = doc[: draw(st.integers(0, len(doc)))]
    data = doc.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]  # a truncated download
    return data


# -- the harness ---------------------------------------------------------------------------


def fuzz(name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> None:
    seen = 0

    @FUZZ
    @given(strategy)
    def run(value: Any) -> None:
        nonlocal seen
        seen += 1
        check(value)

    run()
    COUNTS[name] = seen
    assert seen >= min(EXAMPLES, 10), f"only {seen} examples ran"


def only_value_errors(parse: Callable[[], Any], prefixes: tuple[str, ...]) -> Any:
    try:
        return parse()
    except ValueError as exc:  # the documented "this is not a feed/sitemap" answer
        assert str(exc).startswith(prefixes), exc
        return None


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.slow
def test_extract_and_normalize_never_raise() -> None:
    def check(doc: tuple[bytes | str, str | None]) -> None:
        html, label = doc
        page = extract_html(html, BASE, encoding=label)
        assert isinstance(page.paragraphs, list)
        assert not any("extraction failed" in w for w in page.warnings), page.warnings
        art = normalize(page, RULES, template_lines={"x" * 16})
        assert isinstance(art.text, str)

    fuzz("extract+normalize", html_documents(), check)


def test_decode_html_never_raises() -> None:
    def check(pair: tuple[bytes, str | None]) -> None:
        text, warns = decode_html(*pair)
        assert isinstance(text, str) and isinstance(warns, list)

    fuzz("decode_html", st.tuples(st.binary(max_size=5000), st.sampled_from(LABELS)), check)


@pytest.mark.slow
def test_link_finders_never_raise() -> None:
    def check(doc: tuple[bytes | str, str | None]) -> None:
        html = doc[0]
        for url in find_feed_links(html, BASE):
            assert url.startswith(("http://", "https://"))
        for url, _text in _page_links(html, BASE):
            assert url.startswith(("http://", "https://"))

    fuzz("find_feed_links+page_links", html_documents(), check)


def test_parse_feed_raises_only_not_a_feed() -> None:
    def check(data: bytes) -> None:
        found = only_value_errors(
            lambda: parse_feed(data, BASE), ("not a feed", "refused:", "malformed feed")
        )
        for item in found or []:
            assert item.url.startswith(("http://", "https://"))

    fuzz("parse_feed", feeds(), check)


def test_parse_sitemap_raises_only_not_a_sitemap() -> None:
    def check(data: bytes) -> None:
        notes: list[str] = []
        got = only_value_errors(
            lambda: parse_sitemap(data, BASE, max_urls=5, notes=notes),
            ("not a sitemap", "refused:"),
        )
        if got is not None:
            urls, children = got
            assert len(urls) <= 5
            assert all(u.url.startswith(("http://", "https://")) for u in urls)
            assert all(c.startswith(("http://", "https://")) for c in children)

    fuzz("parse_sitemap", sitemaps(), check)


@pytest.mark.parametrize("with_base", [False, True])
def test_canonicalize_url_never_raises(with_base: bool) -> None:
    def check(raw: str) -> None:
        out = canonicalize_url(raw, BASE if with_base else None)
        assert isinstance(out, str)
        if _PLAIN_HTTP.fullmatch(out):  # idempotent, where the host is a real host name
            assert canonicalize_url(out) == out

    fuzz(
        f"canonicalize_url(base={with_base})",
        st.one_of(
            text_runs,
            st.builds(lambda a, b: f"http://{a}/{b}", text_runs, text_runs),
            st.sampled_from(NASTY),
        ),
        check,
    )


def test_zz_report_counts() -> None:
    """Runs last in this file: the total, for docs/RELIABILITY.md (visible with -s)."""
    if not COUNTS:
        pytest.skip("run with the other fuzz tests to count")
    print(f"\nfuzz examples run: {sum(COUNTS.values())} " + repr(COUNTS))
    assert all(n > 0 for n in COUNTS.values())
