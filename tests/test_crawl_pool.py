"""Extraction in worker processes (``[crawl] workers``): same rows, clean stops, no orphans.

The reference is ``workers = 1``, where the crawl's own process extracts every page. Any
pool size must store exactly what it stores: same articles under the same ids, same texts,
same line keys, same dropped lines, same frontier states. Stops (SIGTERM, Ctrl-C, the
duration budget, ``kill -9``) are checked on a real ``newsdedup crawl`` process, and what
must hold after each is that no process it started outlives it and the store passes
``newsdedup check``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crawler._config import available_cpus, load_config
from crawler._crawl import Crawler, _PagePipeline
from crawler._pipeline import run_crawl
from crawler.fetch import FetchResult
from crawler.fixtures import FixtureServer, build_web
from store import ConfigError, FrontierItem, open_store
from tests.cli import newsdedup, newsdedup_exe
from tests.fixtureweb import sitemap_config
from tests.webserver import Reply, ScriptedServer

pytestmark = [
    pytest.mark.quick,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process checks read /proc"),
]

HOUSE = "The Port Gazette has served the northern coast with independent news since 1921."
WORDS = [
    "harbour",
    "channel",
    "dredging",
    "council",
    "budget",
    "ferry",
    "storm",
    "school",
    "museum",
    "bridge",
    "rail",
    "market",
    "fishing",
    "festival",
    "hospital",
    "library",
    "tunnel",
    "airport",
    "wind",
    "solar",
]
# Columns that say when, not what: they differ between any two runs.
CLOCK_COLUMNS = {"fetched", "discovered", "next_attempt", "claimed_until", "last_fetched"}


@pytest.fixture(scope="module")
def web():
    with FixtureServer(build_web(5)) as srv:
        yield srv


@pytest.fixture(scope="module")
def gazette():
    """One site whose every page carries a house line, learned from the store mid-run.

    Long pages, fetched back to back from a site alone: extraction is slower than
    fetching, so the pages before the one that first learns the line are still being
    extracted when it is handed out.
    """
    paths = [f"/story-{i:02d}.html" for i in range(24)]
    with ScriptedServer() as srv:
        for i, path in enumerate(paths):
            paras = [
                " ".join(WORDS[(i * 7 + k * 3 + j) % len(WORDS)] for j in range(30))
                + f", the report on day {i} said in part {k}."
                for k in range(120)
            ]
            srv.routes[path] = Reply(
                body=(
                    f"<html><head><title>Story {i}</title></head><body><article>"
                    f"<h1>Story {i}</h1>{''.join(f'<p>{p}</p>' for p in paras)}<p>{HOUSE}</p>"
                    "</article></body></html>"
                )
            )
        items = "".join(f"<item><title>{p}</title><link>{srv.base}{p}</link></item>" for p in paths)
        srv.routes["/feed.xml"] = Reply(
            body=f"<?xml version='1.0'?><rss version='2.0'><channel><title>G</title>"
            f"<link>{srv.base}/</link><description>d</description>{items}</channel></rss>",
            content_type="application/rss+xml",
        )
        yield srv


def config(
    folder: Path,
    web: FixtureServer | None,
    *,
    workers: int,
    concurrency: int,
    gazette: ScriptedServer | None = None,
    delay: float = 0.0,
    rules: Path | None = None,
) -> Path:
    if web is not None:
        path = sitemap_config(web, folder, delay=delay, per_host_concurrency=1)
    else:
        path = folder / "c.toml"
        path.write_text(
            f'store = {{ path = "s.db" }}\n[crawl]\nper_host_delay = {delay}\n'
            'allow_hosts = ["127.0.0.1"]\n',
            encoding="utf-8",
        )
    text = path.read_text(encoding="utf-8").replace(
        "[crawl]\n", f"[crawl]\nworkers = {workers}\nconcurrency = {concurrency}\n"
    )
    if gazette is not None:
        text += f'[[sources]]\nurl = "{gazette.base}/feed.xml"\nkind = "feed"\n'
    if rules is not None:
        text += f'[normalize]\nrules = ["{rules}"]\n'
    path.write_text(text, encoding="utf-8")
    return path


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def crawl(folder: Path, web: FixtureServer, **kw) -> tuple[Path, float]:
    """Crawl into a fresh store; the CPU time of child processes reaped meanwhile."""
    folder.mkdir()
    cfg = load_config(config(folder, web, **kw))
    before = children_cpu()
    with open_store(cfg.store) as st:
        summary = run_crawl(cfg, st)
    assert summary.failed == 0 and summary.stored > 0
    return Path(cfg.store), children_cpu() - before


def dump(db: Path, *, by_url: bool = False) -> dict[str, list[tuple]]:
    """Every table the crawl writes, without its clocks; by URL rather than by id when the
    fetch order (and so the ids) may differ between runs."""
    con = sqlite3.connect(db)
    out = {}
    for table, key in (
        ("articles", "id"),
        ("page_lines", "article_id, line_key"),
        ("frontier", "url"),
    ):
        cols = [
            r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] not in CLOCK_COLUMNS
        ]
        out[table] = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {key}").fetchall()
    if by_url:
        url = dict(con.execute("SELECT id, url FROM articles"))
        out["articles"] = sorted(row[1:] for row in out["articles"])
        out["page_lines"] = sorted((url[a], *rest) for a, *rest in out["page_lines"])
    con.close()
    return out


def test_pool_sizes_store_the_same_rows_as_the_crawls_own_process(tmp_path, web):
    """One fetch at a time, so that the fetch order is the same in every run; the pool
    still works ahead of the writes, as fetching goes on while workers extract."""
    ref, _ = crawl(tmp_path / "w1", web, workers=1, concurrency=1)
    pooled, worker_cpu = crawl(tmp_path / "w2", web, workers=2, concurrency=1)
    assert worker_cpu > 0, "no worker process ran"
    a, b = dump(ref), dump(pooled)
    assert len(a["articles"]) == len(web.web.pages)
    assert any(json.loads(row[13] or "[]") for row in a["articles"])  # dropped lines kept
    for table in a:
        assert a[table] == b[table], table


@pytest.mark.slow  # spawns a pool and crawls a whole site: seconds each
def test_template_lines_learned_mid_run_reach_the_workers(tmp_path, gazette):
    """A page that learns its site's template from the store waits for the site's pages
    in flight to be stored first, as if it had been extracted after them."""
    ref, _ = crawl(tmp_path / "w1", None, workers=1, concurrency=1, gazette=gazette)
    pooled, _ = crawl(tmp_path / "w2", None, workers=2, concurrency=1, gazette=gazette)
    a, b = dump(ref), dump(pooled)
    texts = [row[12] for row in a["articles"]]
    assert len(texts) == 24 and HOUSE in texts[0]
    assert not any(HOUSE in t for t in texts[5:]), "the house line was never learned"
    for table in a:
        assert a[table] == b[table], table


def test_pool_sizes_agree_when_fetches_overlap(tmp_path, web):
    """Concurrent fetches finish in any order, so ids may differ; nothing else may."""
    runs = [
        dump(crawl(tmp_path / f"w{n}", web, workers=n, concurrency=8)[0], by_url=True)
        for n in (1, 3)
    ]
    assert runs[0] == runs[1]


@pytest.mark.slow  # spawns a pool and crawls a whole site: seconds each
def test_rules_files_reach_the_workers(tmp_path, web):
    """A user's rules file, loaded by each worker, drops in workers what it drops here."""
    rules = tmp_path / "house.toml"
    rules.write_text(
        '[[rule]]\nname = "test-said"\nkind = "link"\npatterns = [\'\\bsaid\\b\']\n',
        encoding="utf-8",
    )
    ref = dump(crawl(tmp_path / "w1", web, workers=1, concurrency=4, rules=rules)[0], by_url=True)
    pooled = dump(
        crawl(tmp_path / "w2", web, workers=2, concurrency=4, rules=rules)[0], by_url=True
    )
    assert any(
        d["rule"] == "test-said" for row in ref["articles"] for d in json.loads(row[12] or "[]")
    )
    assert ref == pooled


