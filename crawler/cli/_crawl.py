"""``crawl``, ``run`` and ``import-warc``: the commands that write pages into the store."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from store import InputError

from ._context import add_config_arguments, config_from, crawling, locked_store

log = logging.getLogger("newsdedup")


def _budgets(args: argparse.Namespace) -> dict[str, Any]:
    """Run budgets, plus a progress bar when a person is watching the terminal."""
    progress = None
    if sys.stderr.isatty() and not args.quiet and not args.json:
        from crawler._progress import RichProgress

        progress = RichProgress()
    return {
        "max_pages": args.max_pages,
        "max_duration": args.max_duration,
        "progress": progress,
        "warc_dir": args.warc,
    }


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler._pipeline import crawl_exit_code, crawl_lines, run_crawl

    with crawling(args) as (cfg, store):
        summary = run_crawl(cfg, store, **_budgets(args))
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        print("\n".join(crawl_lines(summary)))
    return crawl_exit_code(summary)


def cmd_run(args: argparse.Namespace) -> int:
    from crawler._pipeline import run_all, total_lines

    from ._report import text_width

    with crawling(args) as (cfg, store):
        outcome = run_all(cfg, store, fmt=args.format, width=text_width(), **_budgets(args))
    if args.json:
        print(json.dumps({"crawl": outcome.crawl.as_dict(), "dedup": vars(outcome.dedup)}))
    else:
        # Each source had its line as it was read; the totals close the run's log.
        c = outcome.crawl
        totals = {
            "fetched": c.fetched,
            "stored": c.stored,
            "failed": c.failed,
            "already_stored": c.duplicate_urls,
            "no_text": c.empty_pages,
            "sources": len(c.sources),
            "sources_failed": c.sources_failed,
            "stopped": c.stopped,
        }
        for line in total_lines(c):
            log.info(line, extra=totals)
        sys.stdout.write(outcome.report)
    for path in outcome.report_files:
        log.info("report written to %s", path)
    return outcome.exit_code


def cmd_import_warc(args: argparse.Namespace) -> int:
    from crawler._pipeline import run_dedup, run_import_warc
    from crawler.warc import warc_inputs

    files = []
    for given in args.files:  # a folder means the WARC files in it, as for `dedup --input`
        inside = warc_inputs([given]) if Path(given).is_dir() else [given]
        if inside is None:
            raise InputError(f"{given}: a folder with no WARC files (.warc, .warc.gz) in it")
        files.extend(inside)
    cfg = config_from(args)
    with locked_store(cfg) as store:
        summary = run_import_warc(cfg, store, files)
        result = run_dedup(cfg, store) if not args.no_dedup else None
    if args.json:
        print(json.dumps({**vars(summary), "dedup": vars(result) if result else None}))
    else:
        print(
            f"read {summary.pages} page{'s' * (summary.pages != 1)}: stored {summary.stored}, "
            "already stored "
            f"{summary.duplicate_urls}, no text {summary.empty_pages}"
        )
        for problem in summary.problems:
            print(f"problem: {problem}")
    return 1 if summary.problems else 0


def _add_budgets(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--max-pages", type=int, metavar="N", help="fetch at most N pages this run")
    sp.add_argument(
        "--max-duration",
        type=float,
        metavar="SECONDS",
        help="stop starting fetches after this long",
    )
    sp.add_argument("--json", action="store_true", help="one-line JSON summary on stdout")
    sp.add_argument(
        "--warc",
        metavar="DIR",
        help="archive every response as WARC files in DIR (rotated by size)",
    )


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sp = sub.add_parser(
        "crawl", parents=[common], help="discover and fetch new articles into the store"
    )
    add_config_arguments(sp, required=True)
    _add_budgets(sp)
    sp.set_defaults(func=cmd_crawl)

    sp = sub.add_parser(
        "run", parents=[common], help="crawl + dedup + report: what a crontab line calls"
    )
    add_config_arguments(sp, required=True)
    _add_budgets(sp)
    sp.add_argument(
        "--format",
        choices=("text", "json", "jsonl", "csv", "markdown"),
        help="report printed after the run; [report] directory in the config "
        "also keeps timestamped html/json reports",
    )
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser(
        "import-warc", parents=[common], help="ingest WARC files (ours or CC-NEWS) into the store"
    )
    add_config_arguments(sp)
    sp.add_argument(
        "files", nargs="+", metavar="PATH", help=".warc or .warc.gz files, or folders of them"
    )
    sp.add_argument("--no-dedup", action="store_true", help="store only; dedup later")
    sp.add_argument("--json", action="store_true", help="one-line JSON summary on stdout")
    sp.set_defaults(func=cmd_import_warc)
