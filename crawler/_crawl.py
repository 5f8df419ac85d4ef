"""One crawl: discover from every source, fetch what is new, extract, normalize, store.

The frontier lives in the store, so the unit of loss is one page (with extraction workers,
the few pages stored in one transaction): a URL is queued before it is fetched and marked
done in the same transaction that stores its article. A run that is killed, times out or
hits its page budget leaves the rest queued for the next run.

Every source gets a line in the summary saying what it yielded and, when that is nothing,
why — a silent empty run is the complaint users of news crawlers make most.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from crawler.discover import DiscoveryResult, discover
from crawler.fetch import FetchConfig, Fetcher, FetchResult
from crawler.normalize import load_rules
from crawler.warc import WarcWriter
from store import ArticleRecord, FrontierItem, Store, utcnow

from ._config import Config
from ._progress import Progress
from ._records import PageJob, RecordPool, WorkerDied, job_record
from ._urls import amp_to_canonical_guess, canonicalize_url, host_of

log = logging.getLogger("newsdedup.crawl")
# One line per page (stored, skipped and why): shown with -v; failures always (warnings).
page_log = logging.getLogger("newsdedup.page")

_CLAIM_SECONDS = 1.0  # a claimed batch used up sooner than this: claim twice as many
_CLAIM_GROWTH = 16  # but at most this many times the first batch
_BATCH = 64  # records the pool's writer stores in one transaction, at most
_QUEUED_PER_WORKER = 8  # pages in extraction at once, per worker of the pool
_REQUEUED = object()  # a page whose worker died under it: given back, not stored
_RELEARN_EVERY = 5  # pages of one host between two looks at its template lines
# How long a claimed URL stays this crawler's before another may take it: a crashed
# crawler's URLs come back after this, so it only needs to outlast fetching one batch.
LEASE_SECONDS = 900.0

# Failures worth another try on a later run; the rest (404, not HTML, robots) are final.
_TRANSIENT = ("timeout", "HTTP 5", "HTTP 429", "connect", "circuit open", "retry-after")


@dataclass
class SourceReport:
    url: str
    kind: str
    found: int = 0
    new: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def why_empty(self) -> str | None:
        """The reason a source queued nothing new, in words a cron mail reader acts on."""
        if self.new:
            return None
        if self.error:
            return self.error
        if self.found:
            return f"all {self.found} URLs already seen"
        return "; ".join(self.notes) or "no URLs found"


@dataclass
class CrawlSummary:
    sources: list[SourceReport] = field(default_factory=list)
    fetched: int = 0
    stored: int = 0
    duplicate_urls: int = 0
    failed: int = 0
    empty_pages: int = 0
    # Revisits of stored pages (``[crawl] revisit_after``): how many were fetched, and
    # what came of them: 304, the same text, or a changed article updated in place.
    revisited: int = 0
    not_modified: int = 0
    unchanged: int = 0
    updated: int = 0
    stopped: str | None = None  # budget or signal that ended the run early
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sources_failed(self) -> int:
        return sum(1 for s in self.sources if s.error)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["failures"] = [{"url": u, "reason": r} for u, r in self.failures]
        for src, rep in zip(data["sources"], self.sources, strict=True):
            src["why_empty"] = rep.why_empty
        return data


def fetch_config(cfg: Config) -> FetchConfig:
    c = cfg.crawl
    return FetchConfig(
        user_agent=c.user_agent,
        timeout=c.timeout,
        max_bytes=c.max_bytes,
        max_sitemap_bytes=c.max_sitemap_bytes,
        max_redirects=c.max_redirects,
        concurrency=c.concurrency,
        per_host_concurrency=c.per_host_concurrency,
        per_host_delay=c.per_host_delay,
        max_retries=c.max_retries,
        obey_robots=c.obey_robots,
        allow_hosts=list(c.allow_hosts),
        http2=c.http2,
    )


def _extraction_failed(exc: Exception) -> str:
    """The reason a page whose extraction raised is stored and reported under."""
    return f"extraction failed: {exc!r}"


class Crawler:
    """Runs one crawl against one store; ``stop()`` asks it to finish what is in flight."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        *,
        max_pages: int | None = None,
        max_duration: float | None = None,
        progress: Progress | None = None,
        warc: WarcWriter | None = None,
    ) -> None:
        self.cfg, self.store, self.progress, self.warc = cfg, store, progress, warc
        self.max_pages = cfg.crawl.max_pages if max_pages is None else max_pages
        self.max_duration = cfg.crawl.max_duration if max_duration is None else max_duration
        self.rules = load_rules(cfg.normalize.rules)
        self.summary = CrawlSummary()
        self._stop = asyncio.Event()
        self._templates: dict[str, tuple[int, set[str]]] = {}  # host -> (age, lines)
        self._names = {s.url: s.name for s in cfg.sources}
        self.lease_seconds = LEASE_SECONDS

    def stop(self, reason: str = "stopped by signal") -> None:
        if not self._stop.is_set():
            self.summary.stopped = reason  # a signal outranks a page budget as the reason
            self._stop.set()

    async def run(self) -> CrawlSummary:
        deadline = time.monotonic() + self.max_duration if self.max_duration else None
        async with Fetcher(fetch_config(self.cfg)) as fetcher:
            self.summary.sources = await self._discover_all(fetcher, deadline)
            if deadline is not None and time.monotonic() >= deadline:
                self.stop("max duration reached")
            if not self._stop.is_set():
                await self._fetch_all(fetcher, deadline)
        s = self.summary
        if s.revisited:
            log.info(
                "revisited %d stored pages: %d not modified, %d unchanged, %d updated",
                s.revisited,
                s.not_modified,
                s.unchanged,
                s.updated,
            )
        return s

    async def _discover_all(self, fetcher: Fetcher, deadline: float | None) -> list[SourceReport]:
        """Discover every source, hosts side by side and each host's sources in turn.

        One dead host used to hold up every source after it (a minute each with the
        defaults); now the hosts wait in parallel, at most ``concurrency`` at once, while
        the Fetcher keeps each host's pace. Every source ends by the deadline, keeping what
        it found; one never reached, or cut off by a signal, says so in its report.
        """
        by_host: dict[str, list[int]] = {}
        for i, source in enumerate(self.cfg.sources):
            by_host.setdefault(host_of(source.url), []).append(i)
        reports: list[SourceReport | None] = [None] * len(self.cfg.sources)
        slots = asyncio.Semaphore(max(1, self.cfg.crawl.concurrency))

        async def host(indexes: list[int]) -> None:
            async with slots:
                for i in indexes:
                    if self._stop.is_set():
                        return
                    reports[i] = await self._discover(fetcher, self.cfg.sources[i], deadline)
                    if self.progress:
                        self.progress.advance(reports[i].error is None)

        if self.progress:
            self.progress.start(len(self.cfg.sources), "discovering")
        tasks = [asyncio.create_task(host(ix)) for ix in by_host.values()]
        stopped = asyncio.create_task(self._stop.wait())
        try:
            pending = set(tasks)
            while pending and not self._stop.is_set():
                done, pending = await asyncio.wait(
                    pending | {stopped}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopped)
                for task in done - {stopped}:
                    task.result()  # the store failed (full, locked): stop the run
        finally:
            stopped.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, stopped, return_exceptions=True)
            if self.progress:
                self.progress.finish()
        why = f"not read: {self.summary.stopped or 'run stopped'}"
        return [
            rep or SourceReport(src.url, src.kind, error=why)
            for rep, src in zip(reports, self.cfg.sources, strict=True)
        ]

    async def _discover(
        self, fetcher: Fetcher, source, deadline: float | None = None
    ) -> SourceReport:
        report = SourceReport(source.url, source.kind)
        etag, modified = self.store.source_state(source.url)
        try:
            res: DiscoveryResult = await discover(
                fetcher,
                source.url,
                source.kind,
                etag=etag,
                last_modified=modified,
                deadline=deadline,
            )
        except Exception as exc:  # a bug in one source must not sink the others
            log.exception("discovery failed for %s", source.url)
            report.error = f"discovery crashed: {exc!r}"
            return report
        report.error, report.notes = res.error, list(res.notes)  # a 304 is among the notes
        items = []
        for d in res.urls:
            url = canonicalize_url(d.url)
            items.append(
                FrontierItem(url=url, host=host_of(url), source=source.url, published=d.published)
            )
        report.found = len(items)
        items = self._without_amp_twins(items)
        with self.store.transaction():
            report.new = self.store.frontier_add(items)
            self.store.set_source_state(
                source.url,
                source.kind,
                etag=res.etag,
                last_modified=res.last_modified,
                error=res.error,
                found=report.found,
            )
        facts = {
            "source": source.url,
            "kind": source.kind,
            "found": report.found,
            "new": report.new,
            "reason": report.why_empty,
        }
        if report.error:  # the one warning for a failed source (the fetcher only logs info)
            log.warning("source %s failed: %s", source.url, report.error, extra=facts)
        else:
            why = f": {report.why_empty}" if report.why_empty else ""
            log.info(
                "source %s [%s]: %d found, %d new%s",
                source.url,
                source.kind,
                report.found,
                report.new,
                why,
                extra=facts,
            )
        return report

    def _without_amp_twins(self, items: list[FrontierItem]) -> list[FrontierItem]:
        """Drop AMP URLs whose canonical page is queued, stored, or in this same batch.

        An AMP page names its canonical with rel=canonical, and we store it under that URL,
        so fetching both only to discard one is the waste this avoids. Only URLs shaped
        like AMP are touched, and only when their canonical twin is really known: a wrong
        guess never drops a page we would not otherwise have.
        """
        twins = {i.url: canonicalize_url(amp_to_canonical_guess(i.url)) for i in items}
        twins = {amp: canon for amp, canon in twins.items() if canon != amp}
        if not twins:
            return items
        known = self.store.known_urls(twins.values()) | {i.url for i in items}
        return [i for i in items if twins.get(i.url) not in known]

    async def _fetch_all(self, fetcher: Fetcher, deadline: float | None) -> None:
        """Fetch due URLs, claimed from the store a small batch at a time.

        Claiming in batches (not the whole frontier up front) is what lets several
        crawlers share one PostgreSQL store: each takes what it can fetch soon, and URLs
        it never got to are released when it stops, or come back when its lease runs out.

        A claim sorts every due URL of the frontier (its fetch order has no index), so its
        cost grows with the frontier: 8 ms at 23,000 due URLs, paid every two dozen pages.
        A batch used up within ``_CLAIM_SECONDS`` makes the next one twice as large (up to
        ``_CLAIM_GROWTH`` times the first), one that lasted longer halves it: a fast crawl
        sorts once in a while, a slow one still claims only what it fetches soon. The
        URLs come out of the same order whatever the batch size.
        """
        budget = self.max_pages or None
        self._queue_revisits(budget)
        first = max(4, 2 * self.cfg.crawl.concurrency)
        batch = first
        last_claim: float | None = None
        queue: deque[FrontierItem] = deque()
        claimed = 0
        exhausted = False

        def next_item() -> FrontierItem | None:
            nonlocal claimed, exhausted, batch, last_claim
            if not queue and not exhausted:
                now = time.monotonic()
                if last_claim is not None:
                    quick = now - last_claim < _CLAIM_SECONDS
                    batch = (
                        min(batch * 2, first * _CLAIM_GROWTH) if quick else max(first, batch // 2)
                    )
                last_claim = now
                want = batch if budget is None else min(batch, budget - claimed)
                got = (
                    self.store.frontier_claim(want, lease_seconds=self.lease_seconds)
                    if want > 0
                    else []
                )
                claimed += len(got)
                queue.extend(got)
                exhausted = len(got) < want or want <= 0
            return queue.popleft() if queue else None

        async def worker() -> None:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    self.stop("max duration reached")
                    return
                item = next_item()
                if item is None:
                    return
                left = None if deadline is None else deadline - time.monotonic()
                try:  # a page in flight ends at the deadline too: a silent host can't hold it
                    async with asyncio.timeout(left):
                        result = await fetcher.fetch(
                            item.url, kind="page", etag=item.etag, last_modified=item.last_modified
                        )
                except TimeoutError:
                    queue.appendleft(item)  # not fetched: released below, for the next run
                    self.stop("max duration reached")
                    return
                try:
                    if pages is None:
                        self._handle(item, result)
                    else:
                        await pages.submit(item, result)
                except BaseException:  # the store failed (full, locked): the others stop
                    self._stop.set()
                    raise
                if self.progress:
                    self.progress.advance(result.ok)

        workers = max(1, self.cfg.crawl.concurrency)
        pages = _PagePipeline(self, self.cfg.crawl.workers) if self.cfg.crawl.workers > 1 else None
        if self.progress:
            self.progress.start(len(self.store.frontier_pending(budget)))
        try:
            # Wait for every worker, even after one fails: a plain gather returned at the
            # first error and closed the fetcher under the others, whose pages were then
            # marked failed for good ("client has been closed") and never retried.
            outcomes = await asyncio.gather(
                *(worker() for _ in range(workers)), return_exceptions=True
            )
            if pages is not None:
                outcomes.append(await pages.finish())
        finally:
            if pages is not None:
                queue.extend(pages.close())
            if queue:  # claimed but never fetched: due again at once, for the next run
                self.store.frontier_release([i.url for i in queue])
            if self.progress:
                self.progress.finish()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        if (
            budget is not None
            and claimed >= budget
            and self.summary.stopped is None
            and self.store.frontier_pending(1)
        ):
            self.summary.stopped = "max pages reached"

    def _queue_revisits(self, budget: int | None) -> None:
        """Queue stored pages last fetched ``revisit_after`` ago or more, oldest first.

        At most one page budget's worth: they are fetched after every new URL, so a run
        with a budget spends what new URLs leave of it on revisits, and the rest wait.
        """
        after = float(self.cfg.crawl.revisit_after or 0)
        if after <= 0:
            return
        queued = self.store.frontier_requeue_stale(utcnow() - timedelta(seconds=after), budget)
        if queued:
            log.info("queued %d stored pages for a revisit", queued)

    def _handle(self, item: FrontierItem, result: FetchResult) -> None:
        """One fetched page from answer to store, all in the crawl's process."""
        if not self._wants_record(item, result):
            return
        try:
            record: ArticleRecord | Exception | None = self._record(item, result)
        except Exception as exc:
            record = exc
        self._store(item, result, record)

    def _wants_record(self, item: FrontierItem, result: FetchResult) -> bool:
        """Count and archive a fetched page; False when it is done without extraction."""
        self.summary.fetched += 1
        if self.warc is not None:  # every answer, errors included: the archive is the evidence
            self.warc.write(result)
        if not result.ok:
            self._fail(item, result.error or f"HTTP {result.status}", result.status)
            return False
        if item.revisit:
            self.summary.revisited += 1
            if result.not_modified:
                self.summary.not_modified += 1
                with self.store.transaction():
                    self._finish(item, result)
                self._log_page(item, result.status, "not modified")
                return False
        return True

    def _store(
        self, item: FrontierItem, result: FetchResult, record: ArticleRecord | Exception | None
    ) -> None:
        """Store what extraction made of a page, in a transaction of its own."""
        with self.store.transaction():
            outcome = self._write_page(item, result, record)
        self._count_page(item, result, record, outcome)

    def _write_page(
        self, item: FrontierItem, result: FetchResult, record: ArticleRecord | Exception | None
    ) -> str:
        """A page's writes, inside the caller's transaction: an article, no text, or why
        extraction failed. What became of the page, for :meth:`_count_page`.

        Writing and counting are apart so that a caller may commit several pages at once
        and count them after the commit: the summary and the log never claim a page that
        a failed commit took back.
        """
        if isinstance(record, Exception):  # extraction must never take the crawl down
            self._fail_write(item, _extraction_failed(record))
            return "failed"
        if record is None:
            if item.revisit:  # the stored article stays; the next revisit asks again
                self._finish(item, result)
            else:
                self.store.frontier_finish(item.url, error="no article text found")
            return "empty"
        # A revisit updates the stored article in place; a page whose canonical URL
        # has changed since is stored as the new article it now is.
        revised = self.store.revise_article(record) if item.revisit else None
        added = self.store.add_article(record) if revised is None else None
        self._finish(item, result)
        if revised is not None:
            return "updated" if revised else "unchanged"
        return "duplicate" if added is None else "stored"

    def _count_page(
        self,
        item: FrontierItem,
        result: FetchResult,
        record: ArticleRecord | Exception | None,
        outcome: str,
    ) -> None:
        """A written page's share of the summary, and its log line."""
        s = self.summary
        if outcome == "failed":
            assert isinstance(record, Exception)
            log.exception("extraction failed for %s", item.url, exc_info=record)
            self._fail_count(item, _extraction_failed(record), result.status)
        elif outcome == "empty":
            s.empty_pages += 1
            # Info, not a warning: index pages are empty too. But a binary or garbled
            # page must leave a trace naming it, or "where did that page go" has none.
            self._log_page(item, result.status, "skipped", "no article text found")
        elif outcome == "updated":
            s.updated += 1
            self._log_page(item, result.status, "updated")
        elif outcome == "unchanged":
            s.unchanged += 1
            self._log_page(item, result.status, "unchanged")
        elif outcome == "duplicate":
            assert isinstance(record, ArticleRecord)
            s.duplicate_urls += 1
            self._log_page(item, result.status, "skipped", f"already stored as {record.url}")
        else:
            s.stored += 1
            self._log_page(item, result.status, "stored")

    def _log_page(
        self,
        item: FrontierItem,
        status: int | None,
        event: str,
        reason: str | None = None,
        level: int = logging.INFO,
    ) -> None:
        """A page's line: what became of it and why, with its URL, source and HTTP status.

        Returns at once when nobody listens (no -v): the line's fields are built for every
        page otherwise, in the process that fetches and stores.
        """
        if not page_log.isEnabledFor(level):
            return
        page_log.log(
            level,
            "%s %s (HTTP %s)%s",
            event,
            item.url,
            status or "-",
            f": {reason}" if reason else "",
            extra={
                "event": event.replace(" ", "_"),
                "url": item.url,
                "source": item.source,
                "status": status,
                "reason": reason,
            },
        )

    def _finish(self, item: FrontierItem, result: FetchResult) -> None:
        """Done with a URL fetched successfully: remember when, and its validators."""
        self.store.frontier_fetched(item.url, etag=result.etag, last_modified=result.last_modified)
        self.store.frontier_finish(item.url)

    def _fail(self, item: FrontierItem, reason: str, status: int | None = None) -> None:
        self._fail_count(item, reason, status)
        with self.store.transaction():
            self._fail_write(item, reason)

    def _fail_count(self, item: FrontierItem, reason: str, status: int | None) -> None:
        self.summary.failed += 1
        self.summary.failures.append((item.url, reason))
        self._log_page(item, status, "failed", reason, logging.WARNING)

    def _fail_write(self, item: FrontierItem, reason: str) -> None:
        retry_at = None
        if any(reason.startswith(t) or t in reason for t in _TRANSIENT):
            retry_at = utcnow() + timedelta(seconds=self.cfg.crawl.retry_failed_after)
        self.store.frontier_finish(item.url, error=reason, retry_at=retry_at)

    def _relearn_due(self, host: str) -> bool:
        return self._templates.get(host, (_RELEARN_EVERY, set()))[0] >= _RELEARN_EVERY

    def _template_lines(self, host: str) -> set[str]:
        """The host's learned template lines, re-learned every few pages it adds.

        Re-learning within a run matters on a site's first crawl, when the store knows
        none of its pages at the start.
        """
        age, lines = self._templates.get(host, (_RELEARN_EVERY, set()))
        if age >= _RELEARN_EVERY:
            n = self.cfg.normalize
            lines = self.store.template_line_keys(
                host,
                last_n=n.template_last_n,
                min_share=n.template_min_share,
                min_pages=n.template_min_pages,
            )
            age = 0
        self._templates[host] = (age + 1, lines)
        return lines

    def _record(self, item: FrontierItem, result: FetchResult) -> ArticleRecord | None:
        return job_record(self._job(item, result), self.rules)

    def _job(self, item: FrontierItem, result: FetchResult) -> PageJob:
        """A fetched page with what its record needs: its host's template lines as of now."""
        return self.page_job(
            result.body,
            result.final_url,
            result.encoding,
            publisher=self._names.get(item.source),
            published=item.published,
        )

    def page_job(
        self,
        body: bytes,
        url: str,
        encoding: str | None,
        *,
        publisher: str | None = None,
        published: datetime | None = None,
        fetched: datetime | None = None,
    ) -> PageJob:
        return PageJob(
            body,
            url,
            encoding,
            frozenset(self._template_lines(host_of(url))),
            publisher=publisher,
            published=published,
            fetched=fetched,
        )

    def build_record(
        self,
        body: bytes,
        url: str,
        encoding: str | None,
        *,
        publisher: str | None = None,
        published: datetime | None = None,
        fetched: datetime | None = None,
    ) -> ArticleRecord | None:
        """Extract and normalize one fetched page: the path crawls and WARC imports share.

        ``None`` when the page holds no article text (an index page, a paywall stub).
        """
        job = self.page_job(
            body, url, encoding, publisher=publisher, published=published, fetched=fetched
        )
        return job_record(job, self.rules)


class _PagePipeline:
    """Pages out to worker processes, and their records back to the store in fetch order.

    The store sees the same writes in the same order as when the crawl's process extracts
    every page itself (``workers`` 0 or 1), whatever the pool size: records are stored in
    the order pages were handed out, and each page's template lines are taken when it is
    handed out. Where those lines are due to be re-learned from the store, the page waits
    until its host's pages in flight are stored, so it learns from what the in-process
    crawl would have had stored by then (template lines are learned per host).

    At most ``8 * workers`` pages are being extracted at once, and twice that many are
    out (handed out, not yet stored): when extraction falls behind, fetching waits,
    instead of piling up fetched pages in memory. A page leaves the first count when its
    record is back, not when it is stored. Records are stored in hand-out order, so a
    page whose record came back behind a slower one would otherwise hold its place in
    the workers' queues until that one was done. Measured at 8,000 pages on 2 cores
    (``benchmarks/bench_crawl.py``), each worker waited for work 4.5-5.3 s of a 17 s
    crawl with 4 pages per worker released when stored, and 2.8-3.1 s of 16 s now.
    """

    def __init__(self, crawler: Crawler, workers: int) -> None:
        self.crawler = crawler
        self.pool = RecordPool(workers, crawler.cfg.normalize.rules)
        self.extracting = asyncio.Semaphore(_QUEUED_PER_WORKER * workers)
        self.unstored_at_most = asyncio.Semaphore(2 * _QUEUED_PER_WORKER * workers)
        self.out: asyncio.Queue[tuple | None] = asyncio.Queue()  # bounded by the semaphores
        self.in_flight: Counter[str] = Counter()  # host -> pages out
        self.idle: dict[str, asyncio.Event] = {}  # host -> none of its pages out
        self.unfinished: dict[int, FrontierItem] = {}  # pages out, by id(entry)
        self.unstored: list[FrontierItem] = []  # to give back to the frontier
        self.error: BaseException | None = None
        self.writer = asyncio.create_task(self._write())

    async def submit(self, item: FrontierItem, result: FetchResult) -> None:
        crawler = self.crawler
        if not crawler._wants_record(item, result):
            return
        host = host_of(result.final_url)
        await self.unstored_at_most.acquire()
        try:
            await self.extracting.acquire()
        except BaseException:
            self.unstored_at_most.release()
            raise
        try:
            idle = self.idle.setdefault(host, asyncio.Event())
            while self.in_flight[host] and crawler._relearn_due(host):
                await idle.wait()
            # From here to the queue, nothing awaits: the order of the template lines
            # taken is the order of the writes.
            job = crawler._job(item, result)
            try:
                future = self.pool.submit(job)
            except WorkerDied:  # no worker can start: extract here, as workers = 1 does
                future = self._here(job)
        except BaseException:
            self.extracting.release()
            self.unstored_at_most.release()
            raise
        future.add_done_callback(lambda _: self.extracting.release())
        self.in_flight[host] += 1
        idle.clear()
        entry = (item, result, host, job, future)
        self.unfinished[id(entry)] = item
        self.out.put_nowait(entry)

    def _here(self, job: PageJob) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        try:
            future.set_result(job_record(job, self.crawler.rules))
        except Exception as exc:
            future.set_exception(exc)
        return future

    async def _write(self) -> None:
        """Store records in the order their pages were handed out, those ready together.

        A commit is the largest part of storing a page in the crawl's process (SQLite
        appends every page it dirtied to the WAL), and that process is what a pool waits
        on. So the writer stores in one transaction every record that is already back,
        up to ``_BATCH``, and commits before it would wait (for a record still being
        extracted, or for the next page): a transaction is never open across an await,
        so no other coroutine's writes join it. A crash can lose those few pages instead
        of one; they are still claimed in the frontier, and fetched again.
        """
        held: deque[tuple | None] = deque()  # taken from the queue, its record not back yet
        while True:
            entry = held.popleft() if held else await self.out.get()
            if entry is None:
                return
            run = [entry]
            try:
                if not entry[4].done():
                    await asyncio.wait((entry[4],))
                while len(run) < _BATCH and not self.out.empty():
                    nxt = self.out.get_nowait()
                    if nxt is None or not nxt[4].done():
                        held.append(nxt)
                        break
                    run.append(nxt)
                self._store_run(run)
                for done in run:
                    del self.unfinished[id(done)]  # stored, failed, or in self.unstored
            finally:
                for _, _, host, _, _ in run:
                    self.in_flight[host] -= 1
                    if not self.in_flight[host]:
                        self.idle[host].set()
                    self.unstored_at_most.release()

    def _record(
        self, item: FrontierItem, result: FetchResult, job: PageJob, future: asyncio.Future
    ) -> ArticleRecord | Exception | object | None:
        """A done future's record, or the exception to store; ``_REQUEUED`` for a page
        given back to the frontier because its worker died under it."""
        try:
            return future.result()
        except WorkerDied:
            if self.pool.broken is None:  # killed, or crashed on a page: maybe this one
                self.crawler._log_page(
                    item, result.status, "requeued", "its extraction worker died", logging.WARNING
                )
                self.unstored.append(item)
                return _REQUEUED
            try:  # it never started: no page's fault
                return self._here(job).result()
            except Exception as exc:
                return exc
        except Exception as exc:
            return exc

    def _store_run(self, run: list[tuple]) -> None:
        """Write a run of pages in one transaction; count them once it has committed."""
        crawler = self.crawler
        written: list[tuple] = []
        pages = [
            (item, result, self._record(item, result, job, future))
            for item, result, _, job, future in run
        ]
        pages = [p for p in pages if p[2] is not _REQUEUED]
        if self.error is not None:
            self.unstored.extend(item for item, _, _ in pages)
            return
        try:
            with crawler.store.transaction():
                for item, result, record in pages:
                    written.append(
                        (item, result, record, crawler._write_page(item, result, record))
                    )
        except BaseException as exc:  # the store failed (full, locked): stop, keep the rest
            self.error = exc
            crawler._stop.set()
            self.unstored.extend(item for item, _, _ in pages)
            return
        for page in written:
            crawler._count_page(*page)

    async def finish(self) -> BaseException | None:
        """Store every page handed out; the error that stopped the writes, if any."""
        self.out.put_nowait(None)
        await self.writer
        return self.error

    def close(self) -> list[FrontierItem]:
        """Stop the workers; the pages fetched but not stored, to give back."""
        self.writer.cancel()
        self.pool.close()
        return self.unstored + list(self.unfinished.values())


async def crawl(cfg: Config, store: Store, **kwargs) -> CrawlSummary:
    return await Crawler(cfg, store, **kwargs).run()
