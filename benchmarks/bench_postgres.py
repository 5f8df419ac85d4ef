"""Benchmark: crawlers sharing one PostgreSQL store.

A fixture web of a few thousand article pages is served by a separate process
(``python -m crawler.fixtures``); a throwaway PostgreSQL 15 server (tests/pgserver.py)
holds the store. Each run crawls the whole web into a fresh database with one or with
two ``newsdedup crawl`` processes started together, and times them from start to the
last exit (discovery, fetch, extraction and store writes, plus interpreter start-up).
A single crawler on a SQLite file is the baseline.

Every run is checked, not only timed: every article page must end up as exactly one
frontier row marked done after exactly one attempt, the crawlers' "fetched" counts
must add up to the number of pages, and every page must be stored once. A URL fetched
by both crawlers would show as an attempt count of 2 or a sum above the page count.

    .venv/bin/python benchmarks/bench_postgres.py               # writes RESULTS.md
    .venv/bin/python benchmarks/bench_postgres.py --runs 1 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._results import write_section  # noqa: E402
from store import open_store  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402

HEADING = "PostgreSQL store"
WEB = {"seed": 8, "publishers": 30, "agencies": 4, "stories_per_agency": 100}


@dataclass
class Run:
    backend: str
    crawlers: int
    seconds: float
    pages: int
    fetched_each: list[int]
    cpu: dict[str, float]  # CPU seconds: crawlers, fixture server, PostgreSQL server

    @property
    def rate(self) -> float:
        return self.pages / self.seconds


def start_fixture_web() -> tuple[subprocess.Popen[str], list[str], int]:
    """The fixture server process, its sites' base URLs, and its article page count."""
    cmd = [
        sys.executable,
        "-m",
        "crawler.fixtures",
        "--seed",
        str(WEB["seed"]),
        "--publishers",
        str(WEB["publishers"]),
        "--agencies",
        str(WEB["agencies"]),
        "--stories-per-agency",
        str(WEB["stories_per_agency"]),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    bases: list[str] = []
    for line in proc.stdout:
        if " article pages on " in line:
            return proc, bases, int(line.split()[0])
        bases.append(line.split()[1].rstrip("/"))
    raise RuntimeError("the fixture web exited before printing its URLs")


def write_config(folder: Path, store: str, bases: list[str]) -> Path:
    path = folder / "bench.toml"
    key = "url" if store.startswith("postgresql://") else "path"
    path.write_text(
        f'store = {{ {key} = "{store}" }}\n[crawl]\nper_host_delay = 0\n'
        'allow_hosts = ["127.0.0.1"]\n'
        + "".join(f'[[sources]]\nurl = "{b}/sitemap.xml"\nkind = "sitemap"\n' for b in bases),
        encoding="utf-8",
    )
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children it has reaped (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def postmaster_pid(pg: PostgresServer) -> int:
    return int((pg.data / "postmaster.pid").read_text().split()[0])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def crawl(config: Path, crawlers: int) -> tuple[float, list[dict]]:
    exe = str(Path(sys.executable).with_name("newsdedup"))
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [exe, "-q", "crawl", "--config", str(config), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(crawlers)
    ]
    outs = [p.communicate(timeout=1800) for p in procs]
    seconds = time.perf_counter() - start
    for p, (_, err) in zip(procs, outs, strict=True):
        if p.returncode not in (0, 1):
            raise RuntimeError(f"crawl exited {p.returncode}: {err[-2000:]}")
    return seconds, [json.loads(out) for out, _ in outs]


def check(store: str, pages: int, summaries: list[dict]) -> None:
    """Every page fetched exactly once, by one crawler or the other, and stored once."""
    fetched = sum(s["fetched"] for s in summaries)
    with open_store(store) as st:
        counts = st.frontier_counts()
        twice = int(st._query("SELECT COUNT(*) FROM frontier WHERE attempts <> 1")[0][0])
        articles = st.article_count()
    problems = []
    if counts != {"done": pages}:
        problems.append(f"frontier states {counts}, expected {{'done': {pages}}}")
    if twice:
        problems.append(f"{twice} frontier URLs attempted other than exactly once")
    if fetched != pages:
        problems.append(f"crawlers fetched {fetched} pages in all, the web has {pages}")
    if articles != pages:
        problems.append(f"{articles} articles stored for {pages} pages")
    if problems:
        raise SystemExit("check failed: " + "; ".join(problems))


def one_run(
    backend: str,
    crawlers: int,
    pg: PostgresServer,
    web: int,
    bases: list[str],
    pages: int,
    folder: Path,
    n: int,
) -> Run:
    store = (
        pg.create_database(f"bench_{crawlers}_{n}")
        if backend == "postgresql"
        else str(folder / f"bench_{crawlers}_{n}.db")
    )
    config = write_config(folder, store, bases)
    pids = {"fixture server": web, "PostgreSQL": postmaster_pid(pg)}
    before = {k: cpu_seconds(p) for k, p in pids.items()} | {"crawlers": children_cpu()}
    seconds, summaries = crawl(config, crawlers)
    after = {k: cpu_seconds(p) for k, p in pids.items()} | {"crawlers": children_cpu()}
    check(store, pages, summaries)
    return Run(
        backend,
        crawlers,
        seconds,
        pages,
        [s["fetched"] for s in summaries],
        {k: after[k] - before[k] for k in before},
    )


def render(runs: list[Run], pages: int, hosts: int, load: tuple[float, float]) -> str:
    groups: dict[tuple[str, int], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.backend, r.crawlers), []).append(r)
    base = statistics.median(r.rate for r in groups[("postgresql", 1)])
    lines = [
        f"Fixture web: seed {WEB['seed']}, {WEB['publishers']} publishers, {WEB['agencies']} "
        f"agencies x {WEB['stories_per_agency']} stories: {pages} article pages on {hosts} "
        "hosts, served by one separate `python -m crawler.fixtures` process; crawl config "
        "defaults (concurrency 16, 2 per host) with per_host_delay = 0. PostgreSQL 15 from "
        "tests/pgserver.py (fsync off). Wall time from starting the crawler process(es) to "
        "the last exit, so discovery and interpreter start-up are included. "
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; all processes "
        "(fixture server, PostgreSQL, crawlers) share them, with whatever else runs there: "
        f"1-minute load average {load[0]:.1f} before the runs, {load[1]:.1f} after.",
        "",
        "| store | crawlers | runs | median s | median pages/s | vs 1 on PostgreSQL "
        "| pages fetched per crawler | CPU s: crawlers / fixture server / PostgreSQL "
        "| CPU ms per page, all processes |",
        "|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for (backend, crawlers), rs in groups.items():
        rate = statistics.median(r.rate for r in rs)
        split = "; ".join("/".join(map(str, r.fetched_each)) for r in rs)
        cpu = "; ".join(
            " / ".join(f"{r.cpu[k]:.1f}" for k in ("crawlers", "fixture server", "PostgreSQL"))
            for r in rs
        )
        per_page = statistics.median(1000 * sum(r.cpu.values()) / r.pages for r in rs)
        lines.append(
            f"| {backend} | {crawlers} | {len(rs)} | "
            f"{statistics.median(r.seconds for r in rs):.1f} | {rate:.0f} | "
            f"{rate / base:.2f}x | {split} | {cpu} | {per_page:.1f} |"
        )
    one = [r for r in runs if r.backend == "postgresql" and r.crawlers == 1]
    cpu_bound = (
        os.cpu_count() * 1000 / statistics.median(1000 * sum(r.cpu.values()) / r.pages for r in one)
    )
    lines += [
        "",
        f"Reading it: the whole pipeline costs the CPU per page shown, so "
        f"{os.cpu_count()} idle CPUs could serve at most about {cpu_bound:.0f} pages/s "
        "however many crawlers share the work; a second crawler helps only while one "
        "crawler leaves CPU idle (waiting on slow sites, per-host delays), and its own "
        "discovery pass and start-up add CPU. Crawlers on separate machines sharing one "
        "PostgreSQL server are what the shared frontier is for.",
        "",
        "Every run checked: each of the pages is one frontier row done after exactly "
        "one attempt, the crawlers' fetched counts add up to the page count (no URL "
        "fetched twice, none missed), and each page is stored once.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print, leave RESULTS.md")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    web, bases, pages = start_fixture_web()
    try:
        with PostgresServer() as pg, tempfile.TemporaryDirectory() as tmp:
            runs = []
            for n in range(args.runs):
                for backend, crawlers in (("sqlite", 1), ("postgresql", 1), ("postgresql", 2)):
                    run = one_run(backend, crawlers, pg, web.pid, bases, pages, Path(tmp), n)
                    print(
                        f"{backend} x{crawlers}: {run.seconds:.1f} s, {run.rate:.0f} pages/s,"
                        f" fetched {run.fetched_each}, CPU s {run.cpu}",
                        flush=True,
                    )
                    runs.append(run)
    finally:
        web.terminate()
        web.wait(10)
    body = render(runs, pages, len(bases), (load_before, os.getloadavg()[0]))
    print(body)
    if not args.no_write:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
