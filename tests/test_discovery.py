from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

from crawler.discover._discovery import (
    DiscoveryResult,
    discover,
    find_feed_links,
    parse_feed,
    parse_sitemap,
)
from crawler.fetch._fetcher import FetchConfig, Fetcher
from tests.webserver import Reply, ScriptedServer

pytestmark = pytest.mark.quick

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://news.example/</link>
<item><title>Quake hits coast</title><link>/world/quake?utm_source=rss</link>
<pubDate>Tue, 05 Mar 2024 10:30:00 GMT</pubDate></item>
<item><title>Markets rally</title><link>https://news.example/biz/markets</link></item>
<item><title>Dup</title><link>https://news.example/biz/markets#x</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:x</id>
<updated>2024-03-05T12:00:00Z</updated>
<entry><title>Atom story</title><id>urn:1</id>
<link rel="alternate" href="https://atom.example/s/1"/>
<updated>2024-03-04T08:00:00+02:00</updated></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.example/"><title>R</title><link>https://rdf.example/</link>
<items><rdf:Seq><rdf:li rdf:resource="https://rdf.example/a"/></rdf:Seq></items></channel>
<item rdf:about="https://rdf.example/a"><title>RDF item</title><link>https://rdf.example/a</link>
<dc:date>2024-01-02T03:04:05Z</dc:date></item>
</rdf:RDF>"""

EMPTY_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>"""

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
<url><loc>https://sm.example/a</loc><lastmod>2024-02-01</lastmod>
  <image:image><image:loc>https://sm.example/img.jpg</image:loc></image:image></url>
<url><loc>https://sm.example/b?utm_medium=x</loc></url>
</urlset>"""

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://sm.example/news/1</loc>
<news:news><news:publication><news:name>Ex</news:name><news:language>en</news:language>
</news:publication><news:publication_date>2024-03-05T09:15:00+01:00</news:publication_date>
<news:title>Breaking thing</news:title></news:news></url>
</urlset>"""


def index_xml(*children: str) -> bytes:
    body = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    return (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{body}</sitemapindex>"
    ).encode()


def cfg() -> FetchConfig:
    return FetchConfig(
        allow_hosts=["127.0.0.1"],
        per_host_delay=0.0,
        backoff_base=0.01,
        max_retries=1,
        per_host_concurrency=4,
    )


def run_discover(url: str, kind: str, **kw: Any) -> DiscoveryResult:
    async def main() -> DiscoveryResult:
        async with Fetcher(cfg()) as fetcher:
            return await discover(fetcher, url, kind, **kw)

    return asyncio.run(main())


# -- pure parsers ------------------------------------------------------------------------


def test_parse_rss2() -> None:
    items = parse_feed(RSS2, "https://news.example/feed.xml")
    assert [i.url for i in items] == [
        "https://news.example/world/quake",
        "https://news.example/biz/markets",
    ]
    assert items[0].published == datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
    assert items[0].title == "Quake hits coast" and items[1].published is None
    assert {i.kind for i in items} == {"feed"}
    assert items[0].source == "https://news.example/feed.xml"


def test_parse_atom() -> None:
    (item,) = parse_feed(ATOM, "https://atom.example/feed")
    assert item.url == "https://atom.example/s/1" and item.title == "Atom story"
    assert item.published == datetime(2024, 3, 4, 6, 0, tzinfo=UTC)


def test_parse_rdf() -> None:
    (item,) = parse_feed(RDF, "https://rdf.example/rss")
    assert item.url == "https://rdf.example/a"
    assert item.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_parse_feed_empty_vs_not_a_feed() -> None:
    assert parse_feed(EMPTY_RSS, "https://x.example/") == []
    with pytest.raises(ValueError, match="not a feed"):
        parse_feed(b"<html><body>hello</body></html>", "https://x.example/")


def test_parse_feed_refuses_entities() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss version="2.0"/>'
    with pytest.raises(ValueError, match="entities"):
        parse_feed(bomb, "https://x.example/")


