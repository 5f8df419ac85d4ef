"""Corpus-scale batch dedup on Apache Spark, with exactly the clusters of the local path.

The local pass (``newsdedup dedup --input``) places articles one by one in file order, but
a placement only ever looks at earlier articles sharing an LSH band with the new one and
at their clusters, so it decomposes over the connected components of the LSH-candidate
graph. The job therefore:

1. reads the records with a stable row index equal to the local path's order (file order)
   and signs them per partition with our own shingling, MinHash and banding code;
2. explodes the LSH bands and links every member of a shared (band, bucket) to that
   bucket's smallest index (a star, not all pairs);
3. labels connected components by iterative min-label propagation with pointer jumping in
   DataFrames, cutting lineage with a checkpoint each round and stopping when no label
   changes -- the graph never visits the driver;
4. replays the store's sequential placement (``store.dedup._inmemory.cluster_signed``, the very
   ``_place_one``/``_merge`` the store runs) on each component in file order, and writes
   the same JSON lines as ``newsdedup dedup --input``, in file order.

Records with no band (too short to cluster) or sharing none are singleton components.

Run it from the CLI (``newsdedup spark-dedup``) or, on a cluster, through ``spark-submit``
with the one entry script, which takes ``newsdedup spark-dedup``'s options::

    zip -r newsdedup.zip store crawler
    spark-submit --master yarn --py-files newsdedup.zip crawler/spark_submit.py \\
        --input hdfs:///corpus.jsonl --output hdfs:///dedup-out --output-dir

The executors need numpy, xxhash and datasketch (or install the wheel on every node). With
``--output-dir`` the result is ``part-*`` text files whose name order is file order:
``cat out/part-* > out.jsonl`` (or ``hdfs dfs -getmerge``) gives the local path's file.

Formats ``store`` cannot parse come in through ``spark_dedup(record_reader=...)``
(``store.spark._files``): ``newsdedup spark-dedup`` passes the crawler's WARC reader, so
for WARC input the executors import the ``crawler`` package as well.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from store._exceptions import CorpusError, MissingDependency, StoreError
from store._time import from_db_time, to_db_time
from store.dedup import DedupConfig, MinHasher
from store.dedup._corpus import (
    CorpusRecord,
    ReadReport,
    RecordReader,
    assignment_line,
    no_records_message,
    record_from_dict,
    source_name,
)
from store.dedup._inmemory import SignedRecord, cluster_signed, sign_records

if TYPE_CHECKING:  # pyspark is an optional extra; importing this module must not need it
    import pyarrow as pa
    from pyspark import RDD
    from pyspark.sql import DataFrame, SparkSession

_SIGN_BATCH = 1000
_MAX_ROUNDS = 100  # far above the log-diameter rounds pointer jumping needs

RAW_SCHEMA = "idx long, id string, text string, published string, url string, error string"
SIGNED_SCHEMA = ("idx long, id string, published string, url string, shingles binary, "
                 "keys array<long>, error string")
LINES_SCHEMA = "idx long, line string, is_rep boolean"


class SparkUnavailable(MissingDependency):
    """pyspark or a Java runtime is missing; the message says what to install."""


@dataclass
class SparkDedupStats:
    records: int
    clusters: int
    banded: int  # records long enough to have LSH bands
    linked: int  # records sharing a bucket with another: vertices of the graph
    rounds: int  # label-propagation rounds until no label changed
    largest: int  # records in the largest component: one task replays it sequentially
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds per stage of the job
    skipped: int = 0  # with a record reader: entries that gave no record
    problems: list[str] = field(default_factory=list)  # with a record reader: damaged files


# -- session ------------------------------------------------------------------------------


def spark_session(master: str | None = "local[2]", *, partitions: int = 8,
                  driver_memory: str = "2g", app_name: str = "newsdedup-dedup",
                  conf: dict[str, str] | None = None) -> SparkSession:
    """A session whose Python workers run this interpreter (so they can import ``store``).

    ``master=None`` leaves the master to ``spark-submit``.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("spark-dedup needs pyspark: pip install 'newsdedup[spark]'"
                               ) from None
    # The job moves batches as Arrow (mapInArrow), for which pyspark wants pandas and
    # pyarrow at its own minimum versions; without them it failed mid-job with a traceback.
    from pyspark.sql.pandas.utils import (
        require_minimum_pandas_version,
        require_minimum_pyarrow_version,
    )

    for require in (require_minimum_pandas_version, require_minimum_pyarrow_version):
        try:
            require()
        except ImportError as exc:
            why = " ".join(str(exc).split())
            raise SparkUnavailable(
                f"spark-dedup needs pandas and pyarrow: pip install 'newsdedup[spark]' ({why})"
            ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkUnavailable("spark-dedup needs a Java runtime (17 or newer) on PATH "
                               "or in JAVA_HOME")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.default.parallelism": str(partitions),
        "spark.driver.memory": driver_memory,
        "spark.sql.session.timeZone": "UTC",
        "spark.python.worker.reuse": "true",
        "spark.ui.showConsoleProgress": "false",
        **(conf or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # py4j / PySparkRuntimeError when the JVM cannot start
        raise SparkUnavailable(f"cannot start Spark: {exc}") from exc
    spark.sparkContext.setLogLevel("WARN")
    return spark


# -- input ----------------------------------------------------------------------------------

# An input row is (index, record or error message). The index orders records exactly as
# the local path numbers them (file order); an error names the file and line like it does.
Parsed = tuple[int, "CorpusRecord | str"]


def _has_scheme(path: str) -> bool:
    return "://" in path


def _display(path: str) -> str:
    """How the local path names a file in its messages (``str(Path(...))``)."""
    return path if _has_scheme(path) else str(Path(path))


def _parse_jsonl_lines(where: str, rows: Iterable[tuple[bytes, int]]) -> Iterator[Parsed]:
    for raw, n0 in rows:
        n = n0 + 1  # line numbers count blank lines too, as in the local reader
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield n0, f"{where}: not UTF-8 text ({exc.reason})"
            continue
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n0, f"{where}:{n}: not valid JSON ({exc.msg})"
            continue
        try:
            yield n0, record_from_dict(value, f"{where}:{n}")
        except CorpusError as exc:
            yield n0, str(exc)


def read_jsonl(spark: SparkSession, path: str, partitions: int) -> RDD:
    """Lines as raw bytes (so bad UTF-8 is reported, not replaced), numbered in file order."""
    where = _display(path)
    lines = spark.sparkContext.textFile(path, minPartitions=partitions, use_unicode=False)
    return lines.zipWithIndex().mapPartitions(lambda rows: _parse_jsonl_lines(where, rows))


def _parquet_pieces(path: str) -> list[tuple[str, int, int]]:
    """(file, row group, rows before it) of a Parquet file or a directory of them, in order."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, root = pafs.FileSystem.from_uri(path) if _has_scheme(path) else (
        pafs.LocalFileSystem(), str(Path(path).resolve()))
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise CorpusError(f"{_display(path)}: cannot read: No such file or directory")
    if info.type == pafs.FileType.Directory:
        found = fs.get_file_info(pafs.FileSelector(root, recursive=False))
        files = sorted(f.path for f in found if f.path.endswith(".parquet"))
    else:
        files = [root]
    pieces, before = [], 0
    for f in files:
        try:
            with fs.open_input_file(f) as fh:
                meta = pq.ParquetFile(fh).metadata
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise CorpusError(f"{_display(path)}: not a readable Parquet file ({exc})"
                              ) from None
        uri = f if not _has_scheme(path) else path.split("://", 1)[0] + "://" + f
        for g in range(meta.num_row_groups):
            pieces.append((uri, g, before))
            before += meta.row_group(g).num_rows
    return pieces


def _read_row_group(where: str, piece: tuple[str, int, int]) -> Iterator[Parsed]:
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    uri, group, before = piece
    fs, p = pafs.FileSystem.from_uri(uri) if _has_scheme(uri) else (pafs.LocalFileSystem(), uri)
    with fs.open_input_file(p) as fh:
        rows = pq.ParquetFile(fh).read_row_group(group).to_pylist()
    for k, raw in enumerate(rows):
        try:
            yield before + k, record_from_dict(raw, f"{where}: row {before + k + 1}")
        except CorpusError as exc:
            yield before + k, str(exc)


def read_parquet(spark: SparkSession, path: str) -> RDD:
    """One task per row group, read with pyarrow exactly as the local reader converts rows."""
    where = _display(path)
    pieces = _parquet_pieces(path)
    sc = spark.sparkContext
    return sc.parallelize(pieces, max(1, len(pieces))).flatMap(
        lambda piece: _read_row_group(where, piece))


def read_input(spark: SparkSession, path: str | Path, partitions: int) -> RDD:
    path = str(path)
    if path.endswith(".parquet") or (not _has_scheme(path) and Path(path).is_dir()):
        return read_parquet(spark, path)
    if not _has_scheme(path) and not Path(path).is_file():
        raise CorpusError(f"{_display(path)}: cannot read: No such file or directory")
    return read_jsonl(spark, path, partitions)


# -- per-partition signing --------------------------------------------------------------------


def _raw_rows(rows: Iterable[Parsed]) -> Iterator[tuple[Any, ...]]:
    """Plain columns for the JVM; published as the store would keep it (UTC, seconds)."""
    for idx, item in rows:
        if isinstance(item, str):
            yield idx, None, None, None, None, item
        else:
            yield idx, item.id, item.text, to_db_time(item.published), item.url, None


def _sign_batches(cfg: DedupConfig, batches: Iterable[pa.RecordBatch],
                  ) -> Iterator[pa.RecordBatch]:
    """Arrow in, Arrow out: signing runs on whole batches and nothing is pickled per row."""
    import pyarrow as pa

    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    for batch in batches:
        cols = batch.to_pydict()
        for lo in range(0, batch.num_rows, _SIGN_BATCH):
            hi = min(lo + _SIGN_BATCH, batch.num_rows)
            ok = [i for i in range(lo, hi) if cols["error"][i] is None]
            signed = sign_records([CorpusRecord(cols["id"][i], cols["text"][i], cols["url"][i],
                                                from_db_time(cols["published"][i]))
                                   for i in ok], cfg, hasher)
            by_row = dict(zip(ok, signed, strict=True))
            rows = range(lo, hi)
            yield pa.RecordBatch.from_pydict({
                "idx": [cols["idx"][i] for i in rows],
                "id": [cols["id"][i] for i in rows],
                "published": [cols["published"][i] for i in rows],
                "url": [cols["url"][i] for i in rows],
                "shingles": [by_row[i].shingles.tobytes() if i in by_row else None
                             for i in rows],
                "keys": [by_row[i].keys if i in by_row else None for i in rows],
                "error": [cols["error"][i] for i in rows],
            }, schema=_signed_arrow_schema())


def _signed_arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("idx", pa.int64()), ("id", pa.string()), ("published", pa.string()),
                      ("url", pa.string()), ("shingles", pa.binary()),
                      ("keys", pa.list_(pa.int64())), ("error", pa.string())])


def sign_input(spark: SparkSession, parsed: RDD, cfg: DedupConfig) -> DataFrame:
    raw = spark.createDataFrame(parsed.mapPartitions(_raw_rows), RAW_SCHEMA,
                                verifySchema=False)
    return raw.mapInArrow(lambda batches: _sign_batches(cfg, batches), SIGNED_SCHEMA)


def validate(signed: DataFrame, source: str) -> int:
    """The local reader's checks, in its order: the first bad line, a duplicate id, none."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    bad = signed.where(F.col("error").isNotNull()).orderBy("idx").select("error").limit(1)
    first = bad.collect()
    if first:
        raise CorpusError(first[0][0])
    nth = F.row_number().over(Window.partitionBy("id").orderBy("idx"))
    dup = (signed.select("id", "idx").withColumn("nth", nth).where("nth = 2")
           .orderBy("idx").select("id").limit(1).collect())
    if dup:
        raise CorpusError(f"{source}: duplicate id {dup[0][0]!r}")
    count = signed.count()
    if not count:
        raise CorpusError(f"{source}: no records")
    return count


# -- the LSH-candidate graph and its components ----------------------------------------------


def star_edges(signed: DataFrame) -> DataFrame:
    """(src, dst) with dst the smallest index sharing one of src's (band, bucket)s."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    bands = (signed.where(F.size("keys") > 0)
             .select("idx", F.posexplode("keys").alias("band", "bucket")))
    root = F.min("idx").over(Window.partitionBy("band", "bucket"))
    return (bands.withColumn("root", root).where(F.col("idx") != F.col("root"))
            .select(F.col("idx").alias("src"), F.col("root").alias("dst")).distinct())


def _cut(df: DataFrame, checkpoint: bool) -> DataFrame:
    return df.checkpoint(eager=True) if checkpoint else df.localCheckpoint(eager=True)


def components(edges: DataFrame, *, checkpoint: bool = False) -> tuple[DataFrame, int]:
    """(v, comp): the smallest index in v's connected component, for every edge endpoint.

    Each round takes the smallest label among a vertex's neighbours, then jumps to its
    label's label (labels only ever decrease, and each is a vertex of the same
    component, so a round with an unchanged label sum changed nothing: a fixpoint, where
    every edge joins equal labels and so every component carries its minimum).
    """
    from pyspark.sql import functions as F

    adj = _cut(edges.select(F.col("src").alias("a"), F.col("dst").alias("b"))
               .union(edges.select(F.col("dst").alias("a"), F.col("src").alias("b"))),
               checkpoint)
    labels = _cut(adj.groupBy("a").agg(F.least(F.col("a"), F.min("b")).alias("label"))
                  .withColumnRenamed("a", "v"), checkpoint)
    total = _label_sum(labels)
    for rounds in range(1, _MAX_ROUNDS + 1):
        seen = (adj.join(labels.select(F.col("v").alias("b"), F.col("label").alias("lb")), "b")
                .groupBy("a").agg(F.min("lb").alias("lb")).withColumnRenamed("a", "v"))
        hop = labels.join(seen, "v", "left").select(
            "v", F.least("label", F.coalesce("lb", "label")).alias("label"))
        jump = hop.alias("x").join(hop.alias("y"), F.col("x.label") == F.col("y.v")).select(
            F.col("x.v").alias("v"), F.col("y.label").alias("label"))
        new = _cut(jump, checkpoint)
        new_total = _label_sum(new)
        labels.unpersist()
        labels = new
        if new_total == total:
            return labels, rounds
        total = new_total
    raise StoreError(f"connected components did not converge in {_MAX_ROUNDS} rounds")


def _label_sum(labels: DataFrame) -> int:
    from pyspark.sql import functions as F

    value = labels.agg(F.sum(F.col("label").cast("decimal(38,0)"))).collect()[0][0]
    return int(value or 0)


# -- replaying the sequential pass per component ---------------------------------------------


def _cluster_batches(cfg: DedupConfig, batches: Iterable[pa.RecordBatch],
                    ) -> Iterator[pa.RecordBatch]:
    """Rows arrive sorted by (comp, idx); each run of one comp is replayed on its own.

    A component may straddle two Arrow batches, so a run is only closed when the next
    component starts (or the partition ends).
    """
    import pyarrow as pa

    group: list[SignedRecord] = []
    out: dict[str, list[Any]] = {"idx": [], "line": [], "is_rep": []}
    current = None

    def flush() -> None:
        for rec, row in zip(group, cluster_signed(group, cfg), strict=True):
            out["idx"].append(rec.index)
            out["line"].append(assignment_line(row))
            out["is_rep"].append(row.cluster == row.id)
        group.clear()

    def emit() -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(out, schema=_lines_arrow_schema())
        for values in out.values():
            values.clear()
        return batch

    for batch in batches:
        comps = batch.column("comp").to_pylist()
        idxs = batch.column("idx").to_pylist()
        ids = batch.column("id").to_pylist()
        published = batch.column("published").to_pylist()
        urls = batch.column("url").to_pylist()
        shingles = batch.column("shingles").to_pylist()
        keys = batch.column("keys")
        offsets = keys.offsets.to_numpy()
        values = keys.values.to_numpy(zero_copy_only=False)
        for k, comp in enumerate(comps):
            if comp != current and group:
                flush()
            current = comp
            group.append(SignedRecord(idxs[k], ids[k], from_db_time(published[k]),
                                      np.frombuffer(shingles[k], dtype=np.uint32),
                                      values[offsets[k] : offsets[k + 1]], urls[k]))
        if len(out["idx"]) >= _SIGN_BATCH:
            yield emit()
    if group:
        flush()
    if out["idx"]:
        yield emit()


def _lines_arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("idx", pa.int64()), ("line", pa.string()), ("is_rep", pa.bool_())])


def cluster_components(spark: SparkSession, signed: DataFrame, labels: DataFrame,
                       cfg: DedupConfig, partitions: int) -> DataFrame:
    """(idx, line, is_rep) for every record, ``line`` being its JSON output line."""
    from pyspark.sql import functions as F

    joined = (signed.join(labels, signed["idx"] == labels["v"], "left")
              .select(F.coalesce("label", "idx").alias("comp"), "idx", "id", "published",
                      "url", "shingles", "keys"))
    ordered = joined.repartition(partitions, "comp").sortWithinPartitions("comp", "idx")
    return ordered.mapInArrow(lambda batches: _cluster_batches(cfg, batches), LINES_SCHEMA)


# -- the whole job -----------------------------------------------------------------------------


def spark_dedup_lines(spark: SparkSession, parsed: RDD, source: str,
                      cfg: DedupConfig | None = None, *, partitions: int = 8,
                      checkpoint: bool = False) -> tuple[DataFrame, SparkDedupStats]:
    """Output lines (idx, line, is_rep) of a parsed input, persisted; raises CorpusError."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    cfg = cfg or DedupConfig()
    started = last = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases[name], last = round(now - last, 2), now

    # On disk, not in memory: the signed rows (shingle sets) of a million records do not
    # fit a local-mode heap, and caching them in memory first ran the JVM out of heap at
    # 1M records with 3 GiB. Re-reading them from local disk is cheap next to re-signing.
    cached = sign_input(spark, parsed, cfg).persist(StorageLevel.DISK_ONLY)
    try:
        records = validate(cached, source)
        signed = cached.drop("error")
        banded = signed.where(F.size("keys") > 0).count()
        lap("read+sign+validate")
        labels, rounds = components(star_edges(signed), checkpoint=checkpoint)
        linked = labels.count()
        sizes = labels.groupBy("label").count().agg(F.max("count")).collect()[0][0]
        lap("graph+components")
        lines = cluster_components(spark, signed, labels, cfg, partitions)
        lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
        clusters = lines.where("is_rep").count()
        lap("replay per component")
    finally:
        cached.unpersist()
    return lines, SparkDedupStats(records, clusters, banded, linked, rounds, sizes or 1,
                                  time.perf_counter() - started, phases)


def write_parts(lines: DataFrame, output_dir: str) -> None:
    """Text part files whose name order is file order (a range-partitioned sort by idx)."""
    lines.orderBy("idx").select("line").write.mode("overwrite").text(output_dir)


def concat_parts(parts_dir: str | Path, output: str | Path) -> None:
    """Join ``part-*`` files in name order into one file, atomically (temp + rename)."""
    parts = sorted(p for p in Path(parts_dir).iterdir() if p.name.startswith("part-"))
    output = Path(output)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for p in parts:
                with p.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"{output}: cannot write: {exc.strerror or exc}") from exc


