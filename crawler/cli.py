"""The ``newsdedup`` command line.

Exit codes (documented in the README, relied on by cron wrappers):
0 ok · 1 some sources or pages failed · 2 usage or config error · 3 store error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from store import (
    AlreadyRunning,
    CorpusError,
    RunLock,
    Store,
    StoreError,
    cluster_corpus,
    lock_path,
    open_store,
    pairwise_scores,
    read_corpus,
)

from ._config import Config, ConfigError, load_config
from ._logging import setup_logging
from ._pipeline import (
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    crawl_lines,
    run_all,
    run_crawl,
    run_dedup,
    run_import_warc,
)

log = logging.getLogger("newsdedup")


def _config(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config) if args.config else Config()
    if getattr(args, "store", None):
        cfg.store = args.store
    return cfg


def _run_lock(location: str) -> AbstractContextManager[object]:
    """The file lock for a SQLite store; none for PostgreSQL, where many runs may share it."""
    path = lock_path(location)
    return RunLock(path) if path is not None else nullcontext()


def _release_dead_claims(location: str, store: Store) -> None:
    """Under a SQLite run lock no other crawler is alive: any claim left is a killed run's,
    and would otherwise hide its URLs from this run until the lease ran out."""
    if lock_path(location) is not None:
        with store.transaction():
            store.frontier_release_all()


def _budgets(args: argparse.Namespace) -> dict:
    """Run budgets, plus a progress bar when a person is watching the terminal."""
    progress = None
    if sys.stderr.isatty() and not args.quiet and not args.json:
        from ._progress import RichProgress

        progress = RichProgress()
    return {"max_pages": args.max_pages, "max_duration": args.max_duration,
            "progress": progress, "warc_dir": args.warc}


@contextmanager
def _crawling(args: argparse.Namespace) -> Iterator[tuple[Config, Store]]:
    """What crawl and run share: a config with sources, the run lock, the open store, and
    the claims of a run that died without releasing them."""
    cfg = _config(args)
    if not cfg.sources:
        raise ConfigError(f"{args.config}: no [[sources]] to crawl")
    with _run_lock(cfg.store), open_store(cfg.store) as store:
        _release_dead_claims(cfg.store, store)
        yield cfg, store


def cmd_crawl(args: argparse.Namespace) -> int:
    with _crawling(args) as (cfg, store):
        summary = run_crawl(cfg, store, **_budgets(args))
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        print("\n".join(crawl_lines(summary)))
    return 1 if summary.sources_failed or summary.failed else EXIT_OK


def cmd_dedup(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.input:
        return _dedup_corpus(cfg, args)
    with _run_lock(cfg.store), open_store(cfg.store) as store:
        result = run_dedup(cfg, store, rebuild=args.rebuild)
    print(f"signed {result.signed}: {result.new_clusters} new clusters, {result.joined} joined "
          f"existing ones, {result.too_short} too short to cluster")
    if result.resigned:
        print(f"re-signed {result.resigned} updated articles: {result.moved} changed cluster")
    return EXIT_OK


def _dedup_corpus(cfg: Config, args: argparse.Namespace) -> int:
    from ._corpus_cli import dedup_corpus

    return dedup_corpus(cfg, args)


def cmd_spark_dedup(args: argparse.Namespace) -> int:
    """`dedup --input` on Spark: the same output file, computed per LSH component."""
    from ._corpus_cli import spark_dedup_corpus

    return spark_dedup_corpus(_config(args), args)


def cmd_eval(args: argparse.Namespace) -> int:
    cfg = _config(args)
    try:
        records = read_corpus(args.input)
    except CorpusError as exc:
        print(f"newsdedup: {exc}", file=sys.stderr)
        return EXIT_USAGE
    truth = {r.id: r.label for r in records if r.label is not None}
    if not truth:
        raise ConfigError(f"{args.input}: no record has a 'cluster' label to score against")
    rows = cluster_corpus(records, cfg.dedup.engine())
    scores = pairwise_scores({r.id: r.cluster for r in rows}, truth)
    doc = {"records": len(records), "labelled": len(truth),
           "precision": round(scores.precision, 4), "recall": round(scores.recall, 4),
           "f1": round(scores.f1, 4), "ari": round(scores.ari, 4)}
    if args.json:
        print(json.dumps(doc))
    else:
        print(" ".join(f"{k}={v}" for k, v in doc.items()))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from ._report_cli import report_command

    return report_command(_config(args), args)


def cmd_run(args: argparse.Namespace) -> int:
    with _crawling(args) as (cfg, store):
        outcome = run_all(cfg, store, fmt=args.format, **_budgets(args))
    if args.json:
        print(json.dumps({"crawl": outcome.crawl.as_dict(), "dedup": vars(outcome.dedup)}))
    else:
        for line in crawl_lines(outcome.crawl):
            log.info(line)
        sys.stdout.write(outcome.report)
    for path in outcome.report_files:
        log.info("report written to %s", path)
    return outcome.exit_code


def cmd_import_warc(args: argparse.Namespace) -> int:
    cfg = _config(args)
    with _run_lock(cfg.store), open_store(cfg.store) as store:
        summary = run_import_warc(cfg, store, args.files)
        result = run_dedup(cfg, store) if not args.no_dedup else None
    if args.json:
        print(json.dumps({**vars(summary), "dedup": vars(result) if result else None}))
    else:
        print(f"read {summary.pages} pages: stored {summary.stored}, already stored "
              f"{summary.duplicate_urls}, no text {summary.empty_pages}")
        for problem in summary.problems:
            print(f"problem: {problem}")
    return 1 if summary.problems else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    cfg = _config(args)
    with open_store(cfg.store, read_only=True) as store:
        problems = store.consistency_errors()
        counts, unsigned = store.counts(), store.unsigned_count()
    print(f"{cfg.store}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    if unsigned:
        print(f"{unsigned} articles wait for `newsdedup dedup`")
    for p in problems:
        print(f"problem: {p}")
    print("ok" if not problems else f"{len(problems)} problem(s) found")
    return EXIT_OK if not problems else EXIT_STORE


def cmd_extract(args: argparse.Namespace) -> int:
    from ._extract_cli import extract_command

    return extract_command(args.source, as_json=args.json, explain=args.explain,
                           rules=args.rules)


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import demo

    if not args.verbose:  # the demo's own summary says what the per-source logs would
        logging.getLogger("newsdedup").setLevel(logging.WARNING)
    return demo(Path(args.dir) if args.dir else None, as_json=args.json, seed=args.seed,
                fmt=args.format)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="newsdedup",
        description="Crawl news sites, strip boilerplate and find every copy of a story.",
        epilog="Exit codes: 0 ok, 1 some sources failed, 2 usage/config error, 3 store error.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sp: argparse.ArgumentParser, required: bool) -> None:
        sp.add_argument("--config", "-c", required=required, help="TOML config file")
        sp.add_argument("--store", help="store path or URL (overrides the config)")

    def with_budgets(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--max-pages", type=int, help="fetch at most N pages this run")
        sp.add_argument("--max-duration", type=float, metavar="SECONDS",
                        help="stop starting fetches after this long")
        sp.add_argument("--json", action="store_true", help="one-line JSON summary on stdout")
        sp.add_argument("--warc", metavar="DIR",
                        help="archive every response as WARC files in DIR (rotated by size)")

    sp = sub.add_parser("crawl", help="discover and fetch new articles into the store")
    with_config(sp, True)
    with_budgets(sp)
    sp.set_defaults(func=cmd_crawl)

    sp = sub.add_parser("dedup", help="sign new articles and assign them to clusters")
    with_config(sp, False)
    sp.add_argument("--rebuild", action="store_true",
                    help="recompute every signature and cluster from stored text")
    sp.add_argument("--input", metavar="FILE", nargs="+",
                    help="cluster a JSONL or Parquet corpus of {id, text[, url, published, "
                         "title]} records, or WARC files (or folders of them), instead of "
                         "the store")
    sp.add_argument("--output", metavar="FILE",
                    help="with --input: JSONL of {id, cluster, origin_id, similarity, "
                         "containment[, url]}")
    sp.set_defaults(func=cmd_dedup)

    sp = sub.add_parser("spark-dedup", help="dedup --input at corpus scale on Apache Spark "
                                            "(same output; needs pyspark and Java 17+)")
    with_config(sp, False)
    sp.add_argument("--input", metavar="PATH", required=True, nargs="+",
                    help="JSONL or Parquet corpus (any path Spark can read), or WARC files "
                         "or folders of them (on a filesystem every executor can open)")
    sp.add_argument("--output", metavar="PATH", required=True,
                    help="JSONL of {id, cluster, origin_id, similarity, containment[, url]}, "
                         "in input order")
    sp.add_argument("--output-dir", action="store_true",
                    help="write --output as a directory of part files (name order is "
                         "input order: cat PATH/part-* joins them)")
    sp.add_argument("--master", default="local[2]",
                    help="Spark master (default local[2]); under spark-submit use "
                         "store/_spark_job.py instead")
    sp.add_argument("--partitions", type=int, default=8, help="input and shuffle partitions")
    sp.add_argument("--driver-memory", default="2g")
    sp.set_defaults(func=cmd_spark_dedup)

    sp = sub.add_parser("eval", help="score clusters of a labelled JSONL/Parquet corpus")
    with_config(sp, False)
    sp.add_argument("--input", metavar="FILE", required=True,
                    help="records with id, text and a ground-truth 'cluster' label")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("report", help="the clusters: origin and every copy (text, json, "
                                       "jsonl, csv, parquet, html, markdown)")
    with_config(sp, False)
    from ._report_cli import add_report_arguments

    add_report_arguments(sp)
    sp.set_defaults(func=cmd_report)

    sp = sub.add_parser("run", help="crawl + dedup + report: what a crontab line calls")
    with_config(sp, True)
    with_budgets(sp)
    sp.add_argument("--format", choices=("text", "json", "jsonl", "csv", "markdown"),
                    help="report printed after the run; [report] directory in the config "
                         "also keeps timestamped html/json reports")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("import-warc", help="ingest WARC files (ours or CC-NEWS) into the store")
    with_config(sp, False)
    sp.add_argument("files", nargs="+", metavar="FILE", help=".warc or .warc.gz files")
    sp.add_argument("--no-dedup", action="store_true", help="store only; dedup later")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_import_warc)

    sp = sub.add_parser("check", help="check the store's integrity and consistency")
    with_config(sp, False)
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("demo", help="crawl the bundled fixture news web on loopback")
    sp.add_argument("--dir", help="where to put the store and config (default: a temp dir)")
    sp.add_argument("--seed", type=int, default=7, help="fixture web seed")
    sp.add_argument("--format", choices=("text", "json", "csv"), default="text")
    sp.add_argument("--json", action="store_true",
                    help="print only a JSON summary: articles, clusters, precision, recall, f1")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("extract", help="extract and normalize one page (file or URL)")
    sp.add_argument("source", metavar="FILE_OR_URL")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--explain", action="store_true", help="show which rules dropped what")
    sp.add_argument("--rules", action="append", default=[], help="extra rules file")
    sp.set_defaults(func=cmd_extract)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    try:
        return args.func(args)
    except AlreadyRunning as exc:
        log.info("%s; nothing to do", exc)
        print(f"newsdedup: {exc}", file=sys.stderr)
        return EXIT_OK
    except ConfigError as exc:
        print(f"newsdedup: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"newsdedup: store error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except KeyboardInterrupt:
        print("newsdedup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