def test_parse_sitemap_urlset() -> None:
    urls, children = parse_sitemap(URLSET, "https://sm.example/sitemap.xml")
    assert children == []
    assert [u.url for u in urls] == ["https://sm.example/a", "https://sm.example/b"]
    # <lastmod> says when the page last changed, not when it was published.
    assert urls[0].last_modified == datetime(2024, 2, 1, tzinfo=UTC)
    assert urls[0].published is None
    assert urls[0].kind == "sitemap"


def test_parse_news_sitemap() -> None:
    (item,), _ = parse_sitemap(NEWS, "https://sm.example/news.xml")
    assert item.kind == "news-sitemap" and item.title == "Breaking thing"
    assert item.published == datetime(2024, 3, 5, 8, 15, tzinfo=UTC)


def test_parse_sitemap_index_and_gzip() -> None:
    urls, children = parse_sitemap(
        gzip.compress(index_xml("https://sm.example/a.xml.gz", "/rel.xml")),
        "https://sm.example/index.xml",
    )
    assert urls == []
    assert children == ["https://sm.example/a.xml.gz", "https://sm.example/rel.xml"]


def test_parse_sitemap_refuses_doctype() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://x.example/&lol2;</loc></url></urlset>"
    )
    with pytest.raises(ValueError, match="refused"):
        parse_sitemap(laughs, "https://x.example/s.xml")


def test_parse_sitemap_cap_and_text_and_junk() -> None:
    many = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>https://x.example/{i}</loc></url>" for i in range(100))
        + "</urlset>"
    ).encode()
    notes: list[str] = []
    urls, _ = parse_sitemap(many, "https://x.example/s.xml", max_urls=10, notes=notes)
    assert len(urls) == 10 and any("capped at 10" in n for n in notes)
    text_urls, _ = parse_sitemap(b"https://x.example/a\nnot a url\nhttps://x.example/b\n", "u")
    assert [u.url for u in text_urls] == ["https://x.example/a", "https://x.example/b"]
    with pytest.raises(ValueError, match="not a sitemap"):
        parse_sitemap(b"<html><body/></html>", "https://x.example/s.xml")


def test_find_feed_links() -> None:
    html = """<html><head>
    <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    <link rel="Alternate" type="application/atom+xml; charset=utf-8" href="https://ex.com/atom">
    <link rel="stylesheet" type="text/css" href="/s.css">
    <link rel="alternate" hreflang="de" href="/de/">
    </head><body></body></html>"""
    assert find_feed_links(html, "https://ex.com/news/") == [
        "https://ex.com/rss.xml",
        "https://ex.com/atom",
    ]


# -- discover over HTTP ----------------------------------------------------------------


def test_discover_feed_ok_and_conditional() -> None:
    def feed(req: Any) -> Reply:
        if req.headers.get("if-none-match") == '"f1"':
            return Reply(304, content_type=None)
        return Reply(body=RSS2, content_type="application/rss+xml", headers={"ETag": '"f1"'})

    with ScriptedServer({"/feed": feed}) as srv:
        first = run_discover(srv.url("/feed"), "feed")
        again = run_discover(srv.url("/feed"), "feed", etag=first.etag)
    assert first.error is None and len(first.urls) == 2 and first.etag == '"f1"'
    assert again.not_modified and again.urls == [] and again.error is None
    assert any("304" in n for n in again.notes)


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (Reply(404, body="nope"), "HTTP 404"),
        (Reply(body=EMPTY_RSS, content_type="application/rss+xml"), "feed has 0 entries"),
        (Reply(body="<html><body>hi</body></html>"), "not a feed: text/html"),
        (Reply(body="<oops", content_type="text/xml"), "not a feed"),
    ],
)
def test_discover_feed_failures_say_why(route: Reply, expected: str) -> None:
    with ScriptedServer({"/feed": route}) as srv:
        res = run_discover(srv.url("/feed"), "feed")
    assert res.urls == [] and res.error is not None and res.error.startswith(expected)


def test_discover_feed_given_html_follows_advertised_feed() -> None:
    page = '<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head></html>'
    routes = {"/": Reply(body=page), "/rss": Reply(body=RSS2, content_type="text/xml")}
    with ScriptedServer(routes) as srv:
        res = run_discover(srv.url("/"), "feed")
    assert res.error is None and len(res.urls) == 2
    assert any("advertised feed" in n for n in res.notes)