class HeldPool:
    """Stands in for the worker processes: a page's record is back when the test says."""

    broken = None

    def __init__(self) -> None:
        self.futures: list[asyncio.Future] = []

    def submit(self, job) -> asyncio.Future:
        self.futures.append(asyncio.get_running_loop().create_future())
        return self.futures[-1]

    def close(self) -> None:
        pass


def test_a_slow_page_does_not_hold_the_workers_but_bounds_what_is_fetched(tmp_path):
    """Records come back out of order; they are stored in hand-out order. While the first
    page is still being extracted, the pages behind it whose records are back free
    their extraction slots (8 per worker), so fetching goes on, but only up to twice
    that many pages unstored: a stuck page cannot pile up fetched pages in memory."""
    cfg = load_config(config(tmp_path, None, workers=2, concurrency=4))
    item = [
        FrontierItem(url=f"http://h{i}.test/a", host=f"h{i}.test", source="t") for i in range(40)
    ]
    page = b"<html><body><p>Nothing here.</p></body></html>"

    async def scenario(store) -> list[tuple[int, int]]:
        crawler = Crawler(cfg, store)
        pipeline = _PagePipeline(crawler, 2)
        pool = pipeline.pool = HeldPool()
        seen: list[tuple[int, int]] = []  # (handed out, stored) at each step
        write_page = crawler._write_page

        def writing(it, result, record) -> str:
            written.append(it.url)
            return write_page(it, result, record)

        crawler._write_page = writing  # type: ignore[method-assign]

        async def fetch_all() -> None:
            for it in item:
                result = FetchResult(it.url, it.url, 200, body=page, content_type="text/html")
                await pipeline.submit(it, result)

        def step() -> None:
            seen.append((len(pool.futures), crawler.summary.empty_pages))

        fetching = asyncio.create_task(fetch_all())
        await asyncio.sleep(0.05)
        assert not fetching.done()
        step()  # every extraction slot taken, no record back
        for _ in range(4):
            for future in pool.futures[1:]:
                if not future.done():
                    future.set_result(None)
            await asyncio.sleep(0.02)
        step()  # records back behind the first: more pages out, none stored
        pool.futures[0].set_result(None)
        while not fetching.done() or not all(f.done() for f in pool.futures):
            for future in pool.futures:
                if not future.done():
                    future.set_result(None)
            await asyncio.sleep(0.01)
        async with asyncio.timeout(30):
            await pipeline.finish()
        step()
        pipeline.close()
        return seen

    written: list[str] = []
    with open_store(tmp_path / "s.db") as store:
        seen = asyncio.run(scenario(store))
    assert seen == [(16, 0), (32, 0), (40, 40)]
    assert written == [it.url for it in item]  # hand-out order, not the order records came


