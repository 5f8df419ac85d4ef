"""Crawls against hostile sites: every fault is survived, logged once, and costs nothing else.

Each test crawls two hosts: `tests.hostile.HostileServer` (raw sockets: it can reset,
stall, lie about lengths, bomb, loop) serving good pages beside the fault, and a polite
`ScriptedServer` with good pages of its own. The crawl must finish (not stop on a
budget), store every good page on both hosts, log the fault exactly once as a warning that
names the URL and says why, and keep the faulty URL in the frontier (to retry, or marked
failed), never silently dropped. A connection spy asserts that no connection was ever
opened to anything but 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpcore
import pytest

import crawler.fetch._netguard as netguard
from crawler._config import load_config
from crawler._crawl import CrawlSummary
from crawler._pipeline import run_crawl
from store import open_store
from tests import hostile as H
from tests.builders import article_page
from tests.webserver import Reply, ScriptedServer

pytestmark = pytest.mark.quick

WORDS = (
    "harbour",
    "council",
    "budget",
    "ferry",
    "school",
    "river",
    "market",
    "bridge",
    "clinic",
    "station",
    "library",
    "museum",
    "festival",
    "orchard",
    "quarry",
)


def story(seed: int, title: str | None = None) -> str:
    """A distinct article page: its own words, so no two pages look like one template."""
    paras = []
    for p in range(4):
        words = [WORDS[(seed * 7 + p * 3 + i) % len(WORDS)] for i in range(30)]
        paras.append(f"Story {seed} part {p}: the " + " ".join(words) + f" report number {seed}.")
    return article_page(
        title or f"Story number {seed}", paras, nav="<nav><a href='/'>Home</a></nav>"
    )


def rss(links: list[str]) -> str:
    items = "".join(
        f"<item><title>t{i}</title><link>{u}</link></item>" for i, u in enumerate(links)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        f"<link>http://example.org/</link><description>d</description>{items}"
        f"</channel></rss>"
    )


ROBOTS_OK = "User-agent: *\nAllow: /\n"
GOOD_BAD_HOST = ["/a/good-1.html", "/a/good-2.html"]
GOOD_OTHER_HOST = ["/b/good-1.html", "/b/good-2.html"]


# -- fixtures ----------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings_about(self, url: str) -> list[str]:
        return [
            r.getMessage()
            for r in self.records
            if r.levelno >= logging.WARNING and url in r.getMessage()
        ]

    def about(self, url: str) -> list[str]:
        """Lines a -v reader sees about ``url`` (info and up; -vv debug detail aside)."""
        return [
            r.getMessage()
            for r in self.records
            if r.levelno >= logging.INFO and url in r.getMessage()
        ]


@pytest.fixture
def logs():
    """Our own handler on the "newsdedup" logger: a CLI test in this process may have
    turned propagation to the root logger (and so caplog) off."""
    handler = _Records()
    logger = logging.getLogger("newsdedup")
    page = logging.getLogger("newsdedup.page")  # a CLI test's setup_logging may have quieted it
    level, page_level = logger.level, page.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    page.setLevel(logging.NOTSET)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
    page.setLevel(page_level)


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every TCP connection the crawler opens, by address: it must only ever be loopback."""
    opened: list[str] = []
    real = httpcore.AnyIOBackend.connect_tcp

    async def spy(self, host, port, *args, **kwargs):
        opened.append(host)
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", spy)
    yield opened
    assert set(opened) <= {"127.0.0.1"}, f"connected to {set(opened) - {'127.0.0.1'}}"


@pytest.fixture
def other():
    """A polite second host with good pages: a fault elsewhere must not cost these."""
    with ScriptedServer() as srv:
        srv.routes["/robots.txt"] = Reply(body=ROBOTS_OK, content_type="text/plain")
        srv.routes["/feed.xml"] = Reply(
            body=rss([srv.url(p) for p in GOOD_OTHER_HOST]), content_type="application/rss+xml"
        )
        for n, p in enumerate(GOOD_OTHER_HOST):
            srv.routes[p] = Reply(body=story(100 + n))
        yield srv


