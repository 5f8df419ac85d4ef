"""Spark input through a record reader: whole files, read on the executors in parallel.

Formats ``store`` cannot parse (WARC: extraction lives in ``crawler``, which ``store``
never imports) arrive as a picklable reader function, ``path -> records, then a
ReadReport``; Spark ships it to the executors with cloudpickle. A file is never split,
because a reader may need all of it (the WARC reader learns each host's template lines
from the whole file before extracting).

Row indices only have to order records as the local path does (file order, then record
order): every later stage sorts or compares them, none counts on them being dense. So a
record's index is ``file number << 32 | record number`` instead of a ``zipWithIndex``,
which would run one extra job over the input -- reading and extracting every archive twice.

The readers' reports travel back in an accumulator keyed by path. A task re-run after a
failure or a cache eviction reports the same values again (readers are deterministic), and
the merge replaces rather than adds, so a report is never counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from store._exceptions import CorpusError
from store.dedup._corpus import ReadReport, RecordReader, reader_records

if TYPE_CHECKING:
    from pyspark import RDD, Accumulator
    from pyspark.sql import SparkSession

FILE_SHIFT = 32  # records per file below 2**32; files below 2**31


class ReportsParam:
    """Accumulator merge for ``{path: ReadReport}`` (pyspark duck-types the param)."""

    def zero(self, value: dict[str, ReadReport]) -> dict[str, ReadReport]:
        return {}

    def addInPlace(
        self,
        a: dict[str, ReadReport],  # noqa: N802 - pyspark's name
        b: dict[str, ReadReport],
    ) -> dict[str, ReadReport]:
        a.update(b)
        return a


def _read_file(
    reader: RecordReader,
    item: tuple[int, str],
    reports: Any,
) -> Iterator[tuple[int, Any]]:
    """(index, record) rows of one file; an invalid record ends it as an error row."""
    number, path = item
    base, n = number << FILE_SHIFT, 0
    try:
        for rec in reader_records(path, reader(path)):
            if isinstance(rec, ReadReport):
                reports.add({path: rec})
                continue
            yield base + n, rec
            n += 1
    except CorpusError as exc:  # the local path stops at the same record with this message
        yield base + n, str(exc)


def read_files(
    spark: SparkSession,
    paths: Sequence[str],
    reader: RecordReader,
) -> tuple[RDD, Accumulator]:
    """Parsed rows of ``paths`` (one task per file) and the accumulator of their reports."""
    sc = spark.sparkContext
    reports = sc.accumulator({}, ReportsParam())
    items = list(enumerate(paths))
    rows = sc.parallelize(items, max(1, len(items))).flatMap(
        lambda item: _read_file(reader, item, reports)
    )
    return rows, reports


def reports_in_order(
    paths: Sequence[str],
    reports: dict[str, ReadReport],
) -> list[ReadReport]:
    return [reports[p] for p in paths if p in reports]
