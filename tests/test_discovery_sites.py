"""Discovery as real sites need it: one test per defect found on them, over loopback servers.

A robots.txt with a BOM, a gzipped feed listed as a sitemap, a feed served as text/html, a
sitemap bigger than a page may be, Google's news namespace spelt https, sitemaps that only
robots.txt names, a validator kept after a failed parse, and hosts that accept connections
and never answer while ``--max-duration`` runs out.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler._config import load_config
from crawler._pipeline import run_crawl
from crawler.discover._discovery import DiscoveryResult, discover, parse_sitemap, sniff
from crawler.fetch import FetchConfig, Fetcher
from store import open_store
from tests.builders import rss
from tests.fixtureweb import sitemap_config
from tests.test_discovery import RSS2, URLSET, index_xml
from tests.webserver import Recorded, Reply, ScriptedServer

pytestmark = pytest.mark.quick

XML = "application/xml"
SM_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def fetch_config(**overrides: Any) -> FetchConfig:
    base = dict(
        allow_hosts=["127.0.0.1"],
        per_host_delay=0.0,
        backoff_base=0.01,
        max_retries=0,
        per_host_concurrency=4,
    )
    return FetchConfig(**{**base, **overrides})


def run_discover(
    url: str, kind: str, config: FetchConfig | None = None, **kw: Any
) -> DiscoveryResult:
    async def main() -> DiscoveryResult:
        async with Fetcher(config or fetch_config()) as fetcher:
            return await discover(fetcher, url, kind, **kw)

    return asyncio.run(main())


def urlset(locs: list[str], extra: str = "") -> str:
    body = "".join(f"<url><loc>{loc}</loc>{extra}</url>" for loc in locs)
    return f'<?xml version="1.0"?><urlset xmlns="{SM_NS}">{body}</urlset>'


# -- robots.txt ------------------------------------------------------------------------------


def test_robots_txt_with_a_utf8_bom_still_disallows() -> None:
    robots = "User-agent: *\nDisallow: /private/\n".encode("utf-8-sig")
    with ScriptedServer(
        {
            "/robots.txt": Reply(body=robots, content_type="text/plain"),
            "/private/a": Reply(body="<html>secret</html>"),
            "/public/a": Reply(body="<html>open</html>"),
        }
    ) as srv:

        async def main() -> tuple[Any, Any]:
            async with Fetcher(fetch_config()) as fetcher:
                return (
                    await fetcher.fetch(srv.url("/private/a")),
                    await fetcher.fetch(srv.url("/public/a")),
                )

        private, public = asyncio.run(main())
        assert srv.count("/private/a") == 0
    assert private.error == "robots.txt disallows"
    assert public.ok


# -- what a document is: by its bytes ----------------------------------------------------------


def test_sniff_reads_the_bytes_not_the_label() -> None:
    assert sniff(b"\xef\xbb\xbf<?xml version='1.0'?><!-- <html> --><urlset>") == "sitemap"
    assert sniff(b"<?xml version='1.0'?><rdf:RDF xmlns:rdf='x'>") == "feed"
    assert sniff(b"<!DOCTYPE html><html><head>") == "html"
    assert sniff(b"https://a.example/1\nhttps://a.example/2") == "text"
    assert sniff(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}') == "feed"
    assert sniff(b"  \n") == "empty"


@pytest.mark.parametrize(
    "content_type", ["application/x-gzip", "application/rss+xml", "text/xml", None]
)
def test_gzipped_feed_listed_as_a_sitemap_is_read(content_type: str | None) -> None:
    with ScriptedServer(
        {"/feed.xml.gz": Reply(body=gzip.compress(RSS2), content_type=content_type)}
    ) as srv:
        res = run_discover(srv.url("/feed.xml.gz"), "sitemap")
    assert res.error is None
    assert [u.url for u in res.urls] == [
        srv.url("/world/quake"),
        "https://news.example/biz/markets",
    ]
    assert {u.kind for u in res.urls} == {"feed"}


def test_feed_served_as_text_html_is_read_as_a_feed() -> None:
    with ScriptedServer({"/rss": Reply(body=RSS2, content_type="text/html")}) as srv:
        res = run_discover(srv.url("/rss"), "feed")
    assert res.error is None and len(res.urls) == 2


def test_empty_feed_listed_as_a_sitemap_says_it_is_an_empty_feed() -> None:
    empty = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"
    with ScriptedServer({"/s.xml": Reply(body=empty, content_type=XML)}) as srv:
        res = run_discover(srv.url("/s.xml"), "sitemap")
    assert res.urls == [] and res.error == "feed has 0 entries"
    assert not any("root element" in n for n in res.notes)


def test_sitemap_given_as_a_feed_is_read_with_its_children() -> None:
    with ScriptedServer({"/child.xml": Reply(body=URLSET, content_type=XML)}) as srv:
        srv.routes["/feed"] = Reply(body=index_xml(srv.url("/child.xml")), content_type=XML)
        res = run_discover(srv.url("/feed"), "feed")
    assert res.error is None
    assert [u.url for u in res.urls] == ["https://sm.example/a", "https://sm.example/b"]


# -- sizes -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_sitemap_bigger_than_a_page_cap_is_read_whole() -> None:
    """A 5.9 MB plain urlset: over the 5 MB page cap, well under the sitemap protocol's."""
    count = 45_000
    with ScriptedServer() as srv:
        locs = [
            srv.url(f"/articles/2024/01/a-rather-long-slug-for-story-number-{i:06d}.html")
            for i in range(count)
        ]
        body = urlset(locs, "<lastmod>2024-01-01T00:00:00Z</lastmod>").encode()
        assert len(body) > 5_000_000
        srv.routes["/sitemap.xml"] = Reply(body=body, content_type=XML)
        res = run_discover(srv.url("/sitemap.xml"), "sitemap", fetch_config(max_bytes=5_000_000))
        small = run_discover(
            srv.url("/sitemap.xml"), "sitemap", fetch_config(max_sitemap_bytes=1_000_000)
        )
    assert res.error is None and len(res.urls) == count
    assert small.urls == [] and small.error == "too large: > 1000000 bytes"


