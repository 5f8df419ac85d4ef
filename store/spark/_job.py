"""Corpus-scale batch dedup on Apache Spark, with exactly the output of ``dedup --input``.

The batch engine (``store.dedup._batch``) is a function of the set of records, built from
steps that each look at a bounded part of it, so the job runs the engine's own functions
on those parts:

1. read the records with a stable index in the local path's order (file order), each with
   its engine unit (``_corpus.unit_of``) and its lines' keys (``record_lines``);
2. learn boilerplate per scope, as ``_boilerplate.learn`` does over all records at once:
   every (scope, line) held by ``min_records`` records of the scope is decided by
   ``decide`` on the same holder sample (the smallest ``sample_key``), with the records of
   other scopes holding the line counted over all records;
3. per partition, each record's content less its scope's boilerplate (``record_content``),
   and its salted band keys and tagged anchors (``band_keys``, ``anchor_keys``);
4. candidate pairs: the rows of each key meet in one partition, sorted by key, where
   ``_graph.weighted_pair_codes`` (with its cap on common keys) makes their pairs and what
   each key weighs for them; a pair's weights are summed over all keys by a groupBy, and
   those reaching ``_graph.STRONG`` are candidates;
5. each pair is compared on the two verify sets after a join (``compare_pairs``,
   ``linked``, ``copies``); a soft pair is decided by ``soft_copies`` on its part's linked
   neighbours, gathered by a second join;
6. connected components over the copy pairs, by iterative min-label propagation with
   pointer jumping in DataFrames (the graph never visits the driver);
7. each component is placed by ``place_component`` in one task (canonical order, leaders,
   origins, figures), each reuse link is added by ``add_reuse`` after a join with the
   linked record's place, and each row is ``_corpus.assignment_of`` written as JSON, in
   file order.

Run it from the CLI (``newsdedup spark-dedup``) or, on a cluster, through ``spark-submit``
with the one entry script, which takes ``newsdedup spark-dedup``'s options::

    zip -r newsdedup.zip store crawler
    spark-submit --master yarn --py-files newsdedup.zip crawler/spark_submit.py \\
        --input hdfs:///corpus.jsonl --output hdfs:///dedup-out --output-dir

The executors need numpy, numba, xxhash and pyarrow (or install the wheel on every node).
With ``--output-dir`` the result is ``part-*`` text files whose name order is file order:
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
from store.dedup import DedupConfig, MinHasher, Thresholds
from store.dedup._batch import (
    Unit,
    add_reuse,
    anchor_keys,
    band_keys,
    copies,
    ignored_lines,
    linked,
    part_whole,
    place_component,
    record_content,
    record_lines,
)
from store.dedup._boilerplate import BoilerplateRules, RecordLines, decide
from store.dedup._corpus import (
    CorpusRecord,
    ReadReport,
    RecordReader,
    assignment_line,
    assignment_of,
    no_records_message,
    record_from_dict,
    source_name,
    unit_of,
)
from store.dedup._graph import STRONG, decode_pairs, summed_codes, weighted_pair_codes
from store.dedup._leaders import Item
from store.dedup._verify import compare_pairs, soft_copies

if TYPE_CHECKING:  # pyspark is an optional extra; importing this module must not need it
    import pyarrow as pa
    from pyspark import RDD
    from pyspark.sql import DataFrame, SparkSession

_SIGN_BATCH = 1000
_PAIR_CHUNK = 200_000  # (key, record) rows handed to weighted_pair_codes at once, whole keys
_MAX_ROUNDS = 100  # far above the log-diameter rounds pointer jumping needs
_HALF = 1 << 63  # unsigned 64-bit hashes are kept as Spark longs shifted by this

RAW_SCHEMA = (
    "idx long, id string, text string, url string, sample long, scope string, "
    "first_seen string, line_keys array<long>, line_tokens array<int>, "
    "error string"
)
LEARNED_SCHEMA = "scope string, lkey long"
SIGNED_SCHEMA = (
    "idx long, id string, url string, sample long, first_seen string, "
    "verify binary, shingles long, digest long, cand array<long>, cand_w array<int>, "
    "ignored array<string>"
)
PAIRS_SCHEMA = "a long, b long, w int"
VERDICTS_SCHEMA = "a long, b long, a_in double, b_in double, copy boolean, soft boolean"
ACCEPTED_SCHEMA = "a long, b long"
PLACED_SCHEMA = (
    "idx long, leader long, origin long, similarity double, containment double, "
    "leader_id string, origin_id string, sample long, first_seen string"
)
LINES_SCHEMA = "idx long, line string, is_rep boolean"


class SparkUnavailable(MissingDependency):
    """pyspark or a Java runtime is missing; the message says what to install."""


@dataclass
class SparkDedupStats:
    records: int
    clusters: int
    banded: int  # records with enough content to be signed (LSH bands and anchors)
    linked: int  # records with a copy-level pair: vertices of the components graph
    rounds: int  # label-propagation rounds until no label changed
    largest: int  # records in the largest component: one task places it
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds per stage of the job
    skipped: int = 0  # with a record reader: entries that gave no record
    problems: list[str] = field(default_factory=list)  # with a record reader: damaged files
    learned: int = 0  # (scope, line) pairs learned as boilerplate
    pairs: int = 0  # candidate pairs verified
    verified: int = 0  # of them, copies and reuse links
    soft: int = 0  # of those, soft pairs decided on their part's neighbours
    copies: int = 0  # copy pairs, soft ones accepted included: edges of the components graph


# -- session ------------------------------------------------------------------------------


def spark_session(
    master: str | None = "local[2]",
    *,
    partitions: int = 8,
    driver_memory: str = "2g",
    app_name: str = "newsdedup-dedup",
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """A session whose Python workers run this interpreter (so they can import ``store``).

    ``master=None`` leaves the master to ``spark-submit``.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "spark-dedup needs pyspark: pip install 'newsdedup[spark]'"
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
        raise SparkUnavailable(
            "spark-dedup needs a Java runtime (17 or newer) on PATH or in JAVA_HOME"
        )
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

    fs, root = (
        pafs.FileSystem.from_uri(path)
        if _has_scheme(path)
        else (pafs.LocalFileSystem(), str(Path(path).resolve()))
    )
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
            raise CorpusError(f"{_display(path)}: not a readable Parquet file ({exc})") from None
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
        lambda piece: _read_row_group(where, piece)
    )