@pytest.fixture
def bad():
    with H.HostileServer() as srv:
        srv.routes["/robots.txt"] = H.ok(ROBOTS_OK, "text/plain")
        for n, p in enumerate(GOOD_BAD_HOST):
            srv.routes[p] = H.ok(story(200 + n))
        yield srv


@dataclass
class Outcome:
    summary: CrawlSummary
    urls: set[str]
    texts: dict[str, str]
    frontier: dict[str, tuple[str, str | None, str | None]]  # url -> state, error, next try
    sources: dict[str, str | None] = field(default_factory=dict)  # url -> last error


def write_config(tmp_path: Path, sources: list[tuple[str, str]], **crawl: object) -> Path:
    settings = {
        "per_host_delay": 0.0,
        "timeout": 1.0,
        "max_retries": 1,
        "concurrency": 4,
        "allow_hosts": ["127.0.0.1"],
        **crawl,
    }
    lines = ['store = { path = "store.db" }', "[crawl]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    for url, kind in sources:
        lines += ["[[sources]]", f'url = "{url}"', f'kind = "{kind}"']
    path = tmp_path / "newsdedup.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def crawl(
    tmp_path: Path,
    sources: list[tuple[str, str]],
    *,
    max_pages: int | None = None,
    **crawl_settings: object,
) -> Outcome:
    cfg = load_config(write_config(tmp_path, sources, **crawl_settings))
    with open_store(cfg.store) as st:
        summary = run_crawl(cfg, st, max_pages=max_pages, max_duration=120)
    con = sqlite3.connect(cfg.store)
    try:
        texts = dict(con.execute("SELECT fetched_url, text FROM articles"))
        frontier = {
            u: (s, e, n)
            for u, s, e, n in con.execute(
                "SELECT url, state, last_error, next_attempt FROM frontier"
            )
        }
        srcs = dict(con.execute("SELECT url, last_error FROM sources"))
    finally:
        con.close()
    return Outcome(summary, set(texts), texts, frontier, srcs)


def assert_good_pages_kept(
    out: Outcome, bad: H.HostileServer | None, other: ScriptedServer
) -> None:
    want = {other.url(p) for p in GOOD_OTHER_HOST}
    if bad is not None:
        want |= {bad.url(p) for p in GOOD_BAD_HOST}
    assert want <= out.urls, f"lost good pages: {sorted(want - out.urls)}"


def assert_logged_once(logs: _Records, url: str, reason: str) -> None:
    said = logs.warnings_about(url)
    assert len(said) == 1, f"{url} warned {len(said)} times: {said}"
    assert reason in said[0], said[0]


def assert_kept_in_frontier(out: Outcome, url: str, reason: str) -> None:
    state, error, _ = out.frontier[url]
    assert state in ("pending", "failed"), state
    assert error is not None and reason in error, error


# -- page faults: one parametrized crawl each ------------------------------------------


ARTICLE = story(1)
LARGE = 50 * 1024 * 1024


def _fifty_mb_announced(conn: H.Conn, _req: H.Request) -> None:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {LARGE}\r\n"
        f"Connection: close\r\n\r\n"
    ).encode()
    if conn.send(head + b"<html><body>"):
        filler = b"<p>" + b"padding " * 8000 + b"</p>"
        sent = 0
        while sent < LARGE and conn.send(filler):
            sent += len(filler)


@dataclass
class PageFault:
    name: str
    make: Callable[[H.HostileServer], H.Handler]
    reason: str  # what the logged reason and the frontier's error must say


