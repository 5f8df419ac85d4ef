"""``newsdedup report``: selection options, format choice and where the output goes.

A report has more knobs than any other command, and "where does this go" differs by format:
text formats go to stdout like any Unix tool, while HTML and Parquet are files a person
opens or loads, so they get a default name instead of spraying a megabyte of markup or
binary into a terminal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.report import FILE_FORMATS, FORMATS

from ._context import add_config_arguments, config_from

if TYPE_CHECKING:
    from crawler._config import Config
    from store.report import Selection

FORMAT_HELP = (
    "text (a table; coloured on a terminal), json (one document), jsonl / csv / parquet "
    "(one row per cluster member), html (one self-contained page with diffs), markdown "
    "(a summary to paste into a ticket). parquet and html are written to --output, or to "
    + " / ".join(FILE_FORMATS.values())
    + " in the current folder without it"
)


def add_report_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--format", "-f", choices=FORMATS, help=FORMAT_HELP)
    sp.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the report to FILE instead of stdout ('-' forces stdout, "
        "even for html and parquet)",
    )
    sel = sp.add_argument_group("which clusters")
    sel.add_argument(
        "--since",
        metavar="WHEN",
        help="only clusters with a member at or after WHEN: an ISO date or time "
        "(UTC unless it says otherwise) or an age such as 24h, 7d, 2w",
    )
    sel.add_argument(
        "--until",
        metavar="WHEN",
        help="only clusters with a member before WHEN (a bare date includes that whole day)",
    )
    sel.add_argument(
        "--time-field",
        choices=("published", "fetched"),
        default="published",
        help="which time --since/--until look at: the stated publish time "
        "(fetch time when a page states none) or our fetch time "
        "(default: published)",
    )
    sel.add_argument(
        "--publisher",
        action="append",
        default=[],
        metavar="NAME",
        help="only clusters a publisher took part in (case-insensitive part of "
        "its name or host); repeat for several",
    )
    sel.add_argument("--min-size", type=int, help="smallest cluster to show (default 2)")
    sel.add_argument(
        "--cluster",
        action="append",
        type=int,
        default=[],
        metavar="ID",
        help="only this cluster; repeat for several",
    )
    sel.add_argument("--limit", type=int, metavar="N", help="show at most N clusters")
    sel.add_argument(
        "--sort",
        choices=("size", "recency"),
        default="size",
        help="biggest first (default) or most recently active first",
    )


def selection_from(args: argparse.Namespace, cfg: Config) -> Selection:
    from store.report import Selection, parse_when

    return Selection(
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until, end=True) if args.until else None,
        time_field=args.time_field,
        publishers=tuple(args.publisher),
        min_size=args.min_size or cfg.report.min_size,
        cluster_ids=tuple(args.cluster),
        limit=args.limit,
        sort=args.sort,
    )


def _wants_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def text_width(to_terminal: bool | None = None) -> int | None:
    """The width a text report fits: ``COLUMNS`` when set, else the terminal's, else none.

    Piped into a log or written to a file there is no width to fit, and lines wrapped at
    a guessed one (120 columns, padded, URLs folded) were the complaint: ``None`` then.
    """
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty() if to_terminal is None else to_terminal:
        return shutil.get_terminal_size().columns
    return None


def format_for(args: argparse.Namespace, cfg: Config) -> str:
    """``-f``, else what ``-o``'s extension names (``week.parquet``), else the config's."""
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    by_suffix = {"htm": "html", "md": "markdown", "txt": "text"}
    inferred = by_suffix.get(suffix, suffix)
    return inferred if inferred in FORMATS else cfg.report.format


def cmd_report(args: argparse.Namespace) -> int:
    from crawler._pipeline import render_report
    from store import open_store

    cfg = config_from(args)
    fmt = format_for(args, cfg)
    selection = selection_from(args, cfg)
    output = args.output or FILE_FORMATS.get(fmt)
    to_stdout = output in (None, "-")
    color = fmt == "text" and to_stdout and _wants_color()
    width = text_width(to_stdout and sys.stdout.isatty())
    with open_store(cfg.store, read_only=True) as store:
        data = render_report(cfg, store, fmt, selection=selection, color=color, width=width)
    if to_stdout:
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        return 0
    path = Path(output)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    print(f"newsdedup: wrote the {fmt} report to {path}", file=sys.stderr)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sp = sub.add_parser(
        "report",
        parents=[common],
        help="the clusters: origin and every copy (text, json, jsonl, csv, "
        "parquet, html, markdown)",
    )
    add_config_arguments(sp)
    add_report_arguments(sp)
    sp.set_defaults(func=cmd_report)
