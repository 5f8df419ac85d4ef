"""Crawl-throughput benchmark: newsdedup against Scrapy on the fixture web.

What runs, each in its own process so that peak RSS (ru_maxrss) is that contender's own
and no two share a GIL:

- the **server**: the fixture web (default 22,899 article pages on 66 hosts) served on
  127.0.0.1, one port per host, pinned to CPU 0. The stock ``FixtureServer`` renders every
  page on request (~1 ms of Python each) in a thread per connection; measured with wrk it
  tops out below the rate the crawlers reach, so the throughput runs use ``--server fast``:
  the *same bytes* (every page pre-rendered by the fixture's own ``page_for`` for the real
  ports), served by a small asyncio HTTP/1.1 keep-alive server. wrk measures the ceiling of
  both servers so the table shows the crawlers were not server-bound.
- each **contender**, pinned to CPU 1, one after the other against the same server:
  1. ``ours: fetch+raw store`` — newsdedup's ``Fetcher`` (robots, SSRF guard, per-host
     slots, size cap: everything on) fetching the URL list and storing raw HTML in SQLite.
  2. ``scrapy: fetch+raw store`` — a minimal Scrapy spider (``_scrapy_spider.py``), same
     URL list, same limits, same ``RawHtmlStore``. Rows 1 and 2 are the apples-to-apples pair.
  3. ``ours: full crawl`` — ``run_crawl``, as ``newsdedup crawl`` does it: sitemap
     discovery, fetch, extraction, normalization, one store transaction per article; once
     per ``--workers`` value (``[crawl] workers``: 1 extracts in the crawl's own process,
     2 in two worker processes). These children are not pinned: a pool of two needs both
     CPUs, so every full-crawl row runs under the same rule, beside the server on CPU 0.
     Their CPU time and peak RSS include the worker processes.
- a **politeness** run, twice: a small web, ``run_crawl`` with ``per_host_delay = d`` and
  concurrency above the number of hosts; the smallest gap between two requests to one host,
  taken at the server, must be >= d (minus an allowance for the server's own timing, see
  ``allowance``). Once at a server that logs the
  kernel's receive time of each request (SO_TIMESTAMPNS: immune to the server process being
  descheduled), once at the stock ``FixtureServer.request_log`` (handler-thread time). The
  crawler's own send times are logged too, to tell pacing from server jitter.

The URL list interleaves hosts round-robin, the order a crawler frontier should hand out.
Timing starts when a contender sends its first request and stops when its last page is
committed (interpreter start-up and shutdown excluded, for every contender alike).

    .venv/bin/python benchmarks/bench_crawl.py                      # ~4 min (--runs 2: ~8 min)
    .venv/bin/python benchmarks/bench_crawl.py --pages 3000 --hosts 20 --no-write   # quick
    .venv/bin/python benchmarks/bench_crawl.py --crawler-src /tmp/patched  # try a fix
    BENCH_CRAWL_PROFILE=/tmp/crawl.pstats .venv/bin/python benchmarks/bench_crawl.py \
        --contenders ours-full --workers 2 --no-write   # cProfile the crawl's own process
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
SELF = str(Path(__file__).resolve())
HEADING = "Crawl throughput"
USER_AGENT = "newsdedup-bench/0.1 (+https://example.invalid/newsdedup)"
SERVER_CPU, CRAWLER_CPU = 0, 1
COPIES_PER_STORY = 4.52  # article pages per agency story in build_web, measured at seed 7
JITTER_ALLOWANCE = 0.005  # seconds: server-side timestamps are taken in handler threads


# --------------------------------------------------------------------------- raw store


class RawHtmlStore:
    """Raw HTML into SQLite, batched; the one store both fetch-only contenders use.

    Same pragmas as newsdedup's store (WAL, synchronous=NORMAL) so neither side pays for
    durability the other skips.
    """

    def __init__(self, path: str | Path, batch: int = 200) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, status INTEGER, body BLOB)"
        )
        self.batch = batch
        self.pending: list[tuple[str, int, bytes]] = []

    def add(self, url: str, status: int, body: bytes) -> None:
        self.pending.append((url, status, body))
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", self.pending)
        self.conn.execute("COMMIT")
        self.pending.clear()

    def close(self) -> None:
        self.flush()
        self.conn.close()


# --------------------------------------------------------------------------- web sizing


@dataclass
class WebSize:
    publishers: int
    agencies: int
    stories_per_agency: int
    own_stories: int

    def args(self) -> list[str]:
        return [
            "--publishers",
            str(self.publishers),
            "--agencies",
            str(self.agencies),
            "--stories",
            str(self.stories_per_agency),
            "--own",
            str(self.own_stories),
        ]


def web_size(pages: int, hosts: int) -> WebSize:
    """build_web parameters for about `pages` article pages on `hosts` hosts.

    The default (22,899 pages, 66 hosts) is the brief's 60 publishers + 6 agencies.
    """
    agencies = max(1, round(hosts / 11))
    publishers = max(2, hosts - agencies)
    own = min(20, max(1, pages // (4 * publishers)))
    stories = max(1, round((pages - publishers * own) / (agencies * COPIES_PER_STORY)))
    return WebSize(publishers, agencies, stories, own)


def interleave(per_host: dict[str, list[str]]) -> list[str]:
    """Round-robin over hosts: the order a frontier should hand URLs to workers."""
    out: list[str] = []
    lists = [list(v) for v in per_host.values()]
    for i in range(max((len(v) for v in lists), default=0)):
        out.extend(v[i] for v in lists if i < len(v))
    return out


def min_gaps(log: list[tuple[float, str, str]]) -> dict[str, float]:
    """Per host, the smallest gap between two consecutive requests the server saw."""
    times: dict[str, list[float]] = defaultdict(list)
    for t, host, _path in log:
        times[host].append(t)
    gaps = {}
    for host, ts in times.items():
        ts.sort()
        if len(ts) > 1:
            gaps[host] = min(b - a for a, b in zip(ts, ts[1:], strict=False))
    return gaps


# --------------------------------------------------------------------------- server child


_RENDER: dict[str, Any] = {}  # the web and base URLs, inherited by forked render workers


def _render_host(host: str) -> list[tuple[str, int, str, bytes]]:
    web, bases = _RENDER["web"], _RENDER["bases"]
    paths = [p.path for p in web.pages if p.host == host] + ["/robots.txt", "/sitemap.xml"]
    out = []
    for path in paths:
        res = web.page_for(host, path, bases[host])
        if res is not None:
            out.append((path, *res))
    return out


def _response(status: int, ctype: str, body: bytes) -> tuple[bytes, bytes]:
    reason = {200: "OK", 404: "Not Found"}.get(status, "OK")
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    head = (
        f"HTTP/1.1 {status} {reason}\r\nServer: bench-fast\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nETag: {etag}\r\n\r\n"
    ).encode("latin-1")
    return head, body


_NOT_FOUND = _response(404, "text/html; charset=utf-8", b"<html><body>404</body></html>")


class _FastHttp(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive: parse the request line, answer from a dict of bytes."""

    def __init__(self, host: str, server: _FastServer) -> None:
        self.host, self.server, self.buf = host, server, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end], self.buf[end + 4 :]
            line = head.split(b"\r\n", 1)[0]
            parts = line.split(b" ")
            if len(parts) < 2:
                self.transport.close()
                return
            method, path = parts[0], parts[1]
            head_part, body = self.server.lookup(self.host, path)
            self.transport.write(head_part if method == b"HEAD" else head_part + body)
            if b"connection: close" in head.lower():
                self.transport.close()
                return


