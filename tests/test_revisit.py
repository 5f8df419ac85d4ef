"""Revisits (``[crawl] revisit_after``) against a scripted site on 127.0.0.1.

Time is moved by ageing the store's fetch times, never by sleeping: a revisit is due when
its page's last fetch is older than ``revisit_after``, whatever the clock says.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pytest

from crawler._config import ConfigError, load_config
from crawler._pipeline import crawl_lines, run_crawl, run_dedup
from crawler.cli._main import main
from store import open_store, parse_duration
from tests.builders import GAZETTE_FEED, HARBOUR_PARAGRAPHS, article_page, rss
from tests.webserver import Recorded, Reply, ScriptedServer

pytestmark = pytest.mark.quick

OTHER = [
    "The city council voted on Monday to close the old swimming baths on Mill Street, "
    "ending a campaign by residents who had raised money for new changing rooms and a roof.",
    "Councillors said the building would cost more to repair than to replace, and promised "
    "a new leisure centre on the edge of town within five years, subject to funding bids.",
    "Campaigners called the decision short-sighted and said they would ask the courts to "
    "review it, arguing that the council had not consulted the schools that use the pool.",
    "The baths opened in 1904 and are one of the last Edwardian public pools in the county, "
    "with a glass roof and tiled galleries that heritage groups have asked to be listed.",
]


@dataclass
class Site:
    """Pages that answer conditional GETs: by ETag, or by Last-Modified for ``dated``."""

    server: ScriptedServer
    pages: dict[str, str] = field(default_factory=dict)
    dated: set[str] = field(default_factory=set)  # paths validated by Last-Modified only
    feed: list[str] = field(default_factory=list)

    def serve(self, path: str, html: str) -> None:
        self.pages[path] = html
        self.server.routes[path] = self._answer

    def _answer(self, req: Recorded) -> Reply:
        html = self.pages[req.path]
        tag = '"' + hashlib.sha256(html.encode()).hexdigest()[:16] + '"'
        stamp = f"Mon, 02 Mar 2026 0{len(html) % 10}:00:00 GMT"  # changes with the page
        if req.path in self.dated:
            if req.headers.get("if-modified-since") == stamp:
                return Reply(304, content_type=None)
            return Reply(body=html, headers={"Last-Modified": stamp})
        if req.headers.get("if-none-match") == tag:
            return Reply(304, content_type=None)
        return Reply(body=html, headers={"ETag": tag})

    def list_in_feed(self, *paths: str) -> None:
        self.feed = list(paths)
        self.server.routes["/feed.xml"] = Reply(
            body=rss(self.server.base, self.feed, **GAZETTE_FEED),
            content_type="application/rss+xml",
        )

    def fetches(self, path: str) -> list[Recorded]:
        return self.server.requests_for(path)


@pytest.fixture
def site():
    with ScriptedServer() as srv:
        s = Site(srv)
        s.serve("/origin.html", article_page("Harbour plan approved", HARBOUR_PARAGRAPHS))
        s.serve(
            "/copy-1.html",
            article_page(
                "Port to deepen channel",
                ["From our partners at the wire service.", *HARBOUR_PARAGRAPHS],
            ),
        )
        s.serve(
            "/copy-2.html",
            article_page(
                "Bigger ships for the port",
                ["This story first appeared in the Gazette.", *HARBOUR_PARAGRAPHS],
            ),
        )
        s.serve("/other.html", article_page("Swimming baths to close", OTHER))
        s.dated.add("/other.html")
        s.list_in_feed("/origin.html", "/copy-1.html", "/copy-2.html", "/other.html")
        yield s


def write_config(tmp_path, site: Site, revisit_after: str = '"6h"') -> str:
    path = tmp_path / "newsdedup.toml"
    path.write_text(
        f'store = {{ path = "store.db" }}\n'
        f"[crawl]\nper_host_delay = 0.0\ntimeout = 2.0\nmax_retries = 0\nconcurrency = 1\n"
        f'obey_robots = false\nallow_hosts = ["127.0.0.1"]\nrevisit_after = {revisit_after}\n'
        f'[[sources]]\nurl = "{site.server.url("/feed.xml")}"\nkind = "feed"\n',
        encoding="utf-8",
    )
    return str(path)


def age_fetches(store) -> None:
    """Move every recorded fetch a long way into the past: all revisits become due."""
    with store.transaction():
        store._execute(
            "UPDATE frontier SET last_fetched = '2000-01-01T00:00:00+00:00'"
            " WHERE last_fetched IS NOT NULL"
        )


def snapshot(store) -> list[tuple]:
    return store._query(
        "SELECT id, url, title, text, updated, html_sha256 FROM articles ORDER BY id"
    )


def crawl_origin_first(cfg, st, site: Site) -> dict[str, int]:
    """Store the origin before its copies, so that it is its cluster's representative."""
    feed = list(site.feed)
    site.list_in_feed("/origin.html")
    run_crawl(cfg, st)
    site.list_in_feed(*feed)
    run_crawl(cfg, st)
    run_dedup(cfg, st)
    return {a.url.rsplit("/", 1)[1]: a.id for a in st.articles(st.article_ids())}


