"""``dedup --input`` and ``spark-dedup``: cluster a corpus of JSONL, Parquet or WARC files.

WARC input is why this lives in ``crawler``: turning archived pages into records needs
the crawl's extraction, which ``store`` must not import, so the reader is handed to the
store's corpus code (``read_with``) and to the Spark job (``record_reader``) from here.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from store import CorpusError, cluster_corpus, read_corpus, write_assignments
from store._corpus import CorpusRecord, RecordReader, read_with

from ._archive_records import ArchiveOptions, warc_inputs, warc_records
from ._config import Config, ConfigError
from ._pipeline import EXIT_OK, EXIT_USAGE


def _warc(cfg: Config, inputs: list[str]) -> tuple[list[str] | None, RecordReader]:
    """The WARC files among ``inputs`` (None for JSONL/Parquet) and the reader for them."""
    warcs = warc_inputs(inputs)
    if warcs is None and len(inputs) > 1:
        raise CorpusError(f"{inputs[1]}: several --input files must all be WARC files")
    return warcs, partial(warc_records, options=ArchiveOptions.from_config(cfg))


def _finish(records: int, clusters: int, output: str, skipped: int | None,
            problems: list[str]) -> int:
    print(f"{records} records in {clusters} clusters written to {output}")
    if skipped is not None:
        print(f"{skipped} archived HTML pages had no article text")
    for problem in problems:
        print(f"newsdedup: problem: {problem}", file=sys.stderr)
    return 1 if problems else EXIT_OK


def dedup_corpus(cfg: Config, args: argparse.Namespace) -> int:
    if not args.output:
        raise ConfigError("dedup --input needs --output FILE.jsonl")
    try:
        warcs, reader = _warc(cfg, args.input)
        if warcs is None:
            records: list[CorpusRecord] = read_corpus(args.input[0])
            reports = []
        else:
            records, reports = read_with(warcs, reader)
    except CorpusError as exc:
        print(f"newsdedup: {exc}", file=sys.stderr)
        return EXIT_USAGE
    rows = cluster_corpus(records, cfg.dedup.engine())
    write_assignments(rows, args.output)
    return _finish(len(rows), len({r.cluster for r in rows}), args.output,
                   None if warcs is None else sum(r.skipped for r in reports),
                   [p for r in reports for p in r.problems])


def spark_dedup_corpus(cfg: Config, args: argparse.Namespace) -> int:
    """`dedup --input` on Spark: the same output file, computed per LSH component."""
    from store._spark import SparkUnavailable, spark_dedup, spark_session

    try:
        warcs, reader = _warc(cfg, args.input)
        spark = spark_session(args.master, partitions=args.partitions,
                              driver_memory=args.driver_memory)
        stats = spark_dedup(spark, warcs or args.input[0], args.output, cfg.dedup.engine(),
                            partitions=args.partitions, output_dir=args.output_dir,
                            record_reader=reader if warcs else None)
    except (CorpusError, SparkUnavailable) as exc:
        print(f"newsdedup: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _finish(stats.records, stats.clusters, args.output,
                   None if warcs is None else stats.skipped, stats.problems)
