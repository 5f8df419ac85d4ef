"""The ``newsdedup`` command line: the parser, and the one place errors become exit codes.

Exit codes (documented in the README, relied on by cron wrappers) come from the error's
branch of the ``NewsdedupError`` tree: 0 ok (also "already running"), 1 some sources or
pages failed, 2 usage, config or input error, 3 store error. A user's mistake ends in one
line on stderr that names the file, key or store concerned, never in a traceback.

Each command family registers its own subcommands (``_crawl``, ``_dedup``, ``_report``,
``_extract``, ``_demo``); their modules import what a command needs only when it runs, so
``newsdedup extract`` does not pay for the dedup engine or the HTTP client.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from store import AlreadyRunning, ConfigError, NewsdedupError, StoreError, __version__

from . import _crawl, _dedup, _demo, _extract, _report
from ._logging import setup_logging

log = logging.getLogger("newsdedup")

EPILOG = (
    "Exit codes: 0 ok, 1 some sources or pages failed, 2 usage/config/input error, 3 store error."
)


def _common_options(*, top: bool) -> argparse.ArgumentParser:
    """-v/-q/--log-format, accepted before the command and after it.

    On a subcommand the defaults are suppressed, so that ``newsdedup -v crawl`` is not
    undone by the subcommand's own default.
    """
    p = argparse.ArgumentParser(add_help=False)
    default = (lambda value: value) if top else (lambda _value: argparse.SUPPRESS)
    g = p.add_argument_group("output")
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default(0),
        help="more detail: -v a line per page, -vv debug",
    )
    g.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default(False),
        help="warnings and errors only",
    )
    g.add_argument(
        "--log-format",
        choices=("auto", "text", "json"),
        default=default("auto"),
        help="log lines on stderr: json (one object per line; the default when "
        "stderr is not a terminal, e.g. under cron) or text",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="newsdedup",
        parents=[_common_options(top=True)],
        epilog=EPILOG,
        description="Crawl news sites, strip boilerplate and find every copy of a story.",
    )
    p.add_argument("--version", action="version", version=f"newsdedup {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common_options(top=False)
    for module in (_crawl, _dedup, _report, _extract, _demo):
        module.register(sub, common)
    return p


def _prefix(exc: NewsdedupError) -> str:
    if isinstance(exc, ConfigError):
        return "config error: "
    if isinstance(exc, StoreError):
        return "store error: "
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity=args.verbose, quiet=args.quiet, log_format=args.log_format)
    try:
        return args.func(args)
    except AlreadyRunning as exc:
        log.info("%s; nothing to do", exc)
        print(f"newsdedup: {exc}", file=sys.stderr)
        return exc.exit_code
    except NewsdedupError as exc:
        print(f"newsdedup: {_prefix(exc)}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("newsdedup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