# -- config ---------------------------------------------------------------------------------


def test_revisit_after_reads_seconds_and_units_and_refuses_nonsense(tmp_path, site):
    assert [parse_duration(v) for v in (0, 45, "45", "90m", "6h", "2d", "1.5h", "1w")] == [
        0,
        45,
        45,
        5400,
        21600,
        172800,
        5400,
        604800,
    ]
    for bad in ("soon", "-1h", -5, True, "5y", "", [6]):
        assert parse_duration(bad) is None
    with pytest.raises(ConfigError, match=r"crawl: revisit_after must be a duration"):
        load_config(write_config(tmp_path, site, '"every now and then"'))
    assert load_config(write_config(tmp_path, site, "90")).crawl.revisit_after == 90


# -- crawling --------------------------------------------------------------------------------


def test_nothing_is_refetched_before_revisit_after(tmp_path, site):
    cfg = load_config(write_config(tmp_path, site))
    with open_store(cfg.store) as st:
        run_crawl(cfg, st)
        again = run_crawl(cfg, st)
    assert again.fetched == 0 and again.revisited == 0
    assert all(len(site.fetches(p)) == 1 for p in site.pages)


def test_off_by_default_even_for_old_fetches(tmp_path, site):
    cfg = load_config(write_config(tmp_path, site, "0"))
    with open_store(cfg.store) as st:
        run_crawl(cfg, st)
        age_fetches(st)
        assert run_crawl(cfg, st).fetched == 0
    assert all(len(site.fetches(p)) == 1 for p in site.pages)


def test_a_due_revisit_is_conditional_and_a_304_changes_only_the_counters(tmp_path, site, capsys):
    path = write_config(tmp_path, site)
    cfg = load_config(path)
    with open_store(cfg.store) as st:
        run_crawl(cfg, st)
        run_dedup(cfg, st)
        before, counts = snapshot(st), st.counts()
        age_fetches(st)
    assert main(["crawl", "--config", path, "--json"]) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert (summary["fetched"], summary["revisited"], summary["not_modified"]) == (4, 4, 4)
    assert summary["stored"] == summary["updated"] == summary["unchanged"] == 0
    assert "revisited 4 stored pages: 4 not modified" in out.err  # the log says so too
    revisit = site.fetches("/origin.html")[-1].headers
    assert revisit.get("if-none-match", "").startswith('"')
    dated = site.fetches("/other.html")[-1].headers
    assert dated.get("if-modified-since", "").endswith("GMT") and "if-none-match" not in dated
    with open_store(cfg.store) as st:
        assert snapshot(st) == before and st.counts() == counts
        assert st.resign_queue() == [] and st.consistency_errors() == []
        _, _, fetched = st.frontier_validators(site.server.url("/origin.html"))
        assert fetched and fetched > "2000"  # the fetch time moved on, nothing else did