class _FastServer:
    def __init__(
        self, web: Any, bases: dict[str, str], tables: dict[str, dict[bytes, tuple[bytes, bytes]]]
    ) -> None:
        self.web, self.bases, self.tables = web, bases, tables
        self.requests: dict[str, int] = defaultdict(int)
        self.fallbacks = 0
        self.connections = 0
        self.log: list[tuple[float, str, str]] | None = None  # kept only when asked for

    def stats(self) -> dict[str, int]:
        return {
            "requests": sum(self.requests.values()),
            "connections": self.connections,
            "fallbacks": self.fallbacks,
        }

    def lookup(self, host: str, raw_path: bytes) -> tuple[bytes, bytes]:
        self.requests[host] += 1
        if self.log is not None:
            self.log.append((time.monotonic(), host, raw_path.decode("latin-1")))
        table = self.tables[host]
        hit = table.get(raw_path)
        if hit is None:  # rare (homepage, feeds): render once with the fixture's own code
            self.fallbacks += 1
            res = self.web.page_for(host, raw_path.decode("latin-1"), self.bases[host])
            hit = table[raw_path] = _NOT_FOUND if res is None else _response(*res)
        return hit


_SO_TIMESTAMPNS = 35  # Linux; Python's socket module does not export it


def _serve_kernel_stamped(
    socks: dict[str, socket.socket], server: _FastServer, stop: threading.Event
) -> None:
    """Same answers as the fast server, but each request is logged with the time the kernel
    received its bytes (SO_TIMESTAMPNS), not when this process got round to it.

    On a shared two-core box a user-space server can be descheduled for tens of ms, which
    shows up as fake sub-delay gaps; the kernel's receive stamp does not move with that.
    """
    import selectors
    import struct

    sel = selectors.DefaultSelector()
    for host, s in socks.items():
        sel.register(s, selectors.EVENT_READ, (host, None))
    log = server.log if server.log is not None else []
    offset = time.time() - time.monotonic()  # kernel stamps are wall-clock; log monotonic
    while not stop.is_set():
        for key, _ in sel.select(0.05):
            host, buf = key.data
            sock = key.fileobj
            if buf is None:  # a listening socket
                conn, _addr = sock.accept()
                conn.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(conn, selectors.EVENT_READ, (host, bytearray()))
                continue
            try:
                data, anc, _flags, _addr = sock.recvmsg(65536, socket.CMSG_SPACE(16))
            except OSError:
                data, anc = b"", []
            if not data:
                sel.unregister(sock)
                sock.close()
                continue
            stamp = None
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(raw) >= 16:
                    sec, nsec = struct.unpack("qq", raw[:16])
                    stamp = sec + nsec / 1e9 - offset
            buf += data
            while (end := buf.find(b"\r\n\r\n")) >= 0:
                head = bytes(buf[:end])
                del buf[: end + 4]
                path = head.split(b"\r\n", 1)[0].split(b" ")[1]
                head_part, body = server.lookup(host, path)
                if stamp is not None:  # lookup logged user-space time; use the kernel's
                    log[-1] = (stamp, host, log[-1][2])
                sock.sendall(head_part + body)


