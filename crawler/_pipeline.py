"""The steps the CLI strings together, as functions a test or a script can call directly.

A run's own exit code (0, or 1 when some sources or pages failed: the rest is stored) is
decided here, once; errors that stop a command carry theirs (``store._exceptions``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.warc import WarcProblem, WarcWriter, read_warc
from store import Store, utcnow
from store.dedup import DedupResult, dedup_store
from store.report import Report, Selection, build_report, render, write_report_set

from ._config import Config
from ._crawl import Crawler, CrawlSummary
from ._progress import Progress

log = logging.getLogger("newsdedup")


@contextmanager
def _stop_on_signals(stop: Callable[[str], None]):
    """SIGTERM and SIGINT finish in-flight pages and commit instead of dying mid-write."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop, f"stopped by {sig.name}")
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread: no signals
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _crawl(cfg: Config, store: Store, **budgets: Any) -> CrawlSummary:
    crawler = Crawler(cfg, store, **budgets)
    with _stop_on_signals(crawler.stop):
        return await crawler.run()


def run_crawl(
    cfg: Config,
    store: Store,
    *,
    max_pages: int | None = None,
    max_duration: float | None = None,
    progress: Progress | None = None,
    warc_dir: str | None = None,
) -> CrawlSummary:
    started = utcnow()
    warc = WarcWriter(warc_dir, user_agent=cfg.crawl.user_agent) if warc_dir else None
    try:
        summary = asyncio.run(
            _crawl(
                cfg,
                store,
                max_pages=max_pages,
                max_duration=max_duration,
                progress=progress,
                warc=warc,
            )
        )
    finally:
        if warc is not None:
            warc.close()
    with store.transaction():
        store.record_run("crawl", started, summary.as_dict())
    return summary


@dataclass
class ImportSummary:
    pages: int = 0
    stored: int = 0
    duplicate_urls: int = 0
    empty_pages: int = 0
    problems: list[str] = field(default_factory=list)


def run_import_warc(cfg: Config, store: Store, paths: list[str]) -> ImportSummary:
    """Ingest archived responses (ours, or Common Crawl CC-NEWS) through the crawl's path."""
    started = utcnow()
    crawler = Crawler(cfg, store)
    summary = ImportSummary()
    for item in read_warc(paths):
        if isinstance(item, WarcProblem):
            where = f"{item.path}" + (f" at byte {item.offset}" if item.offset is not None else "")
            summary.problems.append(f"{where}: {item.reason}")
            log.warning("warc: %s: %s", where, item.reason)
            continue
        summary.pages += 1
        try:
            record = crawler.build_record(item.body, item.url, item.encoding, fetched=item.date)
        except Exception as exc:  # one bad page must not stop an archive import
            summary.problems.append(f"{item.url}: extraction failed: {exc!r}")
            continue
        if record is None:
            summary.empty_pages += 1
            continue
        with store.transaction():
            added = store.add_article(record)
        if added is None:
            summary.duplicate_urls += 1
        else:
            summary.stored += 1
    with store.transaction():
        store.record_run("import-warc", started, asdict(summary))
    return summary


def run_dedup(cfg: Config, store: Store, *, rebuild: bool = False) -> DedupResult:
    return dedup_store(store, cfg.dedup.engine(), rebuild=rebuild)


def build_selected_report(
    cfg: Config, store: Store, selection: Selection | None = None, *, with_dropped: bool = False
) -> Report:
    sel = selection or Selection(min_size=cfg.report.min_size)
    return build_report(store, sel, shingle_size=cfg.dedup.shingle_size, with_dropped=with_dropped)


def render_report(
    cfg: Config,
    store: Store,
    fmt: str | None = None,
    min_size: int | None = None,
    *,
    selection: Selection | None = None,
    color: bool = False,
    width: int | None = None,
) -> str | bytes:
    """A report in any format; ``bytes`` only for Parquet."""
    fmt = fmt or cfg.report.format
    sel = selection or Selection(min_size=min_size or cfg.report.min_size)
    report = build_selected_report(cfg, store, sel, with_dropped=fmt == "html")
    return render(report, fmt, color=color, width=width)


def write_report_dir(cfg: Config, store: Store) -> list[Path]:
    """``[report] directory``: timestamped reports after a run, the last ``keep`` kept."""
    if not cfg.report.directory:
        return []
    report = build_selected_report(cfg, store, with_dropped="html" in cfg.report.formats)
    return write_report_set(report, cfg.report.directory, cfg.report.formats, keep=cfg.report.keep)


@dataclass
class RunOutcome:
    crawl: CrawlSummary
    dedup: DedupResult
    report: str
    started: datetime
    report_files: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return crawl_exit_code(self.crawl)


def crawl_exit_code(summary: CrawlSummary) -> int:
    """1 when a source or a page failed (worth a look, not a failed unit), else 0."""
    return 1 if summary.sources_failed or summary.failed else 0


def run_all(
    cfg: Config, store: Store, *, fmt: str | None = None, width: int | None = None, **budgets: Any
) -> RunOutcome:
    """crawl + dedup + report: what a crontab line runs. ``width`` bounds the text table
    (a terminal's); ``None`` for a pipe or a log file, where nothing is wrapped."""
    started = utcnow()
    summary = run_crawl(cfg, store, **budgets)
    result = run_dedup(cfg, store)
    text = render_report(cfg, store, fmt, width=width)
    assert isinstance(text, str)  # run prints: binary formats are refused by the config
    return RunOutcome(summary, result, text, started, write_report_dir(cfg, store))


def source_lines(summary: CrawlSummary) -> list[str]:
    """One line per source: what it yielded and, when nothing new, why."""
    lines = []
    for s in summary.sources:
        why = f" — {s.why_empty}" if s.why_empty else ""
        lines.append(f"source {s.url} [{s.kind}]: {s.found} found, {s.new} new{why}")
    return lines


def total_lines(summary: CrawlSummary) -> list[str]:
    """The run's totals: failed sources first, because "failed 0" pages after every
    source failed read as a clean run."""
    lines = []
    if summary.sources_failed:
        n = len(summary.sources)
        lines.append(f"{summary.sources_failed} of {n} source{'s' * (n != 1)} failed")
    lines.append(
        f"fetched {summary.fetched} page{'s' * (summary.fetched != 1)}: "
        f"stored {summary.stored}, "
        f"failed {summary.failed}, already stored {summary.duplicate_urls}, "
        f"no text {summary.empty_pages}" + (f" ({summary.stopped})" if summary.stopped else "")
    )
    if summary.revisited:
        lines.append(
            f"revisited {summary.revisited}: {summary.not_modified} not modified, "
            f"{summary.unchanged} unchanged, {summary.updated} updated"
        )
    return lines


def crawl_lines(summary: CrawlSummary) -> list[str]:
    """A human summary of a crawl: one line per source, then the totals."""
    return source_lines(summary) + total_lines(summary)