def test_a_200_with_the_same_text_counts_as_unchanged(tmp_path, site):
    cfg = load_config(write_config(tmp_path, site))
    with open_store(cfg.store) as st:
        run_crawl(cfg, st)
        before = snapshot(st)
        age_fetches(st)
        # New markup around the same story, and no validators: a full answer every time.
        site.server.routes["/origin.html"] = Reply(
            body=article_page("Harbour plan approved", HARBOUR_PARAGRAPHS).replace(
                "<body>", "<body><!-- v2 -->"
            )
        )
        again = run_crawl(cfg, st)
        assert (again.revisited, again.unchanged, again.not_modified) == (4, 1, 3)
        assert crawl_lines(again)[-1] == "revisited 4: 3 not modified, 1 unchanged, 0 updated"
        assert snapshot(st) == before and st.resign_queue() == []


def test_a_copy_edited_into_another_story_is_updated_in_place_and_leaves_its_cluster(
    tmp_path, site
):
    cfg = load_config(write_config(tmp_path, site))
    with open_store(cfg.store) as st:
        ids = crawl_origin_first(cfg, st, site)
        story = st.clusters_of([ids["origin.html"]])[ids["origin.html"]]
        assert story == ids["origin.html"]
        assert st.clusters_of([ids["copy-1.html"], ids["copy-2.html"]]) == {
            ids["copy-1.html"]: story,
            ids["copy-2.html"]: story,
        }
        site.pages["/copy-1.html"] = article_page(
            "Baths to close", ["From our partners at the wire service.", *OTHER[:3]]
        )
        age_fetches(st)
        again = run_crawl(cfg, st)
        assert (again.updated, again.not_modified, again.stored) == (1, 3, 0)
        assert st.article_count() == 4 and st.resign_queue() == [ids["copy-1.html"]]
        [copy] = st.articles([ids["copy-1.html"]])
        assert copy.title == "Baths to close" and OTHER[0] in copy.text
        result = run_dedup(cfg, st)
        assert (result.signed, result.resigned, result.moved) == (0, 1, 1)
        of = st.clusters_of(list(ids.values()))
        assert of[ids["origin.html"]] == of[ids["copy-2.html"]] == story
        assert of[ids["copy-1.html"]] == of[ids["other.html"]] == ids["other.html"]  # its new story
        assert st.consistency_errors() == []


def test_a_corrected_origin_stays_one_cluster_with_the_same_id(tmp_path, site):
    cfg = load_config(write_config(tmp_path, site))
    with open_store(cfg.store) as st:
        ids = crawl_origin_first(cfg, st, site)
        story = ids["origin.html"]
        members = sorted(ids[p] for p in ("origin.html", "copy-1.html", "copy-2.html"))
        assert st.cluster_member_ids(story) == members
        site.pages["/origin.html"] = article_page(
            "Harbour plan approved (corrected)",
            [
                *HARBOUR_PARAGRAPHS,
                "Correction: an earlier version of this article gave the wrong cost.",
            ],
        )
        age_fetches(st)
        assert run_crawl(cfg, st).updated == 1
        result = run_dedup(cfg, st)
        assert (result.resigned, result.moved) == (1, 0)
        assert st.cluster_member_ids(story) == members
        [origin] = st.articles([story])
        assert "Correction:" in origin.text and origin.title.endswith("(corrected)")
        assert st.consistency_errors() == []


def test_revisits_come_after_new_pages_and_keep_to_max_pages(tmp_path, site):
    cfg = load_config(write_config(tmp_path, site))
    with open_store(cfg.store) as st:
        run_crawl(cfg, st)
        age_fetches(st)
        site.serve("/new-1.html", article_page("Swimming baths: a history", OTHER[1:]))
        site.serve(
            "/new-2.html", article_page("Channel works begin", HARBOUR_PARAGRAPHS[2:] + OTHER[:1])
        )
        site.list_in_feed(*site.feed, "/new-1.html", "/new-2.html")
        first = run_crawl(cfg, st, max_pages=3)
        assert (first.fetched, first.stored, first.revisited) == (3, 2, 1)
        assert first.stopped == "max pages reached"
        rest = run_crawl(cfg, st)
        assert (rest.fetched, rest.revisited, rest.stored) == (3, 3, 0)
        assert run_crawl(cfg, st).fetched == 0  # every revisit was fresh again
    old = [p for p in site.pages if not p.startswith("/new")]
    assert [len(site.fetches(p)) for p in old] == [2] * len(old)  # each revisited once
    assert [len(site.fetches(p)) for p in ("/new-1.html", "/new-2.html")] == [1, 1]