def read_input(spark: SparkSession, path: str | Path, partitions: int) -> RDD:
    path = str(path)
    if path.endswith(".parquet") or (not _has_scheme(path) and Path(path).is_dir()):
        return read_parquet(spark, path)
    if not _has_scheme(path) and not Path(path).is_file():
        raise CorpusError(f"{_display(path)}: cannot read: No such file or directory")
    return read_jsonl(spark, path, partitions)


# -- records, their units and lines ----------------------------------------------------------


def _raw_rows(rows: Iterable[Parsed]) -> Iterator[tuple[Any, ...]]:
    """Plain columns for the JVM: the record, its engine unit (``_corpus.unit_of``) and what
    boilerplate learning reads of it (``_batch.record_lines``: each line's key and token
    count)."""
    for idx, item in rows:
        if isinstance(item, str):
            yield idx, None, None, None, None, None, None, None, None, item
            continue
        unit = unit_of(item)
        keys, tokens = record_lines(item.text)
        yield (
            idx,
            item.id,
            item.text,
            item.url,
            unit.sample,
            unit.scope,
            unit.first_seen,
            keys.tolist(),
            tokens.tolist(),
            None,
        )


def read_records(spark: SparkSession, parsed: RDD) -> DataFrame:
    return spark.createDataFrame(parsed.mapPartitions(_raw_rows), RAW_SCHEMA, verifySchema=False)


