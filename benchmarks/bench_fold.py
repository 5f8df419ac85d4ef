"""Benchmark: the fold of the anchors' and the lines' write tiers, as shipped against the
fold before.

A fold moves the tiers' rows into the main table a key range at a time, and deletes each
range from the tiers in the same transaction (``Store._fold``). In SQLite each deleted
row also costs a random seek in every B-tree of the tier not keyed by that range's key:

- the anchors' tiers are keyed by anchor, and their index by article is dropped during
  the fold (``Index.loose``, ``_fold_drops_loose_indexes``); the peer keeps it;
- the lines' tiers are keyed by line key since schema 16, with an index by article
  dropped during the fold likewise; the peer is the layout before (tiers keyed by
  article, with an index by key, and nothing dropped). The index kept on the new layout
  is shown too, to tell the two changes apart.

This benchmark builds one SQLite store with a main table and three full tiers of the
index (synthetic keys; the tiers hold the newest articles, a cron run's rows at a time,
as a cron-fed store's do), then times ``Store._fold`` on fresh copies of it, the ways
alternated, by the process's CPU.

    .venv/bin/python benchmarks/bench_fold.py                      # anchors, 20M + 3 x 750k
    .venv/bin/python benchmarks/bench_fold.py --main 40000000 --tier 1500000
    .venv/bin/python benchmarks/bench_fold.py --index lines --main 15000000 --tier 550000
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _results import write_section  # noqa: E402
from bench_incremental import _remove, empty_store_file  # noqa: E402

from store.backends._levels import ANCHORS, LINES, Index  # noqa: E402

CHUNK = 1_000_000


@dataclass(frozen=True)
class Subject:
    """One index's fold: its rows, how many each article has, and the ways compared."""

    index: Index
    heading: str
    noun: str
    per_article: int  # about what the 10M benchmark store holds
    insert: str  # (key, article_id) into ``{table}``
    ways: tuple[str, ...]  # the first is the peer, the last the shipped fold


SUBJECTS = {
    "anchors": Subject(
        ANCHORS,
        "Fold of the anchor tiers",
        "anchors",
        18,
        "INSERT INTO {table} (anchor, article_id) VALUES (?, ?)",
        ("index kept (the fold before)", "index dropped (shipped)"),
    ),
    "lines": Subject(
        LINES,
        "Fold of the line tiers",
        "article lines",
        7,
        "INSERT INTO {table} (article_id, scope, key, tokens, sample_key)"
        " VALUES (?2, 'news.test', ?1, 12, (?2 * 2654435761) % 4294967296)",
        (
            "tiers keyed by article, index by key (the fold before)",
            "keyed by line, index by article kept",
            "keyed by line, index by article dropped (shipped)",
        ),
    ),
}