PAGE_FAULTS = [
    PageFault("reset-mid-body", lambda s: H.reset_mid_body(ARTICLE * 20), "network error"),
    PageFault("slowloris-1-byte-per-second", lambda s: H.slowloris(ARTICLE, 1.0), "timeout"),
    PageFault("headers-never-sent", lambda s: H.never_answer(), "timeout"),
    PageFault("truncated-gzip", lambda s: H.truncated_gzip(ARTICLE * 20), "truncated"),
    PageFault("gzip-bomb", lambda s: H.gzip_bomb(200 << 20), "too large"),
    PageFault("brotli-bomb", lambda s: H.brotli_bomb(200 << 20), "too large"),
    PageFault("endless-chunked-body", lambda s: H.chunked_forever(), "too large"),
    PageFault("content-length-lie", lambda s: H.content_length_lie(ARTICLE), "network error"),
    PageFault("garbage-status-line", lambda s: H.garbage_status_line(), "network error"),
    PageFault("megabyte-of-headers", lambda s: H.huge_headers(), "network error"),
    PageFault("50mb-page-announced", lambda s: _fifty_mb_announced, "too large"),
    PageFault("50mb-page-chunked", lambda s: H.chunked_forever(b"<p>x</p>" * 8192), "too large"),
    PageFault("redirect-loop", lambda s: H.redirect("/fault-b"), "too many redirects"),
    PageFault(
        "redirect-to-private-10.0.0.1",
        lambda s: H.redirect("http://10.0.0.1/admin"),
        "10.0.0.1 is a private address",
    ),
    PageFault(
        "redirect-to-cloud-metadata",
        lambda s: H.redirect("http://169.254.169.254/latest/meta-data/"),
        "169.254.169.254 is a cloud metadata address",
    ),
    PageFault(
        "redirect-to-file-url",
        lambda s: H.redirect("file:///etc/passwd"),
        "redirect to non-HTTP URL",
    ),
    PageFault(
        "binary-as-text-html",
        lambda s: H.ok(bytes(range(256)) * 400, "text/html"),
        "no article text found",
    ),
    PageFault(
        "unsolicited-zstd-encoding",
        lambda s: H.status(200, b"(\xb5/\xfd junk", headers={"Content-Encoding": "zstd"}),
        "unsupported content-encoding",
    ),
]


# Out of the quick loop: faults that cost the crawl its full timeout, twice (a retry), and the
# gzip bomb, which inflates up to the size cap (brotli's stops sooner).
SLOW_FAULTS = {"slowloris-1-byte-per-second", "headers-never-sent", "gzip-bomb"}


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(f, id=f.name, marks=[pytest.mark.slow] if f.name in SLOW_FAULTS else [])
        for f in PAGE_FAULTS
    ],
)
def test_page_fault_is_survived_logged_once_and_costs_nothing_else(
    fault, bad, other, logs, tmp_path
):
    bad.routes["/fault"] = fault.make(bad)
    bad.routes["/fault-b"] = H.redirect("/fault")  # the other half of the redirect loop
    fault_url = bad.url("/fault")
    bad.routes["/feed.xml"] = H.ok(
        rss([bad.url(p) for p in GOOD_BAD_HOST] + [fault_url]), "application/rss+xml"
    )
    out = crawl(tmp_path, [(bad.url("/feed.xml"), "feed"), (other.url("/feed.xml"), "feed")])

    assert out.summary.stopped is None  # it finished its work, not a budget
    assert_good_pages_kept(out, bad, other)
    assert fault_url not in out.urls
    assert_kept_in_frontier(out, fault_url, fault.reason)
    if fault.reason == "no article text found":  # not a fetch failure: an info line
        said = logs.about(fault_url)
        assert len(said) == 1 and fault.reason in said[0], said
    else:
        assert dict(out.summary.failures)[fault_url].find(fault.reason) >= 0
        assert_logged_once(logs, fault_url, fault.reason)