def test_gzip_bomb_stops_at_the_sitemap_limit_with_what_came_before() -> None:
    head = urlset([f"https://x.example/{i}" for i in range(10)]).removesuffix("</urlset>")
    bomb = gzip.compress(head.encode() + b" " * 40_000_000 + b"</urlset>")
    assert len(bomb) < 100_000
    notes: list[str] = []
    urls, _ = parse_sitemap(bomb, "https://x.example/s.xml.gz", notes=notes, max_bytes=2_000_000)
    assert len(urls) == 10
    assert any("over 2000000 bytes once decompressed" in n for n in notes)


def test_truncated_gzip_keeps_the_urls_before_the_cut() -> None:
    data = gzip.compress(urlset([f"https://x.example/{i}" for i in range(2000)]).encode())
    notes: list[str] = []
    urls, _ = parse_sitemap(data[: len(data) // 2], "https://x.example/s.xml.gz", notes=notes)
    assert 0 < len(urls) < 2000
    assert any("gzip" in n for n in notes)


# -- sitemap contents ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ns",
    [
        "https://www.google.com/schemas/sitemap-news/0.9",
        "http://google.com/schemas/sitemap-news/0.9",
    ],
)
def test_news_namespace_spelt_otherwise_keeps_date_and_title(ns: str) -> None:
    news = (
        f'<urlset xmlns="{SM_NS}" xmlns:news="{ns}"><url><loc>https://n.example/1</loc>'
        "<lastmod>2024-03-06T00:00:00Z</lastmod><news:news><news:publication>"
        "<news:name>N</news:name><news:language>en</news:language></news:publication>"
        "<news:publication_date>2024-03-05T09:15:00Z</news:publication_date>"
        "<news:title>Breaking thing</news:title></news:news></url></urlset>"
    ).encode()
    (item,), _ = parse_sitemap(news, "https://n.example/news.xml")
    assert item.kind == "news-sitemap" and item.title == "Breaking thing"
    assert item.published == datetime(2024, 3, 5, 9, 15, tzinfo=UTC)
    assert item.last_modified == datetime(2024, 3, 6, tzinfo=UTC)


def chain(srv: ScriptedServer, levels: int) -> None:
    """/i0.xml -> /i1.xml -> ... -> a urlset `levels` indexes down."""
    for i in range(levels):
        srv.routes[f"/i{i}.xml"] = Reply(
            body=index_xml(srv.url(f"/i{i + 1}.xml")), content_type=XML
        )
    srv.routes[f"/i{levels}.xml"] = Reply(body=urlset([srv.url("/deep.html")]), content_type=XML)


def test_nested_indexes_are_followed_ten_deep_and_no_deeper() -> None:
    with ScriptedServer() as srv:
        chain(srv, 10)
        ten = run_discover(srv.url("/i0.xml"), "sitemap")
    with ScriptedServer() as srv:
        chain(srv, 11)
        eleven = run_discover(srv.url("/i0.xml"), "sitemap")
        assert srv.count("/i11.xml") == 0
    assert [u.url for u in ten.urls] == [ten.source.replace("/i0.xml", "/deep.html")]
    assert eleven.urls == [] and any("nested deeper than 10" in n for n in eleven.notes)


# -- robots-declared sitemaps --------------------------------------------------------------


def declared_site(srv: ScriptedServer) -> None:
    """A site whose only sitemap is one that robots.txt names, at no well-known path."""
    srv.routes.update(
        {
            "/robots.txt": Reply(
                body=f"User-agent: *\nDisallow: /admin/\n\n"
                f"Sitemap: {srv.url('/feeds/google-news-index.xml')}\n",
                content_type="text/plain",
            ),
            "/feeds/google-news-index.xml": Reply(
                body=index_xml("/feeds/news-1.xml.gz"), content_type=XML
            ),
            "/feeds/news-1.xml.gz": Reply(
                body=gzip.compress(
                    urlset([srv.url("/2024/story-1.html"), srv.url("/2024/story-2.html")]).encode()
                ),
                content_type="application/octet-stream",
            ),
            "/": Reply(body="<html><body><a href='/about'>About us</a></body></html>"),
        }
    )


def test_site_root_finds_the_sitemaps_robots_txt_declares() -> None:
    with ScriptedServer() as srv:
        declared_site(srv)
        res = run_discover(srv.url("/"), "site")
    assert res.error is None
    assert [u.url for u in res.urls] == [
        srv.url("/2024/story-1.html"),
        srv.url("/2024/story-2.html"),
    ]
    assert "robots.txt lists 1 sitemap(s)" in res.notes


def test_homepage_source_reads_the_sitemaps_robots_txt_declares_too() -> None:
    with ScriptedServer() as srv:
        declared_site(srv)
        res = run_discover(srv.url("/"), "homepage")
    found = [u.url for u in res.urls]
    assert srv.url("/2024/story-1.html") in found and srv.url("/2024/story-2.html") in found
    assert srv.url("/about") in found  # the page's own links, as before


def test_site_that_yields_nothing_says_why() -> None:
    with ScriptedServer(
        {
            "/robots.txt": Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
            "/": Reply(body="<html><body>Under construction</body></html>"),
        }
    ) as srv:
        res = run_discover(srv.url("/"), "site")
    assert res.urls == [] and res.error is not None
    for why in (
        "robots.txt lists no sitemap",
        "no sitemap at /sitemap.xml",
        "(HTTP 404)",
        "the homepage advertises no feed",
    ):
        assert why in res.error, res.error


@pytest.mark.slow
def test_site_kind_crawls_the_fixture_web_from_its_roots(news_server, tmp_path: Path) -> None:
    server = news_server(3)
    cfg = load_config(sitemap_config(server, tmp_path, kind="site"))
    with open_store(cfg.store) as st:
        summary = run_crawl(cfg, st)
        stored = {a.url for a in st.articles(st.article_ids())}
    truth = set(server.ground_truth())
    assert all(s.error is None and s.found for s in summary.sources), summary.sources
    assert stored == truth


# -- validators ------------------------------------------------------------------------------


def write_config(
    tmp_path: Path, sources: list[tuple[str, str]], extra: str = "", retries: int = 0
) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(
        f'store = {{ path = "s.db" }}\n[crawl]\nper_host_delay = 0.0\nmax_retries = {retries}\n'
        f'allow_hosts = ["127.0.0.1"]\n{extra}'
        + "".join(f'[[sources]]\nurl = "{u}"\nkind = "{k}"\n' for u, k in sources),
        encoding="utf-8",
    )
    return path


def test_a_wrong_kind_leaves_no_validator_behind(tmp_path: Path) -> None:
    """A source first read the wrong way must not get a 304 once its kind is right."""
    with ScriptedServer() as srv:
        body = rss(srv.base, ["/a.html", "/b.html"])

        def feed(req: Recorded) -> Reply:
            if req.headers.get("if-none-match") == '"v1"':
                return Reply(304, content_type=None, headers={"ETag": '"v1"'})
            return Reply(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

        srv.routes["/news.rss"] = feed
        wrong = load_config(write_config(tmp_path, [(srv.url("/news.rss"), "homepage")]))
        right = load_config(write_config(tmp_path, [(srv.url("/news.rss"), "feed")]))
        with open_store(wrong.store) as st:
            first = run_crawl(wrong, st).sources[0]
            assert st.source_state(srv.url("/news.rss")) == (None, None)
            second = run_crawl(right, st).sources[0]
            third = run_crawl(right, st).sources[0]
            assert st.source_state(srv.url("/news.rss"))[0] == '"v1"'
    assert first.found == 0 and first.error is not None
    assert second.found == 2 and second.error is None
    assert third.found == 0 and any("304" in n for n in third.notes)  # now rightly unchanged


# -- time ------------------------------------------------------------------------------------


class HangingHost:
    """Accepts TCP connections on 127.0.0.1 and never answers on them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.mark.slow
def test_discovery_ends_at_max_duration_with_hosts_that_never_answer(tmp_path: Path) -> None:
    """Six silent hosts and one good feed, a read timeout far longer than the budget.

    Discovery used to wait for each silent host in turn, for as long as its timeouts and
    retries took; the run must end at its budget, keep the good feed's URLs, and say
    for each silent source why it found nothing.
    """
    hosts = [HangingHost() for _ in range(6)]
    kinds = ["site", "feed", "sitemap", "homepage", "site", "feed"]
    paths = {"site": "/", "feed": "/rss", "sitemap": "/sitemap.xml", "homepage": "/"}
    try:
        with ScriptedServer() as good:
            good.routes["/rss"] = Reply(
                body=rss(good.base, ["/a.html", "/b.html"]), content_type="application/rss+xml"
            )
            sources = [(h.url(paths[k]), k) for h, k in zip(hosts, kinds, strict=True)]
            cfg = load_config(
                write_config(
                    tmp_path, [*sources, (good.url("/rss"), "feed")], "timeout = 300.0\n", retries=2
                )
            )
            outcome: dict[str, Any] = {}

            def crawl() -> None:
                with open_store(cfg.store) as st:
                    outcome["summary"] = run_crawl(cfg, st, max_duration=2.0)
                    outcome["pending"] = {i.url for i in st.frontier_pending()}

            worker = threading.Thread(target=crawl, daemon=True)
            worker.start()
            # A guard against hanging the suite, not a speed bound: without the deadline
            # this run lasts as long as the 300 s read timeouts and their retries.
            worker.join(timeout=150)
            assert not worker.is_alive(), "the crawl ignored --max-duration"
    finally:
        for h in hosts:
            h.close()
    summary = outcome["summary"]
    assert summary.stopped == "max duration reached"
    assert all(h.accepted for h in hosts)  # every silent host was asked, side by side
    by_url = {s.url: s for s in summary.sources}
    assert by_url[good.url("/rss")].found == 2
    assert outcome["pending"] == {good.url("/a.html"), good.url("/b.html")}
    for url, _ in sources:
        silent = by_url[url]
        assert silent.found == 0 and silent.why_empty is not None
        assert "max duration reached" in silent.why_empty, silent


def test_sources_on_different_hosts_are_discovered_side_by_side(tmp_path: Path) -> None:
    """The first source's server answers only once the second source's request arrives
    (or after 20 s): in a one-at-a-time discovery that request could never come first."""
    arrived = threading.Event()
    overlapped: list[bool] = []
    with ScriptedServer() as first, ScriptedServer() as second:

        def slow(_req: Recorded) -> Reply:
            overlapped.append(arrived.wait(timeout=20))
            return Reply(body=rss(first.base, ["/a.html"]), content_type="application/rss+xml")

        def quick(_req: Recorded) -> Reply:
            arrived.set()
            return Reply(body=rss(second.base, ["/b.html"]), content_type="application/rss+xml")

        first.routes["/rss"], second.routes["/rss"] = slow, quick
        cfg = load_config(
            write_config(tmp_path, [(first.url("/rss"), "feed"), (second.url("/rss"), "feed")])
        )
        with open_store(cfg.store) as st:
            summary = run_crawl(cfg, st)
    assert overlapped == [True]
    assert [s.found for s in summary.sources] == [1, 1]


@pytest.mark.slow
def test_a_page_on_a_silent_host_ends_at_max_duration_and_stays_queued(tmp_path: Path) -> None:
    """The fetch phase keeps the budget too: a page whose host never answers is given
    back to the frontier, due again next run, not held until its read timeout."""
    silent = HangingHost()
    try:
        with ScriptedServer() as good:
            body = rss(good.base, ["/a.html"]).replace(
                "</channel>", f"<item><link>{silent.url('/stuck.html')}</link></item></channel>"
            )
            good.routes["/rss"] = Reply(body=body, content_type="application/rss+xml")
            good.routes["/a.html"] = Reply(body="<html><body><p>short</p></body></html>")
            cfg = load_config(
                write_config(tmp_path, [(good.url("/rss"), "feed")], "timeout = 300.0\n")
            )
            outcome: dict[str, Any] = {}

            def crawl() -> None:
                with open_store(cfg.store) as st:
                    outcome["summary"] = run_crawl(cfg, st, max_duration=2.0)
                    outcome["pending"] = {i.url for i in st.frontier_pending()}

            worker = threading.Thread(target=crawl, daemon=True)
            worker.start()
            worker.join(timeout=150)  # a guard against hanging the suite, not a speed bound
            assert not worker.is_alive(), "a page in flight outlived --max-duration"
    finally:
        silent.close()
    summary = outcome["summary"]
    assert summary.stopped == "max duration reached"
    assert summary.sources[0].found == 2
    assert good.count("/a.html") == 1
    assert silent.url("/stuck.html") in outcome["pending"]