def test_workers_is_validated_and_defaults_to_the_cpus(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[sources]]\nurl = "http://127.0.0.1:9/feed"\n', encoding="utf-8")
    assert load_config(path).crawl.workers == available_cpus() >= 1
    for bad in ("-1", '"2"', "2.5", "100000"):
        path.write_text(
            f'[crawl]\nworkers = {bad}\n[[sources]]\nurl = "http://x/feed"\n', encoding="utf-8"
        )
        with pytest.raises(ConfigError, match="crawl.workers"):
            load_config(path)


# --------------------------------------------------------------------------- stopping


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every live process below ``pid``."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = {}, [pid]
    while todo:
        p = todo.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in found:
                try:
                    found[child] = (
                        Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    )
                except OSError:
                    continue
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_within(pids, seconds: float = 20.0) -> set[int]:
    """The pids still running after ``seconds`` (an empty set is what the tests want)."""
    deadline = time.monotonic() + seconds
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {p for p in left if alive(p)}
    return left


def start_crawl(cfg: Path, *extra: str, new_session: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [newsdedup_exe(), "-q", "crawl", "--config", str(cfg), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def wait_for_workers(proc: subprocess.Popen, db: Path, stored: int = 10) -> dict[int, str]:
    """Once ``stored`` articles are in, the crawl's processes (its two workers among them)."""
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline and count < stored and proc.poll() is None:
        time.sleep(0.2)
        try:
            with open_store(db) as st:
                count = st.article_count()
        except Exception:  # the crawl may hold the write lock for a moment
            continue
    assert count >= stored, "the crawl never got going"
    procs = descendants(proc.pid)
    workers = {p: c for p, c in procs.items() if "spawn_main" in c}
    assert len(workers) == 2, procs
    return procs


def assert_consistent(db: Path, summary: dict, pages: int) -> None:
    """Every page fetched is stored or still due: none half-written, none lost."""
    check = newsdedup("check", "--store", str(db))
    assert check.returncode == 0, check.stdout + check.stderr
    with open_store(db) as st:
        kept = st.article_count()
        assert kept == summary["stored"]
        assert st.frontier_counts().get("pending", 0) == pages - kept


@pytest.mark.slow  # spawns and kills whole process trees: seconds each
@pytest.mark.parametrize("how", ["SIGTERM to the crawl", "Ctrl-C to its process group"])
def test_a_signal_lets_pages_in_flight_finish_and_ends_the_workers(tmp_path, web, how):
    cfg = config(tmp_path, web, workers=2, concurrency=16, delay=0.2)
    db = tmp_path / "s.db"
    group = how.startswith("Ctrl-C")
    proc = start_crawl(cfg, new_session=group)
    procs = wait_for_workers(proc, db)
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    summary = json.loads(out)
    assert summary["stopped"] == f"stopped by {'SIGINT' if group else 'SIGTERM'}"
    assert summary["failed"] == 0 and "worker" not in err, err
    assert not gone_within(procs), "a process of the crawl outlived it"
    assert_consistent(db, summary, len(web.web.pages))
    assert 10 <= summary["stored"] < len(web.web.pages)


@pytest.mark.slow  # spawns and kills whole process trees: seconds each
def test_max_duration_ends_the_workers_too(tmp_path, web):
    # 16 pages on the biggest host, 0.5 s apart: the whole crawl needs twice the 4 s allowed.
    cfg = config(tmp_path, web, workers=2, concurrency=16, delay=0.5)
    db = tmp_path / "s.db"
    proc = start_crawl(cfg, "--max-duration", "4")
    procs = wait_for_workers(proc, db, stored=5)
    out, err = proc.communicate(timeout=60)
    summary = json.loads(out)
    assert summary["stopped"] == "max duration reached", err
    assert not gone_within(procs)
    assert_consistent(db, summary, len(web.web.pages))


@pytest.mark.slow  # spawns and kills whole process trees: seconds each
def test_kill_9_of_the_crawl_leaves_no_workers_behind(tmp_path, web):
    cfg = config(tmp_path, web, workers=2, concurrency=16, delay=0.2)
    db = tmp_path / "s.db"
    proc = start_crawl(cfg)
    procs = wait_for_workers(proc, db)
    proc.kill()
    proc.communicate(timeout=60)
    assert not gone_within(procs), "workers outlived a crawl killed with SIGKILL"
    check = newsdedup("check", "--store", str(db))
    assert check.returncode == 0, check.stdout + check.stderr
    resumed = newsdedup("-q", "crawl", "--config", str(cfg), "--json")
    assert resumed.returncode == 0, resumed.stderr
    with open_store(db) as st:
        assert st.article_count() == len(web.web.pages)


@pytest.mark.slow  # spawns and kills whole process trees: seconds each
def test_a_killed_worker_costs_only_the_pages_it_had(tmp_path, web):
    """Its pages go back to the frontier, a new worker takes over, the next run ends it."""
    cfg = config(tmp_path, web, workers=2, concurrency=16, delay=0.2)
    db = tmp_path / "s.db"
    proc = start_crawl(cfg)
    procs = wait_for_workers(proc, db)
    os.kill(min(p for p, c in procs.items() if "spawn_main" in c), signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    summary = json.loads(out)
    assert proc.returncode == 0 and summary["failed"] == 0, err
    assert not gone_within(procs)
    with open_store(db) as st:
        assert st.article_count() == summary["stored"]
    resumed = json.loads(newsdedup("-q", "crawl", "--config", str(cfg), "--json").stdout)
    assert summary["stored"] + resumed["stored"] == len(web.web.pages)
    assert newsdedup("check", "--store", str(db)).returncode == 0


@pytest.mark.slow  # spawns and kills whole process trees: seconds each
def test_a_script_without_a_main_guard_still_crawls(tmp_path, web):
    """Spawned workers import the main script again; one that crawls at import time (no
    ``if __name__ == "__main__"``) cannot host a worker, and the crawl extracts in its own
    process instead of failing every page or starting workers forever. (What the workers'
    own imports claimed of the frontier, the next ``newsdedup crawl`` takes back.)"""
    cfg = config(tmp_path, web, workers=2, concurrency=8)
    script = tmp_path / "nightly.py"
    script.write_text(
        textwrap.dedent(f"""
        from crawler._config import load_config
        from crawler._pipeline import run_crawl
        from store import open_store

        cfg = load_config({str(cfg)!r})
        with open_store(cfg.store) as st:
            print("stored", run_crawl(cfg, st).stored)
    """),
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "extracting in the crawl's own process" in out.stderr
    assert int(out.stdout.split()[-1]) > len(web.web.pages) // 2
    again = newsdedup("-q", "crawl", "--config", str(cfg))
    assert again.returncode == 0, again.stderr
    with open_store(tmp_path / "s.db") as st:
        assert st.article_count() == len(web.web.pages)
    assert newsdedup("check", "--store", str(tmp_path / "s.db")).returncode == 0