def _wait_stdin_eof() -> None:
    with contextlib.suppress(Exception):
        while sys.stdin.buffer.read(65536):
            pass


def serve_main(argv: list[str]) -> int:
    """Child: build the web, serve it, print one JSON line, serve until stdin closes."""
    p = argparse.ArgumentParser(prog="bench_crawl.py _serve")
    p.add_argument("--mode", choices=("fast", "stock", "kernel"), default="fast")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--publishers", type=int, required=True)
    p.add_argument("--agencies", type=int, required=True)
    p.add_argument("--stories", type=int, required=True)
    p.add_argument("--own", type=int, required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--log", help="write the request log (JSON) here at exit")
    a = p.parse_args(argv)
    from crawler.fixtures import FixtureServer, build_web

    web = build_web(
        a.seed,
        publishers=a.publishers,
        agencies=a.agencies,
        stories_per_agency=a.stories,
        own_stories_per_publisher=a.own,
    )
    work = Path(a.workdir)

    def announce(bases: dict[str, str], render_s: float) -> None:
        by_host: dict[str, list[str]] = {h: [] for h in web.hosts}
        for page in web.pages:
            by_host[page.host].append(bases[page.host] + page.path)
        urls = interleave(by_host)
        (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
        (work / "paths0.txt").write_text(
            "\n".join(u.removeprefix(bases[web.hosts[0]]) for u in by_host[web.hosts[0]]),
            encoding="utf-8",
        )
        info = {
            "pages": len(web.pages),
            "hosts": len(web.hosts),
            "bases": bases,
            "sitemaps": [bases[h] + "/sitemap.xml" for h in web.hosts],
            "render_s": render_s,
        }
        print(json.dumps(info), flush=True)

    if a.mode == "stock":
        with FixtureServer(web) as srv:
            announce(dict(srv.base_urls), 0.0)
            _wait_stdin_eof()
            if a.log:
                Path(a.log).write_text(json.dumps(srv.request_log), encoding="utf-8")
        return 0

    socks, bases = {}, {}
    for host in web.hosts:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1024)
        socks[host], bases[host] = s, f"http://127.0.0.1:{s.getsockname()[1]}"
    t0 = time.perf_counter()
    _RENDER.update(web=web, bases=bases)
    import multiprocessing as mp

    with mp.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        rendered = pool.map(_render_host, web.hosts, chunksize=1)
    tables = {
        h: {path.encode("latin-1"): _response(st, ct, body) for path, st, ct, body in rows}
        for h, rows in zip(web.hosts, rendered, strict=True)
    }
    del rendered
    render_s = time.perf_counter() - t0
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {SERVER_CPU})
    server = _FastServer(web, bases, tables)
    if a.log:
        server.log = []
    if a.mode == "kernel":
        stop = threading.Event()
        announce(bases, render_s)
        worker = threading.Thread(target=_serve_kernel_stamped, args=(socks, server, stop))
        worker.start()
        _wait_stdin_eof()
        stop.set()
        worker.join()
        if a.log:
            Path(a.log).write_text(json.dumps(server.log), encoding="utf-8")
        return 0
    loop = asyncio.new_event_loop()
    for host, s in socks.items():
        loop.run_until_complete(
            loop.create_server(lambda h=host: _FastHttp(h, server), sock=s, backlog=1024)
        )
    announce(bases, render_s)

    def control() -> None:
        """Each line on stdin asks for the counters (one JSON line back); EOF stops."""
        for _line in sys.stdin:
            done = threading.Event()
            reply: list[dict] = []
            loop.call_soon_threadsafe(lambda r=reply, d=done: (r.append(server.stats()), d.set()))
            done.wait()
            print(json.dumps(reply[0]), flush=True)
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=control, daemon=True).start()
    loop.run_forever()
    if a.log:
        Path(a.log).write_text(json.dumps(server.log), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------- crawler children


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU of this process: unlike wall time, blind to other tenants' load.

    ``children``: plus its children waited for so far (a crawl's extraction workers, once
    their pool has shut down).
    """
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime
    if children:
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += ch.ru_utime + ch.ru_stime
    return cpu


def _finish(result: dict) -> int:
    import crawler

    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + result.pop(
        "workers_kib", 0
    )
    result["crawler_src"] = str(Path(crawler.__file__).resolve().parent)
    print(json.dumps(result), flush=True)
    return 0


def ours_fetch_main(argv: list[str]) -> int:
    """Child: newsdedup's Fetcher over the URL list, raw HTML into RawHtmlStore."""
    p = argparse.ArgumentParser(prog="bench_crawl.py _ours_fetch")
    p.add_argument("--urls", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--per-host", type=int, default=2)
    p.add_argument("--batch", type=int, default=200)
    a = p.parse_args(argv)
    from crawler.fetch._fetcher import FetchConfig, Fetcher

    urls = Path(a.urls).read_text(encoding="utf-8").split()
    cfg = FetchConfig(
        user_agent=USER_AGENT,
        concurrency=a.concurrency,
        per_host_concurrency=a.per_host,
        per_host_delay=0.0,
        obey_robots=True,
        allow_hosts=["127.0.0.1"],
    )
    store = RawHtmlStore(a.out, batch=a.batch)
    counts = {"pages": 0, "failed": 0}

    async def crawl() -> float:
        todo = iter(urls)
        async with Fetcher(cfg) as fetcher:
            start, cpu0 = time.perf_counter(), cpu_seconds()

            async def worker() -> None:
                for url in todo:  # one shared iterator: the next free worker takes the next URL
                    res = await fetcher.fetch(url, kind="page")
                    if res.ok:
                        store.add(url, res.status or 0, res.body)
                        counts["pages"] += 1
                    else:
                        counts["failed"] += 1

            await asyncio.gather(*(worker() for _ in range(a.concurrency)))
            store.close()
            counts["cpu_s"] = cpu_seconds() - cpu0
            return time.perf_counter() - start

    seconds = asyncio.run(crawl())
    return _finish({**counts, "seconds": seconds})


def _log_sends() -> list[tuple[float, str, str]]:
    """Record when each request's headers start to leave, client side.

    The politeness check is made at the server; this log, on the same monotonic clock
    (CLOCK_MONOTONIC is system-wide), shows how much of a server-side gap below the delay
    is the server's own scheduling jitter rather than the crawler's pacing.
    """
    from httpcore._async.http11 import AsyncHTTP11Connection

    sent: list[tuple[float, str, str]] = []
    original = AsyncHTTP11Connection._send_request_headers

    async def logged(self: Any, request: Any) -> None:
        url = request.url
        sent.append((time.monotonic(), f"{url.host.decode()}:{url.port}", url.target.decode()))
        await original(self, request)

    AsyncHTTP11Connection._send_request_headers = logged
    return sent


def ours_full_main(argv: list[str]) -> int:
    """Child: the whole ``newsdedup crawl`` path (load_config, open_store, run_crawl)."""
    p = argparse.ArgumentParser(prog="bench_crawl.py _ours_full")
    p.add_argument("--config", required=True)
    p.add_argument("--send-log", help="write (monotonic, host:port, path) per request sent")
    a = p.parse_args(argv)
    sent = _log_sends() if a.send_log else None
    from crawler._config import load_config
    from crawler._pipeline import run_crawl
    from store import open_store

    cfg = load_config(a.config)
    with open_store(cfg.store) as store:
        start, cpu0, main0 = time.perf_counter(), cpu_seconds(children=True), cpu_seconds()
        profile = os.environ.get("BENCH_CRAWL_PROFILE")  # a path: the crawl's own process
        if profile:
            import cProfile

            with cProfile.Profile() as prof:
                summary = run_crawl(cfg, store)
            prof.dump_stats(profile)
        else:
            summary = run_crawl(cfg, store)
        seconds, cpu = time.perf_counter() - start, cpu_seconds(children=True) - cpu0
        main_cpu = cpu_seconds() - main0
    if sent is not None:
        Path(a.send_log).write_text(json.dumps(sent), encoding="utf-8")
    pool = cfg.crawl.workers if cfg.crawl.workers > 1 else 0
    # ru_maxrss of the children is the largest one's: times the pool size, an upper bound.
    workers_kib = pool * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return _finish(
        {
            "pages": summary.stored,
            "fetched": summary.fetched,
            "failed": summary.failed,
            "empty": summary.empty_pages,
            "seconds": seconds,
            "cpu_s": cpu,
            "main_cpu_s": main_cpu,
            "workers": cfg.crawl.workers,
            "workers_kib": workers_kib,
        }
    )


# --------------------------------------------------------------------------- orchestration


def _pin(cpu: int):
    def pin() -> None:
        with contextlib.suppress(OSError, ValueError):
            os.sched_setaffinity(0, {cpu})

    return pin if (os.cpu_count() or 1) > 1 else None


@dataclass
class Server:
    proc: subprocess.Popen
    info: dict

    def stats(self) -> dict[str, int]:
        """The fast server's counters so far (requests, TCP connections accepted)."""
        self.proc.stdin.write(b"stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(size: WebSize, workdir: Path, mode: str, log: Path | None = None) -> Server:
    cmd = [sys.executable, SELF, "_serve", "--mode", mode, "--workdir", str(workdir), *size.args()]
    if log is not None:
        cmd += ["--log", str(log)]
    # Stock mode is pinned from the start; fast mode renders on both cores, then pins itself.
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        preexec_fn=_pin(SERVER_CPU) if mode == "stock" else None,
    )
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"server ({mode}) did not start")
    return Server(proc, json.loads(line))


def run_child(
    cmd: list[str], env_src: str | None = None, timeout: float = 900, *, pin: bool = True
) -> dict:
    env = dict(os.environ)
    if env_src:
        env["PYTHONPATH"] = env_src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        preexec_fn=_pin(CRAWLER_CPU) if pin else None,
        timeout=timeout,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{cmd[1:3]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def wrk_ceiling(server: Server, workdir: Path, connections: int, seconds: int) -> float | None:
    """Requests/s wrk gets from one host of `server`, cycling over that host's articles."""
    if shutil.which("wrk") is None:
        return None
    paths = (workdir / "paths0.txt").read_text(encoding="utf-8").split()
    script = workdir / "cycle.lua"
    script.write_text(
        "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
        "i = 0\nrequest = function()\n  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\nend\n",
        encoding="utf-8",
    )
    base = next(iter(server.info["bases"].values()))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        preexec_fn=_pin(CRAWLER_CPU),
    )
    m = re.search(r"Requests/sec:\s*([\d.]+)", out.stdout)
    return float(m.group(1)) if m else None


def write_config(
    path: Path,
    store: Path,
    sitemaps: list[str],
    concurrency: int,
    per_host: int,
    delay: float,
    workers: int | None = None,
) -> Path:
    lines = [
        f'store = {{ path = "{store}" }}',
        "",
        "[crawl]",
        f"concurrency = {concurrency}",
        f"per_host_concurrency = {per_host}",
        f"per_host_delay = {delay}",
        "obey_robots = true",
        f'user_agent = "{USER_AGENT}"',
        'allow_hosts = ["127.0.0.1"]',
        "",
    ]
    if workers is not None:
        lines.insert(-1, f"workers = {workers}")
    for url in sitemaps:
        lines += ["[[sources]]", f'url = "{url}"', 'kind = "sitemap"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class Row:
    name: str
    does: str
    result: dict
    extra: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.result["pages"] / self.result["seconds"] if self.result["seconds"] else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.result["pages"] / self.result["cpu_s"] if self.result["cpu_s"] else 0.0

    @property
    def rss_mib(self) -> float:
        return self.result["maxrss_kib"] / 1024


def contender_runs(contenders: list[str], workers: list[int]) -> list[tuple[str, int | None]]:
    """(contender, workers) in running order: the full crawl once per pool size."""
    return [(name, w) for name in contenders for w in (workers if name == "ours-full" else [None])]


def throughput(a: argparse.Namespace, workdir: Path) -> tuple[dict, list[Row], dict]:
    size = web_size(a.pages, a.hosts)
    ceilings: dict[str, float | None] = {}
    if not a.no_wrk:
        stock = start_server(size, workdir, "stock")
        try:
            ceilings["stock"] = wrk_ceiling(stock, workdir, a.concurrency, a.wrk_seconds)
        finally:
            stock.stop()
    server = start_server(size, workdir, "fast")
    info = server.info
    print(
        f"web: {info['pages']} pages on {info['hosts']} hosts "
        f"(pre-rendered in {info['render_s']:.1f} s)",
        flush=True,
    )
    rows: list[Row] = []
    py = sys.executable
    urls = str(workdir / "urls.txt")
    common = ["--concurrency", str(a.concurrency), "--per-host", str(a.per_host)]
    try:
        if not a.no_wrk:
            ceilings["fast"] = wrk_ceiling(server, workdir, a.concurrency, a.wrk_seconds)
            print(f"server ceiling (wrk, req/s): {ceilings}", flush=True)
        for run in range(a.runs):
            for name, pool in contender_runs(a.contenders, a.workers):
                before = server.stats()
                load = os.getloadavg()[0]
                out = workdir / f"{name}{pool or ''}-{run}.db"
                for stale in workdir.glob(f"{out.name}*"):
                    stale.unlink()
                if name == "ours-fetch":
                    res = run_child(
                        [py, SELF, "_ours_fetch", "--urls", urls, "--out", str(out), *common],
                        a.crawler_src,
                    )
                    row = Row(
                        "ours: fetch + raw store",
                        "`Fetcher` over the URL list, raw HTML into SQLite",
                        res,
                    )
                elif name == "scrapy":
                    cmd = [
                        py,
                        str(HERE / "_scrapy_spider.py"),
                        "--urls",
                        urls,
                        "--out",
                        str(out),
                        *common,
                    ]
                    if a.scrapy_reactor:
                        cmd += ["--reactor", a.scrapy_reactor]
                    res = run_child(cmd)
                    row = Row(
                        "scrapy: fetch + raw store",
                        "minimal spider over the URL list, raw HTML into SQLite (same store class)",
                        res,
                    )
                else:
                    cfg = write_config(
                        workdir / f"full-{run}.toml",
                        out,
                        info["sitemaps"],
                        a.concurrency,
                        a.per_host,
                        0.0,
                        workers=pool,
                    )
                    res = run_child(
                        [py, SELF, "_ours_full", "--config", str(cfg)], a.crawler_src, pin=False
                    )
                    where = (
                        "in the crawl's process"
                        if (pool or 0) <= 1
                        else f"in {pool} worker processes"
                    )
                    row = Row(
                        f"ours: full crawl, workers={pool}",
                        "`run_crawl`: sitemaps, "
                        f"fetch, extract and normalize ({where}), store articles",
                        res,
                    )
                after = server.stats()
                row.extra = {k: after[k] - before[k] for k in ("requests", "connections")}
                row.extra.update(load=load, run=run)
                rows.append(row)
                print(
                    f"  run {run + 1} {row.name:28s} {res['pages']:6d} pages "
                    f"{res['seconds']:7.1f} s {row.rate:8.0f} pages/s "
                    f"{res['cpu_s']:7.1f} cpu-s {row.cpu_rate:8.0f} pages/cpu-s "
                    f"{row.rss_mib:6.0f} MiB  {row.extra['connections']:6d} conns  "
                    f"failed {res.get('failed', 0)}  load {load:.2f}  "
                    f"[{res.get('crawler_src', '')}]",
                    flush=True,
                )
        stats = server.stats()
    finally:
        server.stop()
    return info, rows, {"ceilings": ceilings, "server": stats}


def politeness(a: argparse.Namespace, workdir: Path, mode: str) -> dict:
    size = web_size(a.polite_pages, a.polite_hosts)
    log, sent_log = workdir / "polite-log.json", workdir / "polite-sent.json"
    log.unlink(missing_ok=True)
    server = start_server(size, workdir, mode, log=log)
    try:
        store = workdir / "polite.db"
        for stale in workdir.glob("polite.db*"):
            stale.unlink()
        cfg = write_config(
            workdir / "polite.toml",
            store,
            server.info["sitemaps"],
            a.polite_concurrency,
            a.per_host,
            a.delay,
        )
        res = run_child(
            [sys.executable, SELF, "_ours_full", "--config", str(cfg), "--send-log", str(sent_log)],
            a.crawler_src,
        )
    finally:
        server.stop()
    entries = [tuple(e) for e in json.loads(log.read_text(encoding="utf-8"))]
    gaps = min_gaps(entries)
    worst_host = min(gaps, key=gaps.get)
    # Client side, keyed like the server log, to tell pacing from server jitter.
    port_host = {b.rsplit(":", 1)[1]: h for h, b in server.info["bases"].items()}
    sent = [
        (t, port_host.get(k.rsplit(":", 1)[1], k), path)
        for t, k, path in json.loads(sent_log.read_text(encoding="utf-8"))
    ]
    client_gaps = min_gaps(sent)
    seen = {(h, p): t for t, h, p in sent}
    skews = sorted(t - seen[(h, p)] for t, h, p in entries if (h, p) in seen)
    ideal = max(len([e for e in entries if e[1] == h]) for h in gaps) * a.delay
    return {
        "server": mode,
        "pages": server.info["pages"],
        "hosts": server.info["hosts"],
        "delay": a.delay,
        "concurrency": a.polite_concurrency,
        "requests": len(entries),
        "min_gap": gaps[worst_host],
        "worst_host": worst_host,
        "client_min_gap": min(client_gaps.values()),
        "skew_min": skews[0],
        "skew_median": skews[len(skews) // 2],
        "skew_max": skews[-1],
        "ideal_s": ideal,
        "seconds": res["seconds"],
        "stored": res["pages"],
        "allowance": allowance(mode, skews),
        "ok": gaps[worst_host] >= a.delay - allowance(mode, skews),
    }


def allowance(mode: str, skews: list[float]) -> float:
    """How far below the delay a server-side gap may fall before it says the crawler sent
    too early. Kernel receive times are exact to well under JITTER_ALLOWANCE. The stock
    server stamps a request when its handler thread runs, up to tens of milliseconds after
    it arrived and by a different delay each time: two stamps are that spread apart at most
    by the server's own timing, whatever the crawler did, so that spread is its allowance.
    """
    if mode == "kernel" or not skews:
        return JITTER_ALLOWANCE
    return max(JITTER_ALLOWANCE, skews[-1] - skews[0])


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("httpx", "httpcore", "scrapy", "twisted"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def pool_lines(rows: list[Row], best: dict[str, Row]) -> list[str]:
    """The full crawl at each pool size against workers=1, run by run and best of runs."""
    full = [r for r in rows if r.result.get("workers") is not None]
    base = {n: r for n, r in best.items() if r.result.get("workers") == 1}
    if not full or not base:
        return []
    one = next(iter(base.values()))
    by_run: dict[int, dict[int, Row]] = defaultdict(dict)
    for row in full:
        by_run[row.extra["run"]][row.result["workers"]] = row
    out = []
    for w in sorted({r.result["workers"] for r in full} - {1}):
        mine = best.get(f"ours: full crawl, workers={w}")
        if mine is None:
            continue
        runs = ", ".join(
            f"{d[w].rate / d[1].rate:.2f}×"
            for d in by_run.values()
            if w in d and 1 in d and d[1].rate
        )
        r, pages = mine.result, mine.result["pages"]
        main_ms, all_ms = 1000 * r["main_cpu_s"] / pages, 1000 * r["cpu_s"] / pages
        one_ms = 1000 * one.result["cpu_s"] / one.result["pages"]
        cpus = os.cpu_count() or 1
        bound = min(1000 / main_ms, 1000 * cpus / all_ms)
        out.append(
            f"- Full crawl with workers={w} against workers=1 (extraction in the crawl's own "
            f"process): **{mine.rate / one.rate:.2f}× the pages/s** (best of runs: "
            f"{mine.rate:,.0f} against {one.rate:,.0f}; run by run: {runs}); "
            f"{mine.cpu_rate / one.cpu_rate:.2f}× the pages per CPU-second. Target: ≥ 1.8× "
            f"the pages/s; {'met' if mine.rate / one.rate >= 1.8 else 'NOT met'} in this "
            "run. Same rows stored at every pool size (tests/test_crawl_pool.py)."
        )
        out.append(
            f"- CPU per page with workers={w}: {main_ms:.2f} ms in the crawl's own process "
            f"(fetch, discovery, template lines, store, pipes), {all_ms - main_ms:.2f} ms in "
            f"the workers; {one_ms:.2f} ms in all with workers=1. Were the {cpus} CPUs free "
            f"of other work, the crawl's process would cap it at {1000 / main_ms:,.0f} "
            f"pages/s and the CPUs at {1000 * cpus / all_ms:,.0f}: **at most "
            f"{bound * one_ms / 1000:.2f}× workers=1** on this machine (an estimate from "
            "CPU time, not a measurement). Peak RSS of a pooled row: the crawl's process "
            "plus the pool size times its largest worker's."
        )
    return out


def render(
    a: argparse.Namespace, info: dict, rows: list[Row], extra: dict, polite: list[dict]
) -> str:
    v = versions()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    best: dict[str, Row] = {}
    for row in rows:  # best of the runs per contender
        if row.name not in best or row.rate > best[row.name].rate:
            best[row.name] = row
    scrapy = best.get("scrapy: fetch + raw store")
    ceil = extra["ceilings"]
    load = os.getloadavg()[0]
    workers = ",".join(str(w) for w in a.workers)
    lines = [
        f"Measured {now}; nproc {os.cpu_count()} (server pinned to CPU {SERVER_CPU}, the "
        f"fetch-only crawlers to CPU {CRAWLER_CPU}, the full crawls not pinned: a pool of "
        "workers needs both CPUs; load average "
        f"{load:.1f} at the end, the 1-minute load before each run in the table: the box is "
        "shared with other jobs, so wall-clock figures are noisy and pages per CPU-second is "
        f"the steadier comparison); Python {v['python']}, httpx {v['httpx']} "
        f"(httpcore {v['httpcore']}), Scrapy {v['scrapy']} (Twisted {v['twisted']}, "
        f"reactor {a.scrapy_reactor or 'Scrapy default: asyncio'}). "
        f"`benchmarks/bench_crawl.py --pages {a.pages} --hosts {a.hosts} "
        f"--concurrency {a.concurrency} --per-host {a.per_host} --workers {workers} "
        f"--runs {a.runs}`, best of {a.runs} by pages/s.",
        "",
        f"Fixture web: {info['pages']:,} article pages on {info['hosts']} hosts "
        f"(127.0.0.1, one port each), ~8 KB per page. Concurrency {a.concurrency} global, "
        f"{a.per_host} per host, no delay, robots.txt obeyed, for every contender. Scrapy "
        "gets `meta['download_slot'] = host:port` on every request: its slots are keyed by "
        "hostname, so otherwise all sites would share one slot of "
        f"CONCURRENT_REQUESTS_PER_DOMAIN={a.per_host}. Time runs from the first request to "
        "the last commit.",
        "",
        "| contender | what it does | pages | seconds | pages/s | CPU s | pages/CPU-s "
        "| peak RSS MiB | TCP conns | load before | pages/s vs Scrapy | pages/CPU-s vs Scrapy |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in best.values():
        r = row.result
        ratio = f"{row.rate / scrapy.rate:.2f}×" if scrapy and scrapy.rate else "–"
        cratio = f"{row.cpu_rate / scrapy.cpu_rate:.2f}×" if scrapy and scrapy.cpu_rate else "–"
        lines.append(
            f"| {row.name} | {row.does} | {r['pages']:,} | {r['seconds']:.1f} | "
            f"{row.rate:,.0f} | {r['cpu_s']:.1f} | {row.cpu_rate:,.0f} | "
            f"{row.rss_mib:.0f} | {row.extra.get('connections', 0):,} | "
            f"{row.extra.get('load', 0):.2f} | {ratio} | "
            f"{cratio} |"
        )
    lines.append("")
    lines += pool_lines(rows, best)
    srv = (
        "Server: the fixture's pages pre-rendered (same bytes, real ports) behind a small "
        "asyncio HTTP/1.1 keep-alive server in its own process"
    )
    if ceil:
        fmt = {k: (f"{x:,.0f} req/s" if x else "n/a") for k, x in ceil.items()}
        srv += (
            f"; its ceiling (wrk, 1 thread, {a.concurrency} connections, one host) "
            f"{fmt.get('fast', 'n/a')}, against {fmt.get('stock', 'n/a')} for the stock "
            "`FixtureServer` (renders each page on request, ~1 ms), which would cap the "
            "fetch-only contenders, so it is not used for throughput"
        )
    lines.append(f"- {srv}.")
    for p in polite:
        verdict = "OK" if p["ok"] else "VIOLATED"
        where = (
            "kernel receive time of each request (SO_TIMESTAMPNS), same answers as the fast server"
            if p["server"] == "kernel"
            else "stock `FixtureServer.request_log` (taken in its handler threads)"
        )
        lines.append(
            f"- Politeness, {p['server']} server ({verdict}): {p['pages']} pages on "
            f"{p['hosts']} hosts, `run_crawl` with per_host_delay = {p['delay']} s, "
            f"concurrency {p['concurrency']}, {a.per_host} per host; timestamps: {where}. "
            f"Smallest gap between two requests to one host over all {p['requests']} requests "
            f"(robots, sitemaps, pages): **{p['min_gap']:.4f} s** (client side, when headers "
            f"start to leave: {p['client_min_gap']:.4f} s); allowance "
            f"{p['allowance'] * 1000:.1f} ms; server-minus-client time per request "
            f"{p['skew_min'] * 1000:.2f}..{p['skew_max'] * 1000:.2f} ms. Crawl "
            f"{p['seconds']:.1f} s, where the busiest host alone needs {p['ideal_s']:.1f} s."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    children = {"_serve": serve_main, "_ours_fetch": ours_fetch_main, "_ours_full": ours_full_main}
    if argv and argv[0] in children:
        return children[argv[0]](argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=22_900, help="about this many article pages")
    p.add_argument("--hosts", type=int, default=66)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--per-host", type=int, default=2)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument(
        "--contenders", default="ours-fetch,scrapy,ours-full", type=lambda s: s.split(",")
    )
    p.add_argument(
        "--workers",
        default=[1, 2],
        type=lambda s: [int(w) for w in s.split(",")],
        help="full crawl once per pool size ([crawl] workers)",
    )
    p.add_argument(
        "--scrapy-reactor", default=None, help="e.g. twisted.internet.epollreactor.EPollReactor"
    )
    p.add_argument(
        "--crawler-src",
        default=None,
        help="put this folder first on PYTHONPATH of our crawler children "
        "(to measure a patched copy of crawler/ without touching the repo)",
    )
    p.add_argument("--delay", type=float, default=0.25, help="politeness run: per-host delay")
    p.add_argument("--polite-pages", type=int, default=150)
    p.add_argument("--polite-hosts", type=int, default=10)
    p.add_argument("--polite-concurrency", type=int, default=16)
    p.add_argument("--no-politeness", action="store_true")
    p.add_argument(
        "--polite-servers",
        default="kernel,stock",
        type=lambda s: s.split(","),
        help="which server(s) to take the politeness timestamps at",
    )
    p.add_argument("--no-throughput", action="store_true")
    p.add_argument("--no-wrk", action="store_true")
    p.add_argument("--wrk-seconds", type=int, default=5)
    p.add_argument("--workdir", default=None)
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)
    tmp = None
    if a.workdir:
        workdir = Path(a.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="newsdedup-bench-crawl-")
        workdir = Path(tmp.name)
    try:
        info, rows, extra = ({}, [], {"ceilings": {}})
        if not a.no_throughput:
            info, rows, extra = throughput(a, workdir)
        polite: list[dict] = []
        for mode in [] if a.no_politeness else a.polite_servers:
            polite.append(politeness(a, workdir, mode))
            p = polite[-1]
            print(
                f"politeness ({mode} server): server min gap {p['min_gap']:.4f} s, "
                f"client min gap {p['client_min_gap']:.4f} s for delay {a.delay} s "
                f"({'OK' if p['ok'] else 'VIOLATED'}), {p['requests']} requests, "
                f"server-minus-client skew {p['skew_min'] * 1000:.2f}.."
                f"{p['skew_max'] * 1000:.2f} ms (median "
                f"{p['skew_median'] * 1000:.2f}), crawl {p['seconds']:.1f} s "
                f"(busiest host alone needs {p['ideal_s']:.1f} s)",
                flush=True,
            )
        if rows:
            body = render(a, info, rows, extra, polite)
            print("\n" + body)
            if not a.no_write:
                sys.path.insert(0, str(HERE))
                from _results import write_section

                write_section(HEADING, body)
                print(f"\nwrote section '## {HEADING}' of benchmarks/RESULTS.md")
        return 0 if all(p["ok"] for p in polite) else 1
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