def test_connection_refused_host(other, logs, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/story.html"
    other.routes["/feed.xml"] = Reply(
        body=rss([other.url(p) for p in GOOD_OTHER_HOST] + [dead]),
        content_type="application/rss+xml",
    )
    out = crawl(tmp_path, [(other.url("/feed.xml"), "feed")])
    assert_good_pages_kept(out, None, other)
    assert_kept_in_frontier(out, dead, "robots.txt")  # robots.txt unreachable: disallow
    assert out.frontier[dead][0] == "pending"  # transient: retried by a later run
    assert_logged_once(logs, dead, "connection error")


# -- pages that are odd but fine: stored, and stored right ----------------------------


CAFE = "Le café de la gare a rouvert “lundi” — après des années, dit le maire de Zürich."
CHINESE = "北京市政府周二宣布，将在明年春季开放新的地铁线路，以缓解城市交通压力。" * 3


def _page(text: str, charset_meta: str = "") -> str:
    return article_page(
        "Charset story", [f"{text} {i}" for i in range(4)], lang=None, head=charset_meta
    )


def _mixed() -> bytes:
    utf8 = _page(CAFE).encode("utf-8")
    return utf8.replace(b"</article>", "<p>Prix: 5 € — naïve</p></article>".encode("cp1252"))


ODD_PAGES = {
    "wrong-charset-declared": (
        H.ok(_page(CAFE).encode("utf-8"), "text/html; charset=iso-8859-1"),
        "café de la gare",
    ),
    "missing-charset-cp1252": (H.ok(_page(CAFE).encode("cp1252"), "text/html"), "café de la gare"),
    "missing-charset-gbk": (H.ok(_page(CHINESE).encode("gbk"), "text/html"), "北京市政府"),
    "mixed-encodings": (H.ok(_mixed(), "text/html"), "café de la gare"),
    "nesting-10000-deep": (
        H.ok(
            "<html><body>" + "<div>" * 10_000 + _page(CAFE) + "</div>" * 10_000 + "</body></html>"
        ),
        "café de la gare",
    ),
}


@pytest.mark.parametrize("name", list(ODD_PAGES))
def test_odd_but_readable_page_is_stored_correctly(name, bad, other, logs, tmp_path):
    handler, must_contain = ODD_PAGES[name]
    bad.routes["/odd"] = handler
    odd = bad.url("/odd")
    bad.routes["/feed.xml"] = H.ok(
        rss([bad.url(p) for p in GOOD_BAD_HOST] + [odd]), "application/rss+xml"
    )
    out = crawl(tmp_path, [(bad.url("/feed.xml"), "feed"), (other.url("/feed.xml"), "feed")])
    assert_good_pages_kept(out, bad, other)
    assert odd in out.urls
    assert must_contain in out.texts[odd]
    assert "\ufffd" not in out.texts[odd].split("Prix")[0]  # the UTF-8 part decoded cleanly
    assert logs.warnings_about(odd) == []


# -- host-wide faults -------------------------------------------------------------------


@pytest.mark.parametrize(
    "robots,reason",
    [
        (H.status(503, "down"), "robots.txt unavailable: HTTP 503"),
        pytest.param(H.never_answer(), "robots.txt unavailable: timeout", marks=pytest.mark.slow),
    ],
    ids=["robots-5xx", "robots-timeout"],
)
def test_unreadable_robots_txt_defers_the_host_and_keeps_its_pages(
    robots, reason, bad, other, logs, tmp_path
):
    bad.routes["/robots.txt"] = robots
    bad.routes["/feed.xml"] = H.ok(rss([bad.url(p) for p in GOOD_BAD_HOST]), "application/rss+xml")
    out = crawl(tmp_path, [(bad.url("/feed.xml"), "feed"), (other.url("/feed.xml"), "feed")])
    assert_good_pages_kept(out, None, other)
    for p in GOOD_BAD_HOST:  # RFC 9309: assume disallow, for now; retried by a later run
        url = bad.url(p)
        assert out.frontier[url][0] == "pending" and out.frontier[url][2] is not None
        assert reason in out.frontier[url][1]
        assert_logged_once(logs, url, reason)
        assert bad.count(p) == 0  # disallowed means not fetched


def test_429_storm_without_retry_after_defers_the_host(bad, other, logs, tmp_path):
    storm = [f"/storm-{i}.html" for i in range(8)]
    for p in storm:
        bad.routes[p] = H.status(429, "slow down")
    bad.routes["/feed.xml"] = H.ok(rss([bad.url(p) for p in storm]), "application/rss+xml")
    out = crawl(tmp_path, [(bad.url("/feed.xml"), "feed"), (other.url("/feed.xml"), "feed")])
    assert out.summary.stopped is None
    assert_good_pages_kept(out, None, other)
    for p in storm:
        url = bad.url(p)
        state, error, retry_at = out.frontier[url]
        assert state == "pending" and retry_at is not None  # nothing lost: due again later
        assert error in ("HTTP 429", "circuit open for host")
        assert len(logs.warnings_about(url)) == 1
    # The circuit breaker stopped the storm: far fewer requests than pages x attempts.
    assert sum(bad.count(p) for p in storm) < len(storm) * 2


@pytest.mark.slow
def test_429_with_retry_after_is_honoured_and_too_long_is_deferred(bad, other, logs, tmp_path):
    calls = {"n": 0}

    def once_429(conn: H.Conn, req: H.Request) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            H.status(429, "wait", headers={"Retry-After": "1"})(conn, req)
        else:
            H.ok(story(7))(conn, req)

    bad.routes["/patient.html"] = once_429
    bad.routes["/never.html"] = H.status(429, "later", headers={"Retry-After": "86400"})
    urls = [bad.url("/patient.html"), bad.url("/never.html")]
    bad.routes["/feed.xml"] = H.ok(rss(urls), "application/rss+xml")
    out = crawl(tmp_path, [(bad.url("/feed.xml"), "feed"), (other.url("/feed.xml"), "feed")])
    assert_good_pages_kept(out, None, other)
    assert urls[0] in out.urls and bad.count("/patient.html") == 2
    assert_kept_in_frontier(out, urls[1], "retry-after too long")
    assert out.frontier[urls[1]][0] == "pending"
    assert bad.count("/never.html") == 1  # a day's wait is not waited out in-run
    assert_logged_once(logs, urls[1], "retry-after too long")


def test_tracking_parameter_variants_are_fetched_once(bad, other, tmp_path):
    bad.routes["/a/story.html"] = H.ok(story(9))
    variants = [
        "/a/story.html?utm_source=feed&utm_medium=rss",
        "/a/story.html?fbclid=XYZ",
        "/a/story.html?gclid=1&utm_campaign=x",
        "/a/story.html",
    ]
    bad.routes["/feed.xml"] = H.ok(rss([bad.url(v) for v in variants]), "application/rss+xml")
    out = crawl(tmp_path, [(bad.url("/feed.xml"), "feed"), (other.url("/feed.xml"), "feed")])
    assert_good_pages_kept(out, None, other)
    assert bad.count("/a/story.html") == 1
    assert bad.url("/a/story.html") in out.urls
    assert sum(1 for u in out.urls if "/a/story.html" in u) == 1


def test_unresolvable_name_fails_fast_without_outside_dns(other, logs, tmp_path, monkeypatch):
    asked: list[str] = []

    async def no_dns(host: str, port: int) -> list[str]:
        asked.append(host)  # stands in for the OS resolver: no packet leaves the machine
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netguard, "default_resolver", no_dns)
    ghost = "http://does-not-exist.invalid/story.html"
    other.routes["/feed.xml"] = Reply(
        body=rss([other.url(p) for p in GOOD_OTHER_HOST] + [ghost]),
        content_type="application/rss+xml",
    )
    out = crawl(tmp_path, [(other.url("/feed.xml"), "feed")])
    assert_good_pages_kept(out, None, other)
    assert "does-not-exist.invalid" in asked
    assert_kept_in_frontier(out, ghost, "cannot resolve does-not-exist.invalid")
    assert_logged_once(logs, ghost, "cannot resolve does-not-exist.invalid")


