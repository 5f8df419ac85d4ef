"""The embedded default backend: one SQLite file in WAL mode.

WAL lets a report read while a crawl writes, and a commit is durable once it returns, so
a ``kill -9`` loses at most the transaction in flight. SQLite's own error strings are
turned into the store's exception tree here, with the file name attached, because
"database is locked" alone tells a cron user nothing about which file or what to do.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from store._exceptions import (
    SchemaTooNew,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
)

from . import _keyfilter as keyfilter
from ._base import Store
from ._levels import ANCHORS, LINES, LSH, Index
from ._schema import (
    MAIN_TOKEN_SCHEMA,
    MIGRATIONS,
    SCHEMA_VERSION,
    TIER_TOKEN_SCHEMA,
    announce_upgrade,
)

log = logging.getLogger("newsdedup.store")

# The main tables a key filter stands for, and the SQL of their keys: those looked up by
# key every run, for every new article (at 10M articles about 37,000 bands, 18,000
# anchors and 7,000 lines a run, most held by no stored article).
_FILTERED: dict[str, str] = {
    LSH.main: keyfilter.prefixed_sql("bucket", "band"),
    ANCHORS.main: "anchor",
    LINES.main: "key",
}
_FETCH = 1 << 16  # key rows read at a time when a filter is built
# A new store's page size, four times SQLite's default 4 KiB. Most of a dedup pass is
# random lookups in B-trees of tens of millions of rows; bigger pages make them
# shallower and pack more keys per read. Measured with the same articles at 4 and
# 16 KiB (benchmarks/RESULTS.md, "16 KiB pages"): a cron run at 10k cost 0.954x, at 1M
# 0.88x, and the fold 0.84x. At 10M (other days, so not an A/B) a fold cost 98 s of CPU
# against 267-273 s, and a run 1.40x of 10k against 1.66x.
PAGE_SIZE = 16384
# The same keys' SQL for each write tier, whose filters stand while it is full
# (``seal_tiers``).
_TIER_KEYS: dict[str, str] = {
    tier: _FILTERED[index.main] for index in (LSH, ANCHORS, LINES) for tier in index.tiers
}


def _write_filter_file(
    path: Path, token: int, what: str, fill: Callable[[keyfilter.Writer], None]
) -> None:
    """A key filter file written under ``token`` by ``fill``, whole or not at all. One
    that cannot be written (no space, a read-only folder) is no error, since a filter
    only saves reads, but is said."""
    writer = None
    try:
        writer = keyfilter.Writer(path, token)
        fill(writer)
        writer.commit()
        writer = None
    except OSError as exc:
        log.warning("%s: cannot write %s (%s); lookups read the store", path, what, exc)
    finally:
        if writer is not None:
            writer.abandon()


def _translate(exc: sqlite3.Error, location: str) -> StoreError:
    msg = str(exc).lower()
    if "locked" in msg or "busy" in msg:
        return StoreLocked(f"{location}: the store is locked by another process ({exc})")
    if "readonly" in msg or "read-only" in msg:
        return StoreReadOnly(f"{location}: the store is read-only ({exc})")
    if "full" in msg or "disk i/o" in msg:
        return StoreFull(f"{location}: no space left to write the store ({exc})")
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return StoreCorrupt(f"{location}: not a valid newsdedup store ({exc})")
    return StoreError(f"{location}: {exc}")


def _connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """A read-only connection, also to a store in a folder this process cannot write.

    Reading a WAL-mode file needs its ``-shm`` and ``-wal`` files, which SQLite creates
    beside it; in a read-only folder (a backup, a mounted snapshot) it cannot, and the
    open failed with "unable to open database file". A missing ``-wal`` file means the
    last writer checkpointed and closed cleanly, so the main file alone is the whole
    store and can be opened ``immutable``. With a ``-wal`` file left over, SQLite reads
    it when its ``-shm`` exists or can be made; otherwise the error stands, naming why.
    """
    if not path.exists():  # mode=ro would say "unable to open"; say what is wrong
        raise StoreError(f"{path}: no such store")
    uri = f"file:{quote(str(path.resolve()))}"
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA user_version").fetchone()  # the open itself is lazy
        return conn
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc):
            raise
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreReadOnly(
                f"{path}: cannot read the store: its write-ahead log {wal.name} holds "
                "changes, and SQLite cannot create its index file in this folder; open "
                "it once where the folder is writable (e.g. `newsdedup check`)"
            ) from exc
    return sqlite3.connect(
        f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout, isolation_level=None
    )


class SQLiteStore(Store):
    """A store in one SQLite file."""

    # IMMEDIATE takes the write lock up front, so two writers queue at the start instead
    # of one failing halfway through with "database is locked".
    _begin_sql = "BEGIN IMMEDIATE"

    # Writers are serialized (BEGIN IMMEDIATE), so ids commit in increasing order, and
    # dedup signs in id order a whole batch per commit: everything past the highest
    # signed id is unsigned, and nothing before it. The general NOT EXISTS form read
    # every article row (2.3 GiB of text at 1M articles) to find the 1,000 new ones.
    _unsigned_filter = " WHERE id > (SELECT COALESCE(MAX(article_id), 0) FROM signatures)"

    def __init__(self, path: str | Path, *, timeout: float = 10.0, read_only: bool = False) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._depth = 0
        self._filters: keyfilter.KeyFilters | None = None
        # While a fold runs with a filter to extend: the token its last transaction
        # wrote, and the hashes of the keys it moved, by main table (``_folding``).
        self._chain = 0
        self._moved: dict[str, list[np.ndarray]] | None = None
        # The full write tiers' filters read, by slot (``seal_tiers``).
        self._tier_filters: dict[int, keyfilter.KeyFilters | None] = {}
        try:
            if read_only:
                self._conn = _connect_read_only(self.path, timeout)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._conn.execute("PRAGMA foreign_keys = ON")
            if not read_only:
                # Only a file not yet written takes it; an existing store keeps its
                # pages (a copy by VACUUM INTO converts one, see the README).
                self._conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
                # 64 MiB of page cache, not the default 2 MiB: a dedup batch touches
                # tens of thousands of LSH index pages in a large store.
                self._conn.execute("PRAGMA cache_size = -65536")
            self._migrate(read_only)
            # a store opened read-only is not upgraded: one from before the token has
            # no key filters
            self._tokened = self.schema_version() >= MAIN_TOKEN_SCHEMA
            self._tier_tokened = self.schema_version() >= TIER_TOKEN_SCHEMA
        except sqlite3.Error as exc:
            raise _translate(exc, self.location) from exc
        except OSError as exc:
            raise StoreError(f"{self.location}: cannot open the store ({exc})") from exc

    def _migrate(self, read_only: bool) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.location}: schema version {version} was written by a newer newsdedup "
                f"(this one knows up to {SCHEMA_VERSION}); upgrade newsdedup to use it"
            )
        if (
            version == 0
            and self._conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
        ):
            raise StoreCorrupt(f"{self.location}: has tables but is not a newsdedup store")
        if version == SCHEMA_VERSION or read_only:
            return
        announce_upgrade(self.location, version)
        # Without foreign key checks, as SQLite's own procedure for rebuilding a table
        # has it: a rebuild copies rows already checked, and checking each again cost a
        # random read of ``articles`` per row (37 million at a million articles).
        with self._without_foreign_keys(), self.transaction():
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1][1]:
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {number}")

    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _rollback(self) -> None:
        """Roll back if a transaction is still open. After a disk-full or I/O error SQLite
        has already rolled back itself, and a second ROLLBACK raised a raw sqlite3 error
        that hid the real one (the CLI died with a traceback and exit 1, not exit 3)."""
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _translate(exc, self.location) from exc

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _translate(exc, self.location) from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self.location) from exc

    def integrity_errors(self) -> list[str]:
        """SQLite's own page-level check; empty when the file is sound."""
        rows = self._query("PRAGMA integrity_check")
        return [] if rows == [("ok",)] else [str(r[0]) for r in rows]

    def band_index_rows(self, per_article: int, recent: int) -> int:
        """Estimated from the highest signed article id, an edge of a B-tree, instead of
        counting tens of millions of rows: ids are handed out in order, every article
        below it is signed, and each signed article files ``per_article`` rows in one
        tier or the other."""
        top = self._query("SELECT COALESCE(MAX(article_id), 0) FROM signatures")[0][0]
        return max(0, int(top) * per_article - recent)

    def _secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        return [
            (str(n), str(sql))
            for n, sql in self._query(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                " AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
                (table,),
            )
        ]

    @contextmanager
    def _without_foreign_keys(self) -> Iterator[None]:
        """For writes whose references are right by construction: a row's foreign key
        check is a lookup in ``articles``, a random page of it for rows in key order.
        The pragma is a no-op inside a transaction, so an outer one keeps the checks."""
        self._execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            self._execute("PRAGMA foreign_keys = ON")

    _fold_drops_loose_indexes = True

    def compact_tiers(self) -> None:
        """The rows move from the tiers to the main tables, checked when they were filed:
        folded without a foreign key check each (half a compaction's time). Then the
        main tables' key filters are written: the ones standing before with the keys the
        fold moved added, or, where there were none, from a scan of the main tables."""
        before = self._key_filters()
        stored = {n: s.stored for n, s in before.sections.items() if s.stored} if before else {}
        self._moved = {name: [] for name in _FILTERED} if before else None
        self._chain = before.token if before else 0
        # the mapping dropped: the pages this run's probes read through it would count
        # again beside the copy a fold extends
        before = self._filters = None
        try:
            with self._without_foreign_keys():
                super().compact_tiers()
            self._write_key_filters(stored, self._moved)
        finally:
            self._moved = None
        # the tiers are empty: their filters stand for nothing any more
        self._tier_filters = {}
        for slot in range(self.write_tiers):
            self.tier_filter_path(slot).unlink(missing_ok=True)

    # -- key filters (``_keyfilter``) ----------------------------------------------------

    @property
    def key_filter_path(self) -> Path:
        """The main tables' key filters: beside the store, like its ``-wal`` file."""
        return self.path.with_name(self.path.name + "-keys")

    def _main_token(self) -> int:
        if not self._tokened:
            return 0
        return int(self._query("SELECT token FROM main_token")[0][0])

    def _main_written(self) -> None:
        super()._main_written()
        self._chain = self._written_token

    # -- key filters of the full write tiers ----------------------------------------------

    def tier_filter_path(self, slot: int) -> Path:
        """Write tier ``slot``'s key filters (of its LSH bands, anchors and lines), beside
        the store while the tier is full."""
        return self.path.with_name(f"{self.path.name}-keys-tier{slot}")

    def _tier_token(self, slot: int) -> int:
        if not self._tier_tokened:
            return 0
        found = self._query("SELECT token FROM tier_tokens WHERE slot = ?", (slot,))
        return int(found[0][0]) if found else 0

    def _tier_filter(self, slot: int) -> keyfilter.KeyFilters | None:
        """Tier ``slot``'s filters, where they stand for it as it is."""
        found = keyfilter.standing(
            self._tier_filters.get(slot), self.tier_filter_path(slot), self._tier_token(slot)
        )
        self._tier_filters[slot] = found
        return found

    def _tier_may_hold(
        self, index: Index, table: str, keys: Sequence[int], prefixes: Sequence[int] | None = None
    ) -> Sequence[bool] | None:
        """Probed through a mapping of the whole section, not a ``pread`` per block as
        the main tables' are (about 2 us a block, 0.07 s a run for a tier's 37,000
        bands): a full tier's section is a few MB (3.7 for 3M band rows), so mapping it
        costs little memory."""
        filters = self._tier_filter(index.tiers.index(table))
        section = filters.sections.get(table) if filters else None
        if section is None:
            return None
        return keyfilter.may_hold(section.table, keyfilter.key_hashes(keys, prefixes)).tolist()

    def seal_tiers(self, below: int) -> None:
        """Write each full tier's filters where none stands: from a scan of its keys, in
        one read transaction with the token it is written under, so that the filter is
        of the tier as that token names it (at 10M articles about 5.5 s of CPU for a
        tier of 3M band rows, 1.5M anchors and 0.55M lines, twice in the 246 runs
        between two folds: most of it the rows read through the driver). A filter that
        cannot be written is no error."""
        if not self._tier_tokened or self._conn.in_transaction:
            return
        for slot in range(min(below, self.write_tiers)):
            tables = [i.tier(slot) for i in (LSH, ANCHORS, LINES)]
            if any(self._has_rows(t) for t in tables) and not self._tier_filter(slot):
                self._seal(slot, tables)

    def _seal(self, slot: int, tables: list[str]) -> None:
        """Write tier ``slot``'s filters, of its ``tables``."""
        if not self._tier_token(slot):  # filled before tokens: named now
            with self.transaction():
                self._tier_written(slot)

        def fill(writer: keyfilter.Writer) -> None:
            for table in tables:
                sql = f"SELECT {_TIER_KEYS[table]} FROM {table}"
                writer.add(table, keyfilter.build(self._count(table), self._key_hashes(sql)))

        self._execute("BEGIN")
        try:
            path, token = self.tier_filter_path(slot), self._tier_token(slot)
            _write_filter_file(path, token, "a write tier's key filters", fill)
        finally:
            self._execute("COMMIT")

    def _key_filters(self) -> keyfilter.KeyFilters | None:
        """The filters beside the store, where they stand for its main tables as they are."""
        self._filters = keyfilter.standing(self._filters, self.key_filter_path, self._main_token())
        return self._filters

    def _main_may_hold(
        self, index: Index, keys: Sequence[int], prefixes: Sequence[int] | None = None
    ) -> Sequence[bool] | None:
        filters = self._key_filters() if index.main in _FILTERED else None
        section = filters.sections.get(index.main) if filters else None
        return None if section is None else section.may_hold(keys, prefixes).tolist()

    def _folding(self, index: Index, where: str, params: Sequence[Any]) -> None:
        """The keys this fold transaction moves, read in it: the filter is extended by
        exactly what reached the main tables. A token other than the one the fold last
        wrote means someone else wrote a main table meanwhile: the filters are then
        built from a scan instead."""
        if self._moved is None:
            return
        if self._main_token() != self._chain:
            self._moved = None
            return
        if index.main in _FILTERED:
            sql = " UNION ALL ".join(
                f"SELECT {_FILTERED[index.main]} FROM {table} WHERE {where}"
                for table in index.tiers
            )
            self._moved[index.main] += self._key_hashes(sql, tuple(params) * len(index.tiers))

    def _key_hashes(self, sql: str, params: Sequence[Any] = ()) -> Iterator[np.ndarray]:
        """The hashes of the keys ``sql`` selects (one column), a chunk at a time: a
        10M-article index as Python tuples would take gigabytes."""
        try:
            cursor = self._conn.execute(sql, params)
            while rows := cursor.fetchmany(_FETCH):
                keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                yield keyfilter.key_hashes(keys)
        except sqlite3.Error as exc:
            raise _translate(exc, self.location) from exc

    def _main_keys(self, table: str) -> Iterator[np.ndarray]:
        """The hashes of every key of main table ``table``: what its filter is built
        from, and what ``check`` proves it lets through."""
        return self._key_hashes(f"SELECT {_FILTERED[table]} FROM {table}")

    def _main_rows(self, table: str) -> int:
        """About how many rows main table ``table`` holds, from B-tree edges and the
        newest 2,000 articles' rows, not a count of hundreds of millions."""
        top = int(self._query("SELECT COALESCE(MAX(article_id), 0) FROM signatures")[0][0])
        if table == LSH.main:
            bands = self._query(f"SELECT MAX(band) FROM {table}")[0][0]
            return top * (int(bands) + 1 if bands is not None else 0)
        recent = self._query(
            f"SELECT COUNT(*) FROM {table} WHERE article_id > ?", (max(0, top - 2000),)
        )[0][0]
        return int(recent) * top // max(1, min(top, 2000))

    def consistency_errors(self) -> list[str]:
        """And a key filter standing for the store that rules out a key its table holds
        (a damaged file): lookups would miss that key's holders."""
        problems = super().consistency_errors()
        standing = [(self.key_filter_path, self._key_filters())]
        standing += [
            (self.tier_filter_path(slot), self._tier_filter(slot))
            for slot in range(self.write_tiers)
        ]
        keys = {**_FILTERED, **_TIER_KEYS}
        for path, filters in standing:
            for table, section in filters.sections.items() if filters else ():
                hashes = self._key_hashes(f"SELECT {keys[table]} FROM {table}")
                missed = sum(int((~keyfilter.may_hold(section.table, h)).sum()) for h in hashes)
                if missed:
                    problems.append(
                        f"{path}: its filter of {table} rules out {missed} keys the table"
                        " holds; delete the file (the next fold or full tier writes it again)"
                    )
        return problems

    def build_key_filters(self) -> None:
        """Write the main tables' key filters from a scan of their keys: what a fold
        does where none stand (a store that has just grown write tiers, or one whose
        last fold was killed); a bulk load's caller may do it at once."""
        self._filters = None
        self._write_key_filters({}, None)

    def _write_key_filters(
        self, stored: dict[str, keyfilter.Stored], moved: dict[str, list[np.ndarray]] | None
    ) -> None:
        """Extend the ``stored`` filters by the ``moved`` keys, or build each from a scan;
        a filter that cannot be written is no error (it only saves reads), but is said."""
        extend = moved is not None and self._main_token() == self._chain
        if extend:
            token = self._chain
        else:
            token = self._main_token()
            if not token:
                with self.transaction():
                    self._main_written()
                token = self._written_token

        def fill(writer: keyfilter.Writer) -> None:
            for table in _FILTERED:
                old = stored.get(table) if extend else None
                if old is not None and moved is not None:
                    added = sum(len(h) for h in moved[table])
                    if not keyfilter.too_full(old.keys + added, old.blocks):
                        writer.extend(table, old, moved.pop(table))
                        continue
                section = keyfilter.build(self._main_rows(table), self._main_keys(table))
                writer.add(table, section)
                del section

        _write_filter_file(self.key_filter_path, token, "the key filters", fill)
        self._filters = None

    @contextmanager
    def bulk_session(self) -> Iterator[None]:
        """No fsync per commit, a 256 MiB page cache and no per-row foreign key checks while
        a corpus is loaded (``newsdedup check`` tells a load that went wrong).

        Every table is written in key order and its indexes built after, so a bigger cache
        buys nothing: loading a million articles took 439 s with this one and 455 s with
        1 GiB, whose pages were then most of the load's anonymous memory (704 MiB against
        1,767 MiB at its peak)."""
        self._execute("PRAGMA synchronous = OFF")
        self._execute("PRAGMA cache_size = -262144")
        try:
            with self._without_foreign_keys():
                yield
        finally:
            self._execute("PRAGMA synchronous = NORMAL")
            self._execute("PRAGMA cache_size = -65536")

    def close(self) -> None:
        self._conn.close()