def build(
    path: Path, subject: Subject, main: int, tier: int, page_size: int = 0, seed: int = 7
) -> float:
    """The store, the index's rows written behind its back (the main table in one sorted
    load with its secondary indexes made after it, as a bulk load does; each tier a
    thousand rows at a time, in article order); returns the seconds it took. A
    ``page_size`` other than 0 is set on the empty file before the store is made in it
    (SQLite's is 4,096 bytes, and a store in WAL mode keeps the one it was made with)."""
    from store import open_store

    index = subject.index
    t0 = time.perf_counter()
    empty_store_file(path, page_size)
    with open_store(path):
        pass
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    later = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        " AND sql IS NOT NULL",
        (index.main,),
    ).fetchall()
    for name, _ in later:
        con.execute(f"DROP INDEX {name}")
    per = subject.per_article
    articles = np.arange(1, main // per + 2).repeat(per)[:main]
    keys = rng.integers(-(2**62), 2**62, main)
    first_key = keys if index is ANCHORS else articles
    order = np.lexsort((articles if index is ANCHORS else keys, first_key))
    keys, articles = keys[order], articles[order]
    con.execute("BEGIN")
    for i in range(0, main, CHUNK):
        con.executemany(
            subject.insert.format(table=index.main),
            zip(keys[i : i + CHUNK].tolist(), articles[i : i + CHUNK].tolist(), strict=True),
        )
    con.execute("COMMIT")
    for _, create in later:
        con.execute(create)
    first = main // per + 2
    for table in index.tiers:
        ids = np.arange(first, first + tier // per + 1).repeat(per)[:tier]
        first += tier // per + 1
        held = rng.integers(-(2**62), 2**62, tier)
        con.execute("BEGIN")
        for i in range(0, tier, 1000):  # a run's rows at a time, in article order
            con.executemany(
                subject.insert.format(table=table),
                zip(held[i : i + 1000].tolist(), ids[i : i + 1000].tolist(), strict=True),
            )
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t0


def keyed_by_article(path: Path) -> None:
    """The lines' tiers of the store at ``path`` as they were before schema 16: keyed by
    (article_id, key), with an index by key."""
    con = sqlite3.connect(path, isolation_level=None)
    (view,) = con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", (LINES.view,)
    ).fetchone()
    columns = "article_id, scope, key, tokens, sample_key"
    con.execute("BEGIN")
    con.execute(f"DROP VIEW {LINES.view}")
    for table in LINES.tiers:
        con.execute(
            f"CREATE TABLE {table}_old (article_id INTEGER NOT NULL, scope TEXT NOT NULL,"
            " key INTEGER NOT NULL, tokens INTEGER NOT NULL, sample_key INTEGER NOT NULL,"
            " PRIMARY KEY (article_id, key)) WITHOUT ROWID"
        )
        con.execute(
            f"INSERT INTO {table}_old ({columns}) SELECT {columns} FROM {table}"
            " ORDER BY article_id, key"
        )
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}_old RENAME TO {table}")
        con.execute(f"CREATE INDEX {table}_by_key ON {table} (key, scope, sample_key)")
    con.execute(view)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def fold(built: Path, work: Path, subject: Subject, way: int) -> dict[str, float]:
    """One fold of the index's tiers on a fresh copy of the built store, read through
    first (its pages in the OS cache, as a cron-fed store's tiers are), the ``way``-th
    of ``subject.ways``."""
    from store import open_store

    index = subject.index
    _remove(work)
    shutil.copyfile(built, work)
    peer = way == 0
    if index is LINES and peer:
        keyed_by_article(work)
    with work.open("rb") as f:
        while f.read(1 << 24):
            pass
    with open_store(work) as st:
        st._fold_drops_loose_indexes = way == len(subject.ways) - 1
        moved = sum(st._count(t) for t in index.tiers)
        folded = dataclasses.replace(index, loose=None) if index is LINES and peer else index
        t0, w0 = os.times(), time.perf_counter()
        with st._without_foreign_keys():
            st._fold(folded)
        t1, wall = os.times(), time.perf_counter() - w0
        left = sum(st._count(t) for t in index.tiers)
    if left:
        raise RuntimeError(f"the fold left {left} rows in the tiers")
    cpu = (t1.user - t0.user) + (t1.system - t0.system)
    return {"cpu": cpu, "wall": wall, "us_per_row": cpu / moved * 1e6, "rows": moved}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", choices=sorted(SUBJECTS), default="anchors")
    ap.add_argument("--main", type=int, default=20_000_000, help="rows in the main table")
    ap.add_argument("--tier", type=int, default=750_000, help="rows in each write tier")
    ap.add_argument("--repeats", type=int, default=2, help="folds of each way, alternated")
    ap.add_argument(
        "--page-size", type=int, default=0, help="the store's page size (default: the store's own)"
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/newsdedup-bench"))
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = ap.parse_args(argv)
    subject = SUBJECTS[args.index]
    args.workdir.mkdir(parents=True, exist_ok=True)
    built = args.workdir / f"fold-{args.index}-{args.main}-{args.tier}.db"
    work = args.workdir / "fold-work.db"
    seconds = build(built, subject, args.main, args.tier, args.page_size)
    con = sqlite3.connect(built)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    print(f"built {built} in {seconds:.0f} s ({built.stat().st_size / 2**30:.2f} GiB)")
    ways = range(len(subject.ways))
    runs: dict[int, list[dict[str, float]]] = {way: [] for way in ways}
    try:
        for k in range(args.repeats):
            for way in ways if k % 2 == 0 else reversed(ways):
                r = fold(built, work, subject, way)
                runs[way].append(r)
                print(
                    f"  {subject.ways[way]}: CPU {r['cpu']:.2f} s "
                    f"({r['us_per_row']:.2f} us a row), wall {r['wall']:.1f} s",
                    flush=True,
                )
    finally:
        for path in (built, work):
            _remove(path)
    cpu = [statistics.median(r["cpu"] for r in runs[way]) for way in ways]
    rows = runs[0][0]["rows"]
    body = "\n".join(
        [
            f"`benchmarks/bench_fold.py --index {args.index} --main {args.main} --tier "
            f"{args.tier} --repeats {args.repeats}"
            + (f" --page-size {args.page_size}" if args.page_size else "")
            + f"`: SQLite {sqlite3.sqlite_version}, nproc {os.cpu_count()}, pages of "
            f"{page_size:,} bytes; a main {subject.noun} table of {args.main:,} rows and three "
            f"tiers of {args.tier:,} ({rows:,} rows moved), the store read into the page "
            "cache before each fold; medians of the process's CPU over the folds of each "
            "way, alternated.",
            "",
            "| the fold | fold CPU | per row moved |",
            "|---|---:|---:|",
            *(
                f"| {name} | {c:.2f} s | {c / rows * 1e6:.2f} us |"
                for name, c in zip(subject.ways, cpu, strict=True)
            ),
            "",
            f"The fold before costs **{cpu[0] / cpu[-1]:.2f}x** the CPU of the shipped one. "
            "In the 10M benchmark store, whose main tables do not fit in its machine's page "
            "cache, the fold's reads and writes of main-table pages take most of its time, "
            "and the share saved is smaller (see Incremental dedup cost).",
        ]
    )
    print(body)
    if not args.no_write:
        write_section(subject.heading, body)


if __name__ == "__main__":
    main()