# -- feeds and sitemaps -------------------------------------------------------------------


BOMB_DTD = (
    '<!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


@pytest.mark.parametrize(
    "kind,body,reason",
    [
        (
            "feed",
            "<?xml version='1.0'?><rss version='2.0'><channel><item><title>x</ti",
            "malformed feed",
        ),
        (
            "feed",
            f"<?xml version='1.0'?>{BOMB_DTD}<rss version='2.0'><channel><title>&lol9;"
            f"</title></channel></rss>",
            "refused: feed declares XML entities",
        ),
        (
            "sitemap",
            f"<?xml version='1.0'?>{BOMB_DTD}<urlset xmlns="
            f"'http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>&lol9;</loc></url>"
            f"</urlset>",
            "refused: sitemap has a DOCTYPE",
        ),
        ("sitemap", "<?xml version='1.0'?><urlset><url><loc>http://x/</lo", "not a sitemap"),
    ],
    ids=["malformed-feed", "entity-bomb-feed", "entity-bomb-sitemap", "malformed-sitemap"],
)
def test_bad_source_fails_alone_and_says_why_once(kind, body, reason, bad, other, logs, tmp_path):
    bad.routes["/source"] = H.ok(body, "application/xml")
    src = bad.url("/source")
    out = crawl(tmp_path, [(src, kind), (other.url("/feed.xml"), "feed")])
    assert_good_pages_kept(out, None, other)
    assert out.summary.sources_failed == 1
    assert reason in (out.sources[src] or "")
    assert_logged_once(logs, src, reason)


@pytest.mark.slow
def test_million_url_sitemap_is_capped_with_a_note_in_bounded_memory(bad, tmp_path):
    """Through the real CLI, in a child that reports its own peak memory."""
    count = 1_000_000
    bad.routes["/sitemap.xml.gz"] = H.gzip_sitemap_stream(lambda i: bad.url(f"/p/{i}.html"), count)
    cfg = write_config(tmp_path, [(bad.url("/sitemap.xml.gz"), "sitemap")])
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across
    # exec, so a child of a big pytest process reported pytest's own peak instead.
    probe = (
        "import json, re, sys; from crawler.cli import main; "
        "rc = main(sys.argv[1:]); "
        "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()); "
        "print(json.dumps({'rc': rc, 'rss_mb': int(hwm.group(1)) // 1024}), "
        "file=sys.stderr)"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            "-q",
            "crawl",
            "--config",
            str(cfg),
            "--json",
            "--max-pages",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = json.loads(done.stdout)
    probe_line = json.loads(done.stderr.strip().splitlines()[-1])
    source = summary["sources"][0]
    assert source["found"] == 50_000 < count
    assert any("capped at 50000 URLs" in n for n in source["notes"]), source["notes"]
    assert summary["fetched"] == 3 and summary["stopped"] == "max pages reached"
    # Bounded: 1M URLs held as objects would take well over a gigabyte.
    assert probe_line["rss_mb"] < 600, probe_line
    with open_store(tmp_path / "store.db") as st:
        assert st.frontier_counts().get("pending", 0) == 50_000 - 3


@pytest.mark.slow
def test_cli_json_logs_name_each_fault_once(bad, other, tmp_path):
    """The real CLI: stderr is JSON lines; each fault appears once as a warning."""
    faults = {
        "/slow": H.slowloris(ARTICLE, 1.0),
        "/endless": H.chunked_forever(),
        "/ssrf": H.redirect("http://169.254.169.254/"),
    }
    bad.routes.update(faults)
    fault_urls = [bad.url(p) for p in faults]
    bad.routes["/feed.xml"] = H.ok(
        rss([bad.url(p) for p in GOOD_BAD_HOST] + fault_urls), "application/rss+xml"
    )
    cfg = write_config(tmp_path, [(bad.url("/feed.xml"), "feed"), (other.url("/feed.xml"), "feed")])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--config",
            str(cfg),
            "--max-duration",
            "60",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1  # some pages failed; the rest is stored
    summary = json.loads(done.stdout)
    assert summary["stored"] == len(GOOD_BAD_HOST) + len(GOOD_OTHER_HOST)
    lines = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{")]
    for url in fault_urls:
        warned = [x for x in lines if x["level"] == "warning" and url in x["message"]]
        assert len(warned) == 1, (url, warned)