def test_discover_sitemap_index_gzip_child_and_news() -> None:
    routes: dict[str, Any] = {
        "/robots.txt": Reply(404),
        "/news.xml": Reply(body=NEWS, content_type="application/xml"),
        "/a.xml.gz": Reply(body=gzip.compress(URLSET), content_type="application/x-gzip"),
        "/gone.xml": Reply(404),
    }
    with ScriptedServer(routes) as srv:
        srv.routes["/index.xml"] = Reply(
            body=index_xml(srv.url("/news.xml"), "/a.xml.gz", "/gone.xml"),
            content_type="application/xml",
        )
        res = run_discover(srv.url("/index.xml"), "sitemap")
    assert res.error is None
    kinds = {u.url: u.kind for u in res.urls}
    assert kinds == {
        "https://sm.example/news/1": "news-sitemap",
        "https://sm.example/a": "sitemap",
        "https://sm.example/b": "sitemap",
    }
    assert any("gone.xml" in n and "HTTP 404" in n for n in res.notes)


def test_discover_sitemap_empty_says_why() -> None:
    with ScriptedServer({"/s.xml": Reply(body=index_xml(), content_type="text/xml")}) as srv:
        res = run_discover(srv.url("/s.xml"), "sitemap")
    assert res.urls == [] and res.error == "sitemap has 0 URLs"


def test_discover_homepage_autodiscovers_feed() -> None:
    page = (
        '<html><head><link rel="alternate" type="application/atom+xml" href="/atom"></head>'
        '<body><a href="/x">x</a></body></html>'
    )
    routes = {"/": Reply(body=page), "/atom": Reply(body=ATOM, content_type="application/atom+xml")}
    with ScriptedServer(routes) as srv:
        res = run_discover(srv.url("/"), "homepage")
    assert [u.url for u in res.urls] == ["https://atom.example/s/1"]
    assert res.urls[0].kind == "feed"


def test_discover_homepage_falls_back_to_links() -> None:
    page = (
        '<html><body><a href="/news/one">One  <b>story</b></a><a href="/news/two">Two</a>'
        '<a href="https://elsewhere.example/x">off-site</a><a href="/logo.png">img</a>'
        '<a href="mailto:a@b.c">mail</a></body></html>'
    )
    with ScriptedServer({"/": Reply(body=page)}) as srv:
        res = run_discover(srv.url("/"), "homepage")
    assert [(u.url, u.title, u.kind) for u in res.urls] == [
        (srv.url("/news/one"), "One story", "page"),
        (srv.url("/news/two"), "Two", "page"),
    ]
    assert any("no feed advertised" in n for n in res.notes)


def test_discover_url_with_depth() -> None:
    routes = {
        "/start": Reply(body='<a href="/l1">l1</a>'),
        "/l1": Reply(body='<a href="/l2">l2</a><a href="/start">back</a>'),
        "/l2": Reply(body='<a href="/l3">l3</a>'),
    }
    with ScriptedServer(routes) as srv:
        shallow = run_discover(srv.url("/start"), "url", max_depth=1)
        deep = run_discover(srv.url("/start"), "url", max_depth=2)
        only = run_discover(srv.url("/start"), "url", max_depth=0)
    assert [u.url for u in shallow.urls] == [srv.url("/start"), srv.url("/l1")]
    assert [u.url for u in deep.urls] == [srv.url(p) for p in ("/start", "/l1", "/l2")]
    assert [u.url for u in only.urls] == [srv.url("/start")]


def test_discover_robots_disallow_is_reported() -> None:
    robots = Reply(body="User-agent: *\nDisallow: /\n", content_type="text/plain")
    with ScriptedServer({"/robots.txt": robots, "/": Reply(body="<a href='/a'>a</a>")}) as srv:
        res = run_discover(srv.url("/"), "homepage")
        assert srv.count("/") == 0
    assert res.urls == [] and res.error == "robots.txt disallows"