def spark_dedup(spark: SparkSession, input: str | Path | Sequence[str], output: str | Path,
                cfg: DedupConfig | None = None, *, partitions: int = 8,
                output_dir: bool = False, parsed: RDD | None = None,
                record_reader: RecordReader | None = None) -> SparkDedupStats:
    """Cluster a JSONL/Parquet corpus (or an already parsed RDD) and write the output.

    ``output`` is one JSONL file like ``newsdedup dedup --input`` writes (part files are
    written next to it and joined), or with ``output_dir`` a directory of part files.
    With ``record_reader``, ``input`` is one path or a list of them, in file order, each
    read whole by the reader on an executor (how the crawler feeds WARC files in); the
    readers' skipped entries and problems come back in the stats.
    """
    reports = None
    if record_reader is not None:
        from ._files import read_files

        paths = [input] if isinstance(input, str | Path) else list(input)
        paths = [str(p) for p in paths]
        source = source_name(paths)
        parsed, reports = read_files(spark, paths, record_reader)
    else:
        source = _display(str(input))
    if parsed is None:
        parsed = read_input(spark, input, partitions)
    try:
        lines, stats = spark_dedup_lines(spark, parsed, source, cfg, partitions=partitions)
    except CorpusError as exc:
        if reports is not None and str(exc) == no_records_message(source):
            raise CorpusError(no_records_message(source, _reports(paths, reports))) from None
        raise
    if reports is not None:
        done = _reports(paths, reports)
        stats.skipped = sum(r.skipped for r in done)
        stats.problems = [p for r in done for p in r.problems]
    started = time.perf_counter()
    try:
        if output_dir:
            write_parts(lines, str(output))
        else:
            out = Path(output)
            parts = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.parts-"))
            try:
                write_parts(lines, str(parts))
                concat_parts(parts, out)
            finally:
                shutil.rmtree(parts, ignore_errors=True)
    finally:
        lines.unpersist()
    stats.phases["sort+write"] = round(time.perf_counter() - started, 2)
    stats.seconds += stats.phases["sort+write"]
    return stats


def _reports(paths: list[str], reports: Any) -> list[ReadReport]:
    from ._files import reports_in_order

    return reports_in_order(paths, reports.value)
