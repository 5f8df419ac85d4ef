"""Cron safety: the lock, budgets, SIGTERM mid-crawl and a resumed run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from crawler.fixtures import FixtureServer
from store import RunLock, lock_path, open_store
from tests.cli import newsdedup, newsdedup_exe
from tests.fixtureweb import sitemap_config

pytestmark = pytest.mark.quick


def write_config(server: FixtureServer, tmp_path: Path, delay: float = 0.0) -> Path:
    return sitemap_config(server, tmp_path, delay=delay, per_host_concurrency=1)


@pytest.fixture(scope="module")
def server(news_server):
    return news_server(5)


def article_requests(server: FixtureServer) -> Counter:
    pages = {server.url_for(p) for p in server.web.pages}
    return Counter(
        u
        for u in (f"{server.base_urls[h]}{path}" for _, h, path in list(server.request_log))
        if u in pages
    )


def test_second_run_on_a_locked_store_says_already_running_and_exits_0(server, tmp_path):
    cfg = write_config(server, tmp_path)
    with RunLock(lock_path(tmp_path / "s.db")):
        out = newsdedup("run", "--config", str(cfg))
    assert out.returncode == 0
    assert "already running" in out.stderr
    assert not (tmp_path / "s.db").exists() or open_store(tmp_path / "s.db").article_count() == 0


@pytest.mark.slow
def test_max_pages_budget_leaves_the_rest_for_the_next_run(server, tmp_path):
    cfg = write_config(server, tmp_path)
    first = newsdedup("-q", "crawl", "--config", str(cfg), "--max-pages", "10", "--json")
    summary = json.loads(first.stdout)
    assert summary["fetched"] == 10 and summary["stopped"] == "max pages reached"
    second = newsdedup("-q", "crawl", "--config", str(cfg), "--json")
    assert json.loads(second.stdout)["fetched"] == len(server.web.pages) - 10
    with open_store(tmp_path / "s.db") as st:
        assert st.article_count() == len(server.web.pages)


@pytest.mark.slow
def test_sigterm_mid_crawl_commits_and_a_resumed_run_fetches_only_the_rest(server, tmp_path):
    cfg = write_config(server, tmp_path, delay=0.2)
    before = article_requests(server)
    proc = subprocess.Popen(
        [newsdedup_exe(), "-q", "crawl", "--config", str(cfg), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = tmp_path / "s.db"
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and stored < 15:
        time.sleep(0.2)
        if db.exists():
            try:
                with open_store(db) as st:
                    stored = st.article_count()
            except Exception:  # the crawl may hold the write lock for a moment
                continue
    assert stored >= 15, "the crawl never got going"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    summary = json.loads(out)
    assert summary["stopped"] == "stopped by SIGTERM"
    with open_store(db) as st:
        kept = st.article_count()
        assert kept == summary["stored"] and 15 <= kept < len(server.web.pages)
        assert st.frontier_counts().get("pending", 0) == len(server.web.pages) - kept
    resumed = newsdedup("-q", "crawl", "--config", str(cfg), "--json")
    assert json.loads(resumed.stdout)["stored"] == len(server.web.pages) - kept
    fetched = article_requests(server) - before
    assert set(fetched.values()) == {1}, "a page was fetched twice"
    assert len(fetched) == len(server.web.pages)


@pytest.mark.slow
def test_second_run_uses_conditional_get_and_says_nothing_changed(server, tmp_path):
    cfg = write_config(server, tmp_path)
    newsdedup("-q", "crawl", "--config", str(cfg))
    again = json.loads(newsdedup("-q", "crawl", "--config", str(cfg), "--json").stdout)
    assert again["fetched"] == 0
    for source in again["sources"]:
        assert source["why_empty"] and "not modified" in source["why_empty"], source