def validate(signed: DataFrame, source: str) -> int:
    """The local reader's checks, in its order: the first bad line, a duplicate id, none."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    bad = signed.where(F.col("error").isNotNull()).orderBy("idx").select("error").limit(1)
    first = bad.collect()
    if first:
        raise CorpusError(first[0][0])
    nth = F.row_number().over(Window.partitionBy("id").orderBy("idx"))
    dup = (
        signed.select("id", "idx")
        .withColumn("nth", nth)
        .where("nth = 2")
        .orderBy("idx")
        .select("id")
        .limit(1)
        .collect()
    )
    if dup:
        raise CorpusError(f"{source}: duplicate id {dup[0][0]!r}")
    count = signed.count()
    if not count:
        raise CorpusError(f"{source}: no records")
    return count


# -- boilerplate learned per scope -------------------------------------------------------------


def learn_boilerplate(records: DataFrame, rules: BoilerplateRules) -> DataFrame:
    """(scope, lkey) of every line learned as boilerplate, as ``_batch.learn_boilerplate``
    finds them over all records at once: a (scope, line) group of at least ``min_records`` records
    is decided by ``decide`` on its ``sample`` holders of smallest (sample key, index) (the
    order the batch engine's stable sort leaves), with the records of other scopes holding
    the line counted over all records."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    held = records.select("idx", "scope", "sample", F.explode("line_keys").alias("lkey"))
    anywhere = held.groupBy("lkey").agg(F.count("*").alias("total"))
    group = Window.partitionBy("scope", "lkey")
    sampled = (
        held.withColumn("here", F.count("*").over(group))
        .where(F.col("here") >= rules.min_records)
        .withColumn("rank", F.row_number().over(group.orderBy("sample", "idx")))
        .where(F.col("rank") <= rules.sample)
    )
    lines = records.select("idx", "line_keys", "line_tokens")
    holders = (
        sampled.join(anywhere, "lkey")
        .join(lines, "idx")
        .groupBy("scope", "lkey")
        .agg(
            F.max("here").alias("here"),
            F.max("total").alias("total"),
            F.collect_list(F.struct("rank", "sample", "line_keys", "line_tokens")).alias("holders"),
        )
    )
    return holders.mapInArrow(lambda batches: _decide_batches(rules, batches), LEARNED_SCHEMA)


def _decide_batches(
    rules: BoilerplateRules,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    schema = pa.schema([("scope", pa.string()), ("lkey", pa.int64())])
    for batch in batches:
        out: dict[str, list[Any]] = {"scope": [], "lkey": []}
        for row in batch.to_pylist():
            holders = [
                RecordLines(
                    row["scope"],
                    h["sample"],
                    np.array(h["line_keys"], dtype=np.int64),
                    np.array(h["line_tokens"], dtype=np.int64),
                )
                for h in sorted(row["holders"], key=lambda h: h["rank"])
            ]
            here = row["here"]
            if decide(row["scope"], holders, here, row["total"] - here, rules):
                out["scope"].append(row["scope"])
                out["lkey"].append(row["lkey"])
        yield pa.RecordBatch.from_pydict(out, schema=schema)


def boilerplate_of(records: DataFrame, learned: DataFrame) -> DataFrame:
    """(idx, bp): each record's lines learned as boilerplate in its scope, for records with
    any; ``record_content`` only asks of a record's own lines whether they are boilerplate."""
    from pyspark.sql import functions as F

    held = records.select("idx", "scope", F.explode("line_keys").alias("lkey"))
    return (
        held.join(learned, ["scope", "lkey"]).groupBy("idx").agg(F.collect_list("lkey").alias("bp"))
    )


# -- per-partition content, signatures and keys ------------------------------------------------


def _sign_batches(
    cfg: DedupConfig,
    explain: bool,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """Arrow in, Arrow out: each record's content and candidate keys, by the batch engine's
    functions on whole batches."""
    import pyarrow as pa

    t = cfg.thresholds
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    schema = _signed_arrow_schema()
    for batch in batches:
        cols = batch.to_pydict()
        for lo in range(0, batch.num_rows, _SIGN_BATCH):
            rows = range(lo, min(lo + _SIGN_BATCH, batch.num_rows))
            out: dict[str, list[Any]] = {name: [] for name in schema.names}
            keys: list[np.ndarray] = []
            owners: list[np.ndarray] = []
            weights: list[np.ndarray] = []
            signed: list[int] = []
            shingles: list[np.ndarray] = []
            for k, i in enumerate(rows):
                bp = frozenset(cols["bp"][i] or ())
                verify, sh, anchors, digest = record_content(cols["text"][i], bp, cfg.shingle_size)
                if len(sh) >= t.min_shingles:
                    signed.append(k)
                    shingles.append(sh)
                    if len(anchors):
                        for part, piece in zip(
                            (keys, owners, weights), anchor_keys(k, anchors), strict=True
                        ):
                            part.append(piece)
                ignored = None
                if explain:
                    unit = Unit(cols["sample"][i], cols["scope"][i], cols["first_seen"][i])
                    ignored = ignored_lines(cols["text"][i], unit, {unit.scope: bp})
                for name in ("idx", "id", "url", "sample", "first_seen"):
                    out[name].append(cols[name][i])
                out["verify"].append(verify.astype(np.uint32, copy=False).tobytes())
                out["shingles"].append(len(sh))
                out["digest"].append(digest - _HALF)
                out["ignored"].append(ignored)
            if signed:
                for part, piece in zip(
                    (keys, owners, weights),
                    band_keys(signed, shingles, hasher, cfg),
                    strict=True,
                ):
                    part.append(piece)
            out["cand"] = [[] for _ in rows]
            out["cand_w"] = [[] for _ in rows]
            for key, owner, weight in zip(
                np.concatenate(keys).tolist() if keys else [],
                np.concatenate(owners).tolist() if owners else [],
                np.concatenate(weights).tolist() if weights else [],
                strict=True,
            ):
                out["cand"][owner].append(key)
                out["cand_w"][owner].append(weight)
            yield pa.RecordBatch.from_pydict(out, schema=schema)


def _signed_arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("idx", pa.int64()),
            ("id", pa.string()),
            ("url", pa.string()),
            ("sample", pa.int64()),
            ("first_seen", pa.string()),
            ("verify", pa.binary()),
            ("shingles", pa.int64()),
            ("digest", pa.int64()),
            ("cand", pa.list_(pa.int64())),
            ("cand_w", pa.list_(pa.int32())),
            ("ignored", pa.list_(pa.string())),
        ]
    )


def sign_records(
    records: DataFrame,
    bp: DataFrame,
    cfg: DedupConfig,
    explain: bool,
) -> DataFrame:
    rows = records.join(bp, "idx", "left").select(
        "idx", "id", "url", "sample", "scope", "first_seen", "text", "bp"
    )
    return rows.mapInArrow(lambda batches: _sign_batches(cfg, explain, batches), SIGNED_SCHEMA)


def _verify_set(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.uint32)


# -- candidate pairs and their verdicts ----------------------------------------------------------


def candidate_pairs(signed: DataFrame, partitions: int) -> DataFrame:
    """(a, b), a < b, unique: records sharing a band key, or anchors enough. The rows of
    one key meet in one partition, in key order, and go to ``weighted_pair_codes`` in whole
    keys; each pair's weights are then summed over every partition."""
    from pyspark.sql import functions as F

    rows = signed.select("idx", F.explode(F.arrays_zip("cand", "cand_w")).alias("c")).select(
        "idx", F.col("c.cand").alias("ckey"), F.col("c.cand_w").alias("cw")
    )
    return (
        rows.repartition(partitions, "ckey")
        .sortWithinPartitions("ckey")
        .mapInArrow(_pair_batches, PAIRS_SCHEMA)
        .groupBy("a", "b")
        .agg(F.sum("w").alias("w"))
        .where(F.col("w") >= STRONG)
        .select("a", "b")
    )


def _pair_batches(
    batches: Iterable[pa.RecordBatch],
    chunk: int = _PAIR_CHUNK,
) -> Iterator[pa.RecordBatch]:
    """Weighted pairs of a partition's (ckey, idx, cw) rows sorted by key, ``chunk`` rows
    or more at a time: a chunk ends where a key ends, so each key's rows go to
    ``weighted_pair_codes`` whole."""
    keys: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    held = 0
    for batch in batches:
        keys.append(batch.column("ckey").to_numpy())
        owners.append(batch.column("idx").to_numpy())
        weights.append(batch.column("cw").to_numpy())
        held += batch.num_rows
        if held < chunk:
            continue
        k, o, w = np.concatenate(keys), np.concatenate(owners), np.concatenate(weights)
        cut = int(np.searchsorted(k, k[-1], side="left"))  # the last key may go on
        if cut:
            yield _pairs_batch(*_pairs_of(k[:cut], o[:cut], w[:cut]))
        keys, owners, weights, held = [k[cut:]], [o[cut:]], [w[cut:]], len(k) - cut
    if held:
        yield _pairs_batch(
            *_pairs_of(np.concatenate(keys), np.concatenate(owners), np.concatenate(weights))
        )


def _pairs_of(
    keys: np.ndarray, owners: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(pairs, summed weights) of the chunk, on record indices of any size: a pair is
    packed into one int64, so the chunk's records are numbered densely (in index order)
    and mapped back after. A record reader's indices are ``file << 32 | record``."""
    ids, dense = np.unique(owners, return_inverse=True)
    codes, weight = summed_codes(
        *weighted_pair_codes(keys, dense.reshape(-1).astype(np.int64), weights.astype(np.uint8))
    )
    return ids[decode_pairs(codes)], weight


def _pairs_batch(pairs: np.ndarray, weights: np.ndarray) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(
        [pa.array(pairs[:, 0]), pa.array(pairs[:, 1]), pa.array(weights.astype(np.int32))],
        names=["a", "b", "w"],
    )


def verdicts(signed: DataFrame, pairs: DataFrame, t: Thresholds) -> DataFrame:
    """(a, b, a_in, b_in, copy, soft) of the linked pairs (copies and reuse links)."""
    from pyspark.sql import functions as F

    va = signed.select(F.col("idx").alias("a"), F.col("verify").alias("va"))
    vb = signed.select(F.col("idx").alias("b"), F.col("verify").alias("vb"))
    return (
        pairs.join(va, "a")
        .join(vb, "b")
        .mapInArrow(lambda batches: _verdict_batches(t, batches), VERDICTS_SCHEMA)
    )


def _verdict_batches(
    t: Thresholds,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    schema = pa.schema(
        [
            ("a", pa.int64()),
            ("b", pa.int64()),
            ("a_in", pa.float64()),
            ("b_in", pa.float64()),
            ("copy", pa.bool_()),
            ("soft", pa.bool_()),
        ]
    )
    for batch in batches:
        cols = batch.to_pydict()
        sets = [
            _verify_set(v) for pair in zip(cols["va"], cols["vb"], strict=True) for v in pair
        ]  # pair k's sets are sets 2k and 2k + 1
        offsets = np.zeros(len(sets) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in sets], out=offsets[1:])
        values = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32)
        local = np.arange(len(sets), dtype=np.int64).reshape(-1, 2)
        jac, a_in, b_in = compare_pairs(values, offsets, local)
        keep = linked(jac, a_in, b_in, t)
        copy, soft = copies(jac, a_in, b_in, t)
        a, b = (np.array(cols[c], dtype=np.int64) for c in ("a", "b"))
        yield pa.RecordBatch.from_pydict(
            {
                "a": a[keep],
                "b": b[keep],
                "a_in": a_in[keep],
                "b_in": b_in[keep],
                "copy": copy[keep],
                "soft": soft[keep],
            },
            schema=schema,
        )


def soft_accepted(signed: DataFrame, verdict: DataFrame, t: Thresholds) -> DataFrame:
    """(a, b), a < b, of the soft pairs that are copies: each soft pair (part, whole) meets
    its part's linked neighbours and all their verify sets, for ``soft_copies``."""
    from pyspark.sql import functions as F

    soft = verdict.where("soft").mapInArrow(_part_whole_batches, "part long, whole long")
    near = verdict.select(F.col("a").alias("part"), F.col("b").alias("o")).unionByName(
        verdict.select(F.col("b").alias("part"), F.col("a").alias("o"))
    )
    sets = signed.select("idx", "verify")
    gathered = (
        soft.join(near, "part")
        .join(sets.withColumnRenamed("idx", "o").withColumnRenamed("verify", "vo"), "o")
        .groupBy("part", "whole")
        .agg(F.collect_list(F.struct("o", "vo")).alias("near"))
        .join(sets.withColumnRenamed("idx", "part").withColumnRenamed("verify", "vp"), "part")
        .join(sets.withColumnRenamed("idx", "whole").withColumnRenamed("verify", "vw"), "whole")
    )
    return gathered.mapInArrow(lambda batches: _soft_batches(t, batches), ACCEPTED_SCHEMA)


def _part_whole_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    for batch in batches:
        cols = batch.to_pydict()
        oriented = [
            part_whole(*row)
            for row in zip(cols["a"], cols["b"], cols["a_in"], cols["b_in"], strict=True)
        ]
        yield pa.RecordBatch.from_pydict(
            {"part": [p for p, _ in oriented], "whole": [w for _, w in oriented]},
            schema=pa.schema([("part", pa.int64()), ("whole", pa.int64())]),
        )


def _soft_batches(
    t: Thresholds,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    schema = pa.schema([("a", pa.int64()), ("b", pa.int64())])
    for batch in batches:
        out: dict[str, list[int]] = {"a": [], "b": []}
        for r in batch.to_pylist():
            part, whole = r["part"], r["whole"]
            sets = {n["o"]: _verify_set(n["vo"]) for n in r["near"]}
            sets[part], sets[whole] = _verify_set(r["vp"]), _verify_set(r["vw"])
            near = {part: [n["o"] for n in r["near"]]}
            if soft_copies([(part, whole)], near.__getitem__, sets.__getitem__, t):
                out["a"].append(min(part, whole))
                out["b"].append(max(part, whole))
        yield pa.RecordBatch.from_pydict(out, schema=schema)


# -- connected components of the copy-level pairs ------------------------------------------------


def _cut(df: DataFrame, checkpoint: bool, level: Any = None) -> DataFrame:
    """``df`` computed once and read back through a checkpoint, whose plan is one line.

    A plan that names a cached input prints that input's whole plan, so plans built on
    each other's outputs grow multiplicatively: 30 million characters for the last stage of
    200 records, which ran a 1 GiB driver out of heap while Spark logged them."""
    if checkpoint:
        return df.checkpoint(eager=True)
    return df.localCheckpoint(eager=True, storageLevel=level)


def components(edges: DataFrame, *, checkpoint: bool = False) -> tuple[DataFrame, int]:
    """(v, comp): the smallest index in v's connected component, for every edge endpoint.

    Each round takes the smallest label among a vertex's neighbours, then jumps to its
    label's label (labels only ever decrease, and each is a vertex of the same
    component, so a round with an unchanged label sum changed nothing: a fixpoint, where
    every edge joins equal labels and so every component carries its minimum).
    """
    from pyspark.sql import functions as F

    adj = _cut(
        edges.select(F.col("src").alias("a"), F.col("dst").alias("b")).union(
            edges.select(F.col("dst").alias("a"), F.col("src").alias("b"))
        ),
        checkpoint,
    )
    labels = _cut(
        adj.groupBy("a")
        .agg(F.least(F.col("a"), F.min("b")).alias("label"))
        .withColumnRenamed("a", "v"),
        checkpoint,
    )
    total = _label_sum(labels)
    for rounds in range(1, _MAX_ROUNDS + 1):
        seen = (
            adj.join(labels.select(F.col("v").alias("b"), F.col("label").alias("lb")), "b")
            .groupBy("a")
            .agg(F.min("lb").alias("lb"))
            .withColumnRenamed("a", "v")
        )
        hop = labels.join(seen, "v", "left").select(
            "v", F.least("label", F.coalesce("lb", "label")).alias("label")
        )
        jump = (
            hop.alias("x")
            .join(hop.alias("y"), F.col("x.label") == F.col("y.v"))
            .select(F.col("x.v").alias("v"), F.col("y.label").alias("label"))
        )
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


# -- placing each component, then reuse links and rows ------------------------------------------


def _place_run(t: Thresholds, run: list[dict[str, Any]], out: dict[str, list[Any]]) -> None:
    """Place one component's rows (in index order) with ``place_component``."""
    # origins read a unit's sample key and publication time, not its scope
    units = {r["idx"]: Unit(r["sample"], "", r["first_seen"]) for r in run}
    items = [
        Item(
            r["idx"], _verify_set(r["verify"]), r["shingles"], r["first_seen"], r["digest"] + _HALF
        )
        for r in run
    ]
    accepted = {frozenset((x["a"], x["b"])) for x in run[0]["accepted"] or ()}
    placed = place_component(items, units, accepted, t)
    ids = {r["idx"]: r["id"] for r in run}
    for r in run:
        lead, origin, similarity, containment = placed[r["idx"]]
        for name, value in zip(
            _PLACED_COLUMNS,
            (
                r["idx"],
                lead,
                origin,
                similarity,
                containment,
                ids[lead],
                ids[origin],
                r["sample"],
                r["first_seen"],
            ),
            strict=True,
        ):
            out[name].append(value)


_PLACED_COLUMNS = (
    "idx",
    "leader",
    "origin",
    "similarity",
    "containment",
    "leader_id",
    "origin_id",
    "sample",
    "first_seen",
)


def _place_component(t: Thresholds, table: pa.Table) -> pa.Table:
    import pyarrow as pa

    out: dict[str, list[Any]] = {name: [] for name in _PLACED_COLUMNS}
    _place_run(t, table.sort_by("idx").to_pylist(), out)
    return pa.Table.from_pydict(out, schema=_placed_arrow_schema())


def _place_alone(
    t: Thresholds,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    for batch in batches:
        out: dict[str, list[Any]] = {name: [] for name in _PLACED_COLUMNS}
        for row in batch.to_pylist():
            _place_run(t, [row], out)
        yield pa.RecordBatch.from_pydict(out, schema=_placed_arrow_schema())


def _placed_arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("idx", pa.int64()),
            ("leader", pa.int64()),
            ("origin", pa.int64()),
            ("similarity", pa.float64()),
            ("containment", pa.float64()),
            ("leader_id", pa.string()),
            ("origin_id", pa.string()),
            ("sample", pa.int64()),
            ("first_seen", pa.string()),
        ]
    )


def place(
    signed: DataFrame,
    labels: DataFrame,
    accepted: DataFrame,
    t: Thresholds,
) -> DataFrame:
    """Every record's place: the records of a component meet in one group, with the
    component's accepted soft pairs; a record with no copy pair is a component of its own,
    placed where it is."""
    from pyspark.sql import functions as F

    cols = ["idx", "id", "sample", "first_seen", "verify", "shingles", "digest"]
    labels = labels.withColumnRenamed("v", "idx")
    soft = (
        accepted.join(labels.withColumnRenamed("idx", "a"), "a")
        .groupBy("label")
        .agg(F.collect_list(F.struct("a", "b")).alias("accepted"))
    )
    # groupBy, not repartition + sort: the planner may drop a repartition whose input is
    # already partitioned by the label (by a join), and adaptive execution may then turn
    # that join into a broadcast one, leaving one component in several tasks
    linked = (
        signed.join(labels, "idx")
        .join(soft, "label", "left")
        .select(F.col("label").alias("comp"), *cols, "accepted")
    )
    alone = signed.join(labels, "idx", "left_anti").select(
        *cols, F.lit(None).cast("array<struct<a:long,b:long>>").alias("accepted")
    )
    placed = linked.groupBy("comp").applyInArrow(
        lambda table: _place_component(t, table), PLACED_SCHEMA
    )
    return placed.unionByName(
        alone.mapInArrow(lambda batches: _place_alone(t, batches), PLACED_SCHEMA)
    )


def output_lines(
    signed: DataFrame, placed: DataFrame, verdict: DataFrame, accepted: DataFrame, t: Thresholds
) -> DataFrame:
    """(idx, line, is_rep): each record's output line, with the stories it partly reuses
    (its reuse links, each joined with the linked record's place)."""
    from pyspark.sql import functions as F

    links = verdict.where(~F.col("copy")).join(accepted, ["a", "b"], "left_anti")
    both = links.select(
        F.col("a").alias("idx"), F.col("b").alias("j"), F.col("a_in").alias("share")
    ).unionByName(
        links.select(F.col("b").alias("idx"), F.col("a").alias("j"), F.col("b_in").alias("share"))
    )
    other = placed.select(*(F.col(c).alias(f"j_{c}") for c in placed.columns))
    linked = (
        both.join(other, F.col("j") == F.col("j_idx"))
        .groupBy("idx")
        .agg(F.collect_list(F.struct("share", *other.columns)).alias("links"))
    )
    rows = (
        signed.select("idx", "id", "url", "ignored").join(placed, "idx").join(linked, "idx", "left")
    )
    return rows.mapInArrow(lambda batches: _line_batches(t, batches), LINES_SCHEMA)


def _line_batches(
    t: Thresholds,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    schema = _lines_arrow_schema()
    for batch in batches:
        out: dict[str, list[Any]] = {"idx": [], "line": [], "is_rep": []}
        for r in batch.to_pylist():
            me = r["idx"]
            # a reuse link reads the records' publication times, not their scopes or keys
            unit = Unit(r["sample"], "", r["first_seen"])
            reuses: dict[int, dict[int, float]] = {}
            ids = {r["leader"]: r["leader_id"], r["origin"]: r["origin_id"]}
            for k in r["links"] or ():
                add_reuse(
                    reuses,
                    me,
                    r["leader"],
                    unit,
                    k["j_leader"],
                    Unit(k["j_sample"], "", k["j_first_seen"]),
                    k["share"],
                    t,
                )
                ids[k["j_leader"]] = k["j_leader_id"]
            row = assignment_of(
                r["id"],
                r["url"],
                r["leader"],
                r["origin"],
                r["similarity"],
                r["containment"],
                reuses.get(me, {}),
                ids,
                r["ignored"],
            )
            out["idx"].append(me)
            out["line"].append(assignment_line(row))
            out["is_rep"].append(r["leader"] == me)
        yield pa.RecordBatch.from_pydict(out, schema=schema)


def _lines_arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("idx", pa.int64()), ("line", pa.string()), ("is_rep", pa.bool_())])


