"""Crash safety: `kill -9` a cron run at random moments, restart it, and lose nothing.

A run is SIGKILLed after a seeded random delay (anywhere from interpreter start-up through
crawl, dedup and report), again and again, then allowed to finish. The store must then
pass `newsdedup check` and hold exactly the articles, and the same cluster partition, as
a store filled by one clean, uninterrupted run. `NEWSDEDUP_KILLS=50` runs the long
version; the default keeps CI quick.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli import newsdedup, newsdedup_exe
from tests.fixtureweb import sitemap_config

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("NEWSDEDUP_KILLS", "8"))
SEED = int(os.environ.get("NEWSDEDUP_KILL_SEED", "9"))


@pytest.fixture(scope="module")
def server(news_server):
    return news_server(3)


def snapshot(db: Path) -> tuple[set[str], set[frozenset[str]]]:
    """(article URLs, cluster partition as sets of URLs): ids may differ, these may not."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        urls = {u for (u,) in con.execute("SELECT url FROM articles")}
        clusters: dict[int, set[str]] = {}
        for url, cluster in con.execute(
            "SELECT a.url, m.cluster_id FROM articles a JOIN memberships m ON m.article_id = a.id"
        ):
            clusters.setdefault(cluster, set()).add(url)
    finally:
        con.close()
    return urls, {frozenset(c) for c in clusters.values()}


def finish(cfg: Path) -> subprocess.CompletedProcess[str]:
    out = newsdedup("-q", "run", "--config", str(cfg))
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_kill_9_at_random_points_loses_nothing(server, tmp_path):
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    clean_dir.mkdir()
    killed_dir.mkdir()
    clean_cfg = sitemap_config(server, clean_dir)
    started = time.monotonic()
    finish(clean_cfg)
    clean_time = time.monotonic() - started
    expected_urls, expected_clusters = snapshot(clean_dir / "s.db")
    assert len(expected_urls) == len(server.web.pages)

    cfg = sitemap_config(server, killed_dir)
    rng = random.Random(SEED)
    killed = finished = 0
    while killed < KILLS:  # a run that finishes before its kill is restarted, not counted
        proc = subprocess.Popen(
            [newsdedup_exe(), "-q", "run", "--config", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Anywhere in a whole run, start-up included: the window scales with this machine.
        time.sleep(rng.uniform(0.0, clean_time * 1.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        else:
            finished += 1
            assert proc.returncode == 0
        proc.wait(timeout=60)
        assert finished <= 2 * KILLS + 5, "runs keep finishing before their kill"

    finish(cfg)
    check = newsdedup("check", "--config", str(cfg))
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith("ok")
    urls, clusters = snapshot(killed_dir / "s.db")
    assert urls == expected_urls, f"missing {sorted(expected_urls - urls)[:5]}"
    assert clusters == expected_clusters
    print(
        f"\n{killed} runs killed with SIGKILL ({finished} finished first); the store lost nothing"
    )
