"""A crawl against scripted servers on 127.0.0.1: failures are logged, skipped, and kept."""

from __future__ import annotations

import json

import pytest

from crawler._config import load_config
from crawler._pipeline import run_crawl, run_dedup
from crawler.cli._main import main
from store import open_store
from tests.builders import GAZETTE_FEED, HARBOUR_PARAGRAPHS, article_page, gazette_article, rss
from tests.webserver import Reply, ScriptedServer

pytestmark = pytest.mark.quick


PAGES = ["/ok-1.html", "/ok-2.html", "/missing.html", "/slow.html", "/report.pdf"]


@pytest.fixture
def site():
    with ScriptedServer() as srv:
        srv.routes.update(
            {
                "/robots.txt": Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
                "/feed.xml": Reply(
                    body=rss(srv.base, PAGES, **GAZETTE_FEED), content_type="application/rss+xml"
                ),
                "/ok-1.html": Reply(body=gazette_article("Harbour plan approved")),
                "/ok-2.html": Reply(
                    body=gazette_article("Second story", "Meanwhile, in other news.")
                ),
                "/missing.html": Reply(404, body="gone"),
                "/slow.html": Reply(body=gazette_article("Slow"), delay=3.0),
                "/report.pdf": Reply(body=b"%PDF-1.4 binary", content_type="application/pdf"),
            }
        )
        yield srv


def write_config(tmp_path, srv) -> str:
    path = tmp_path / "newsdedup.toml"
    path.write_text(
        f'store = {{ path = "store.db" }}\n'
        f"[crawl]\nper_host_delay = 0.0\ntimeout = 1.0\nmax_retries = 0\n"
        f'allow_hosts = ["127.0.0.1"]\n'
        f'[[sources]]\nurl = "{srv.url("/feed.xml")}"\nkind = "feed"\nname = "Port Gazette"\n',
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.slow
def test_failing_pages_are_logged_and_skipped_without_losing_the_rest(tmp_path, site, caplog):
    cfg = load_config(write_config(tmp_path, site))
    with open_store(cfg.store) as st:
        summary = run_crawl(cfg, st)
        reasons = dict(summary.failures)
        assert summary.stored == 2 and summary.failed == 3
        assert reasons[site.url("/missing.html")] == "HTTP 404"
        assert "timeout" in reasons[site.url("/slow.html")].lower()
        assert "application/pdf" in reasons[site.url("/report.pdf")]
        assert st.article_count() == 2
        titles = {a.title for a in st.articles(st.article_ids())}
        assert titles == {"Harbour plan approved", "Second story"}
        assert {a.publisher for a in st.articles(st.article_ids())} == {"Port Gazette"}
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert site.url("/missing.html") in logged


@pytest.mark.slow
def test_recrawl_adds_no_rows_and_keeps_cluster_ids(tmp_path, site):
    cfg = load_config(write_config(tmp_path, site))
    with open_store(cfg.store) as st:
        run_crawl(cfg, st)
        run_dedup(cfg, st)
        counts, ids = st.counts(), st.clusters_of(st.article_ids())
        fetched_before = len(site.requests_for("/ok-1.html"))
        again = run_crawl(cfg, st)
        run_dedup(cfg, st)
        assert again.stored == 0
        assert st.counts()["articles"] == counts["articles"]
        assert st.counts()["memberships"] == counts["memberships"]
        assert st.clusters_of(st.article_ids()) == ids
        assert len(site.requests_for("/ok-1.html")) == fetched_before  # not refetched


@pytest.mark.slow
def test_crawl_command_exit_code_and_json_summary(tmp_path, site, capsys):
    code = main(["-q", "crawl", "--config", write_config(tmp_path, site), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1  # some pages failed: the user may want to look
    assert summary["stored"] == 2 and summary["failed"] == 3
    assert summary["sources"][0]["found"] == len(PAGES)


def test_empty_source_says_why(tmp_path, site, capsys):
    site.routes["/feed.xml"] = Reply(404, body="no feed here")
    code = main(["-q", "crawl", "--config", write_config(tmp_path, site)])
    out = capsys.readouterr().out
    assert code == 1
    assert "0 found" in out and "404" in out


def test_site_template_lines_are_learned_and_stripped(tmp_path):
    """A line on every page of one host is that host's template, not story text."""
    house = "The Port Gazette has served the northern coast with independent news since 1921."
    stories = [
        f"Story {i}: " + " ".join(f"{w}{i}" for w in HARBOUR_PARAGRAPHS[i % 4].split())
        for i in range(12)
    ]
    paths = [f"/s{i}.html" for i in range(12)]
    with ScriptedServer() as srv:
        srv.routes.update(
            {
                p: Reply(
                    body=article_page(
                        f"T{i}",
                        [stories[i], f"{HARBOUR_PARAGRAPHS[(i + 1) % 4]} {i}", house],
                        lang=None,
                        doctype=False,
                    )
                )
                for i, p in enumerate(paths)
            }
        )
        srv.routes["/feed.xml"] = Reply(
            body=rss(srv.base, paths, **GAZETTE_FEED), content_type="application/rss+xml"
        )
        cfg = load_config(write_config(tmp_path, srv))
        cfg.crawl.concurrency = 1
        cfg.crawl.obey_robots = False
        with open_store(cfg.store) as st:
            run_crawl(cfg, st, max_pages=6)
            run_crawl(cfg, st)
            texts = [a.text for a in st.articles(st.article_ids())]
    assert len(texts) == 12
    assert all(house in t for t in texts[:5])  # nothing to learn from yet
    assert not any(house in t for t in texts[6:])  # learned from the first pages


def test_amp_twins_of_known_pages_are_not_fetched(tmp_path):
    paths = ["/ok-1.html", "/ok-1.amp.html", "/amp/ok-2.html", "/solo.amp.html"]
    with ScriptedServer() as srv:
        srv.routes.update(
            {
                "/feed.xml": Reply(
                    body=rss(srv.base, paths, **GAZETTE_FEED), content_type="application/rss+xml"
                ),
                "/ok-1.html": Reply(body=gazette_article("One")),
                "/ok-1.amp.html": Reply(body=gazette_article("One, AMP")),
                "/amp/ok-2.html": Reply(body=gazette_article("Two, AMP", "amp")),
                "/solo.amp.html": Reply(body=gazette_article("Only AMP", "solo")),
            }
        )
        cfg = load_config(write_config(tmp_path, srv))
        cfg.crawl.obey_robots = False
        with open_store(cfg.store) as st:
            summary = run_crawl(cfg, st)
    assert summary.sources[0].found == 4
    assert srv.count("/ok-1.amp.html") == 0  # its canonical twin is in the same feed
    assert srv.count("/amp/ok-2.html") == 1  # no known twin: an AMP page is all we have
    assert srv.count("/solo.amp.html") == 1