# -- the whole job -----------------------------------------------------------------------------


def spark_dedup_lines(
    spark: SparkSession,
    parsed: RDD,
    source: str,
    cfg: DedupConfig | None = None,
    *,
    partitions: int = 8,
    checkpoint: bool = False,
    explain: bool = False,
) -> tuple[DataFrame, SparkDedupStats]:
    """Output lines (idx, line, is_rep) of a parsed input, persisted; raises CorpusError."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    cfg = cfg or DedupConfig()
    t = cfg.thresholds
    started = last = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases[name], last = round(now - last, 2), now

    # On disk, not in memory: the texts and the signed rows (verify sets) of a million
    # records do not fit a local-mode heap, and caching such rows in memory ran the JVM out
    # of heap at 1M records with 3 GiB. Re-reading them from local disk is cheap next to
    # reading (or extracting) and signing again.
    def cut(df: DataFrame, level: Any = StorageLevel.DISK_ONLY) -> DataFrame:
        return _cut(df, checkpoint, level)

    small = StorageLevel.MEMORY_AND_DISK
    read = cut(read_records(spark, parsed))
    records = validate(read, source)
    raw = read.drop("error")
    lap("read+lines+validate")
    learned = cut(learn_boilerplate(raw, cfg.boilerplate), small)
    n_learned = learned.count()
    lap("boilerplate")
    signed = cut(sign_records(raw, boilerplate_of(raw, learned), cfg, explain))
    banded = signed.where(F.col("shingles") >= t.min_shingles).count()
    lap("content+sign")
    pairs = cut(candidate_pairs(signed, partitions), small)
    n_pairs = pairs.count()
    lap("candidate pairs")
    verdict = cut(verdicts(signed, pairs, t), small)
    n_verified = verdict.count()
    lap("verify pairs")
    n_soft = verdict.where("soft").count()
    accepted = cut(soft_accepted(signed, verdict, t), small)
    copies = verdict.where("copy").count() + accepted.count()
    lap("soft pairs")
    edges = (
        verdict.where("copy")
        .select("a", "b")
        .unionByName(accepted)
        .select(F.col("a").alias("src"), F.col("b").alias("dst"))
    )
    labels, rounds = components(edges, checkpoint=checkpoint)
    linked = labels.count()
    sizes = labels.groupBy("label").count().agg(F.max("count")).collect()[0][0]
    lap("components")
    placed = cut(place(signed, labels, accepted, t), small)
    lap("place components")
    lines = output_lines(signed, placed, verdict, accepted, t).persist(small)
    clusters = lines.where("is_rep").count()
    lap("reuse links+rows")
    stats = SparkDedupStats(
        records,
        clusters,
        banded,
        linked,
        rounds,
        sizes or 1,
        time.perf_counter() - started,
        phases,
        learned=n_learned,
        pairs=n_pairs,
        verified=n_verified,
        soft=n_soft,
        copies=copies,
    )
    return lines, stats


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


def spark_dedup(
    spark: SparkSession,
    input: str | Path | Sequence[str],
    output: str | Path,
    cfg: DedupConfig | None = None,
    *,
    partitions: int = 8,
    output_dir: bool = False,
    parsed: RDD | None = None,
    record_reader: RecordReader | None = None,
    explain: bool = False,
) -> SparkDedupStats:
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
        lines, stats = spark_dedup_lines(
            spark, parsed, source, cfg, partitions=partitions, explain=explain
        )
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
