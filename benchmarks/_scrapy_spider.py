"""The Scrapy contender of bench_crawl.py: a minimal spider that fetches a URL list and
stores raw HTML, run as its own process so its peak RSS is its own.

Everything that could make the comparison unfair is set here, in one place:
- Scrapy keys its per-domain slots by *hostname*, and every fixture host is 127.0.0.1 on
  its own port, so left alone all 50+ sites would share ONE slot and
  CONCURRENT_REQUESTS_PER_DOMAIN would cap the whole crawl. Each request therefore gets
  ``meta["download_slot"] = host:port``, the same politeness key newsdedup uses, so
  CONCURRENT_REQUESTS_PER_DOMAIN means "per site" for both contenders. Per-IP limits stay
  off (per-IP would again lump every site into one slot).
- Raw HTML goes through the same ``RawHtmlStore`` (SQLite, same batch size) as newsdedup's
  fetch-only mode.
- Robots.txt obeyed like ours (Scrapy fetches it per host:port, as we do), no delay,
  AutoThrottle off, same user agent, timeout and size cap; everything else is Scrapy's
  defaults (retries, redirects, cookies, dupefilter), as a user gets them.

    python benchmarks/_scrapy_spider.py --urls FILE --out DB --concurrency 16 --per-host 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_crawl import USER_AGENT, RawHtmlStore, cpu_seconds  # noqa: E402


class _Tally:
    """Counters shared by the spider and the pipeline: first request out, last page stored."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.last_stored: float | None = None
        self.cpu_started = 0.0
        self.cpu_last = 0.0
        self.stored = 0
        self.failed = 0


def run(
    urls: list[str],
    out: str,
    concurrency: int,
    per_host: int,
    reactor: str | None,
    obey_robots: bool,
    batch: int,
) -> dict:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    tally = _Tally()

    class RawPipeline:
        def __init__(self) -> None:
            self.store = RawHtmlStore(out, batch=batch)

        def process_item(self, item: dict) -> dict:
            self.store.add(item["url"], item["status"], item["body"])
            tally.stored += 1
            tally.last_stored = time.perf_counter()
            return item

        def close_spider(self) -> None:
            self.store.close()
            tally.last_stored = time.perf_counter()  # the final commit counts, as for ours
            tally.cpu_last = cpu_seconds()

    class RawSpider(scrapy.Spider):
        name = "raw"

        async def start(self):
            tally.started, tally.cpu_started = time.perf_counter(), cpu_seconds()
            for url in urls:
                yield scrapy.Request(
                    url,
                    callback=self.parse,
                    errback=self.failed,
                    meta={"download_slot": urlsplit(url).netloc},
                )

        def parse(self, response):
            yield {"url": response.url, "status": response.status, "body": response.body}

        def failed(self, failure) -> None:
            tally.failed += 1

    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
        "DOWNLOAD_DELAY": 0,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": obey_robots,
        "USER_AGENT": USER_AGENT,
        "DOWNLOAD_TIMEOUT": 15,
        "DOWNLOAD_MAXSIZE": 5_000_000,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "ITEM_PIPELINES": {RawPipeline: 300},
    }
    if reactor:
        settings["TWISTED_REACTOR"] = reactor
    process = CrawlerProcess(settings, install_root_handler=True)
    process.crawl(RawSpider)
    process.start()
    seconds = (tally.last_stored or time.perf_counter()) - (tally.started or 0.0)
    return {
        "pages": tally.stored,
        "failed": tally.failed,
        "seconds": seconds,
        "cpu_s": tally.cpu_last - tally.cpu_started,
        "reactor": reactor or "scrapy default",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--urls", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--per-host", type=int, default=2)
    p.add_argument("--reactor", default=None, help="TWISTED_REACTOR (default: Scrapy's)")
    p.add_argument("--no-robots", action="store_true")
    p.add_argument("--batch", type=int, default=200)
    a = p.parse_args(argv)
    urls = Path(a.urls).read_text(encoding="utf-8").split()
    result = run(urls, a.out, a.concurrency, a.per_host, a.reactor, not a.no_robots, a.batch)
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
