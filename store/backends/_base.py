"""The one store interface that every backend implements.

Like httpx's transports: the engine above (dedup, reports, the crawler) talks only to
:class:`Store`; a backend supplies a DB-API connection, its error mapping and its lock.
The SQL here is the dialect SQLite and PostgreSQL share, written with ``?`` placeholders
that a backend may rewrite, so that a query is written once and both backends run it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import xxhash

from store._exceptions import StoreError
from store._models import ArticleRecord, FrontierItem, StoredArticle
from store._time import from_db_time, to_db_time, utcnow

from ._engine import EngineTables
from ._levels import ANCHORS, LINES, LSH, TIERS, Index
from ._revisit import Revisits
from ._values import chunks

_ARTICLE_COLUMNS = "id, url, host, publisher, title, byline, agency, published, fetched, text"


class Store(Revisits, EngineTables, ABC):
    """A deduplicating article store.

    Writes happen inside :meth:`transaction`; a crash between transactions loses nothing
    that was committed, which is what lets a cron crawl be killed at any moment.
    """

    location: str
    # Appended to the SELECT that picks rows to claim: PostgreSQL's FOR UPDATE SKIP LOCKED
    # lets concurrent claimers pass each other; SQLite's BEGIN IMMEDIATE already serializes.
    _claim_lock: str = ""

    # -- what a backend provides -------------------------------------------------

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    _begin_sql = "BEGIN"  # a backend may take its write lock up front here
    _depth = 0  # transaction nesting: inner transaction() calls join the outer one

    @abstractmethod
    def _rollback(self) -> None:
        """Roll back whatever is open; must not raise over the error being handled."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; nested calls join the outer one.

        Everything written inside commits together or not at all: the unit a crash can
        lose is one transaction, which is how the crawl keeps ``kill -9`` harmless.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._execute(self._begin_sql)
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        try:
            self._execute("COMMIT")
        except StoreError:
            self._rollback()
            raise

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def schema_version(self) -> int: ...

    @contextmanager
    def dedup_lock(self) -> Iterator[None]:
        """Held around a whole dedup pass; a backend shared by many processes serializes here.

        A no-op by default: a SQLite store's run lock already keeps two passes apart.
        """
        yield

    @contextmanager
    def deferred_indexes(self, tables: Sequence[str]) -> Iterator[None]:
        """Without these tables' secondary indexes while a bulk load runs, built after it.

        One sort per index instead of a random B-tree insert per row: what loading a
        corpus into an empty store (``store.dedup.load_store``) is bound by otherwise.
        """
        found = [index for table in tables for index in self._secondary_indexes(table)]
        for name, _ in found:
            self._execute(f"DROP INDEX {name}")
        try:
            yield
        finally:
            for _, sql in found:
                self._execute(sql)

    def _secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) of the table's indexes that enforce no key."""
        raise NotImplementedError

    @contextmanager
    def bulk_session(self) -> Iterator[None]:
        """Settings for a long bulk load; a backend may trade a crash's safety for speed
        here, since a load that fails is started again from an empty store."""
        yield

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- articles ----------------------------------------------------------------

    def add_article(self, rec: ArticleRecord) -> int | None:
        """Insert an article; ``None`` when its canonical URL is already stored.

        Idempotence lives here rather than in the crawler: a re-crawl of the same pages,
        or two crawlers racing on one URL, must never add a second row.
        """
        rows = self._query(
            _INSERT_ARTICLE + " ON CONFLICT (url) DO NOTHING RETURNING id", _article_values(rec)
        )
        if not rows:
            return None
        article_id = int(rows[0][0])
        if rec.line_keys:
            self._executemany(
                "INSERT INTO page_lines (article_id, host, line_key) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(article_id, rec.host, key) for key in dict.fromkeys(rec.line_keys)],
            )
        return article_id

    def add_articles(self, records: Sequence[ArticleRecord]) -> list[int]:
        """Insert articles that are all new, in order, in one statement; their ids.

        For loading a corpus (``store.dedup.load_store``), whose rows are keyed by these
        ids: a URL already stored, or twice in ``records``, is an error, not a skip.
        """
        top = int(self._query("SELECT COALESCE(MAX(id), 0) FROM articles")[0][0])
        self._executemany(_INSERT_ARTICLE, [_article_values(r) for r in records])
        added = self._query("SELECT id, url FROM articles WHERE id > ? ORDER BY id", (top,))
        if [u for _, u in added] != [r.url for r in records]:
            raise StoreError(
                f"{self.location}: articles were added by another writer during a bulk insert"
            )
        ids = [int(i) for i, _ in added]
        self._executemany(
            "INSERT INTO page_lines (article_id, host, line_key) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [
                (i, rec.host, key)
                for i, rec in zip(ids, records, strict=True)
                for key in dict.fromkeys(rec.line_keys)
            ],
        )
        return ids

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of these canonical URLs are already articles or in the frontier."""
        urls = list(dict.fromkeys(urls))
        found: set[str] = set()
        for chunk in chunks(urls):
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in self._query(f"SELECT url FROM articles WHERE url IN ({marks})", chunk)
            )
            found.update(
                r[0] for r in self._query(f"SELECT url FROM frontier WHERE url IN ({marks})", chunk)
            )
        return found

    def article_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM articles")[0][0])

    def articles(self, ids: Sequence[int]) -> list[StoredArticle]:
        """Articles by id, in the order asked for."""
        by_id: dict[int, StoredArticle] = {}
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})", chunk
            ):
                by_id[row[0]] = _article(row)
        return [by_id[i] for i in ids if i in by_id]

    def article_urls(self) -> list[tuple[int, str]]:
        """(id, url) of every article: what a caller needs to map ids without the texts."""
        return [(int(a), str(u)) for a, u in self._query("SELECT id, url FROM articles")]

    def dropped_lines(self, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """article id -> [(rule, text)] normalization removed; only ids that have some.

        Kept apart from :class:`StoredArticle` because only the HTML report's diff wants it.
        """
        found: dict[int, list[tuple[str, str]]] = {}
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for aid, raw in self._query(
                f"SELECT id, dropped FROM articles WHERE id IN ({marks}) AND dropped IS NOT NULL",
                chunk,
            ):
                try:
                    items = json.loads(raw)
                except ValueError:
                    continue
                found[int(aid)] = [
                    (str(d.get("rule", "")), str(d.get("text", "")))
                    for d in items
                    if isinstance(d, dict)
                ]
        return found

    def article_ids(self, *, unsigned_only: bool = False) -> list[int]:
        sql = "SELECT id FROM articles"
        if unsigned_only:
            sql += self._unsigned_filter
        return [int(r[0]) for r in self._query(sql + " ORDER BY id")]

    # Which articles still need signing. The general form is right under concurrent
    # writers, whose ids may commit out of order; a backend whose writers are serialized
    # can override it with something that does not read the whole articles table.
    _unsigned_filter = (
        " WHERE NOT EXISTS (SELECT 1 FROM signatures WHERE signatures.article_id = articles.id)"
    )

    # -- signatures and LSH bands --------------------------------------------------

    def signature_schemes(self) -> set[str]:
        """The signature schemes in the store, read off its first and last signatures.

        Schemes are never mixed (the dedup pass refuses, and ``--rebuild`` clears them
        all), so those two speak for the whole table without scanning it.
        """
        rows = self._query(
            "SELECT scheme FROM signatures WHERE article_id IN ((SELECT MIN(article_id) FROM"
            " signatures), (SELECT MAX(article_id) FROM signatures))"
        )
        return {str(r[0]) for r in rows}

    def put_signatures(self, rows: Iterable[tuple[int, str, int, bytes]]) -> None:
        """(article_id, scheme, shingle count, minhash bytes)."""
        self._executemany(
            "INSERT INTO signatures (article_id, scheme, shingles, minhash) VALUES (?, ?, ?, ?)",
            rows,
        )

    # The LSH index is a main table and write tiers (``_levels``): bands go to a tier,
    # which stays small enough to live in the page cache; once a tier holds its share
    # of the index (``dedup._pass.recent_limit``) the next one takes new bands, and
    # once the last one the pass may use is full (``dedup._pass.tiers_per_fold``),
    # ``compact_tiers`` folds them all into ``lsh_bands`` in sorted sweeps. Lookups
    # read every table, and a row may stand in two while a fold is under way. The
    # anchors and the article lines have tiers too, filled and folded alongside
    # (``EngineTables``).

    def put_bands(self, rows: Iterable[tuple[int, int, int]], *, slot: int = 0) -> None:
        """(band, bucket, article_id) rows of the persistent LSH index, into write tier
        ``slot``."""
        self._executemany(
            f"INSERT INTO {LSH.tier(slot)} (band, bucket, article_id) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            rows,
        )
        self._tier_written(slot)

    def band_matches(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        """Article ids already filed under each (band, bucket): indexed lookups only, a
        band's buckets a few hundred per statement (one statement per key cost a batch of
        1,000 articles 37,000 round trips, more than the lookups themselves). Where the
        main table has a key filter (``_main_may_hold``), it is asked only for the keys
        the filter lets through; the write tiers likewise, where a full one has a filter
        (``seal_tiers``), else for all."""
        unique = list(dict.fromkeys(keys))
        by_band: dict[int, list[int]] = {}
        for band, bucket in unique:
            by_band.setdefault(band, []).append(bucket)
        found: dict[tuple[int, int], list[int]] = {}
        tables = self._holding(LSH)
        buckets_asked, bands_asked = [k for _, k in unique], [b for b, _ in unique]
        passed: dict[str, set[tuple[int, int]] | None] = {}
        for table in tables:
            held = self._may_hold(LSH, table, buckets_asked, bands_asked)
            passed[table] = (
                None if held is None else {k for k, h in zip(unique, held, strict=True) if h}
            )
        for band, buckets in sorted(by_band.items()):
            for table in tables:
                through = passed[table]
                asked = buckets if through is None else [b for b in buckets if (band, b) in through]
                for bucket, article_id in self._in(
                    f"SELECT bucket, article_id FROM {table} WHERE band = ?"
                    " AND bucket IN ({marks})",
                    sorted(asked),
                    (band,),
                ):
                    found.setdefault((band, int(bucket)), []).append(int(article_id))
        return unique_holders(found)

    # How many write tiers each index has: the most a pass fills before a fold.
    write_tiers = TIERS

    def write_tier(self, per_article: int) -> tuple[int, int]:
        """The write tier new LSH bands go to, and the rows it holds: the last one that
        holds any (tiers fill in order, and a fold empties them all), else the first.

        Its rows are one band's times ``per_article``: a signed article files one row
        in every band, all in one tier, so the count is exact, and reads a band's share
        of the tier's leaves instead of all of them (at 10M, a COUNT(*) of a tier of
        1.5M band rows took 20-23 ms of every run with the page cache warm and 350 ms
        cold, one band's 4 ms)."""
        slot = next((n for n in reversed(range(TIERS)) if self._has_rows(LSH.tier(n))), 0)
        table = LSH.tier(slot)
        one_band = self._query(
            f"SELECT COUNT(*) FROM {table} WHERE band = (SELECT MIN(band) FROM {table})"
        )[0][0]
        return slot, int(one_band) * per_article

    def recent_band_rows(self) -> int:
        """LSH rows in the write tiers, all of them."""
        return sum(self._count(table) for table in LSH.tiers)

    def band_index_rows(self, per_article: int, recent: int) -> int:
        """About how many rows the LSH index holds outside the write tier new bands go
        to, each signed article filing ``per_article`` and that tier holding ``recent``
        (counted by the caller): what the tier is sized by. Counted here; a backend may
        estimate instead."""
        return self._count(LSH.view) - recent

    def compact_tiers(self) -> None:
        """Fold every write tier into its main table: the anchors and the article lines
        (``_fold``), then the LSH bands (``_fold_bands``).

        A fold rewrites most leaves of the main table whatever it moves; the tiers are
        folded together, so that each leaf is rewritten once for all of them."""
        for index in (ANCHORS, LINES):
            self._fold(index)
        self._fold_bands()

    def _fold_bands(self) -> None:
        """Move the LSH write tiers' rows into ``lsh_bands``, a band at a time, in key
        order, each in a transaction of its own (or all in the caller's), then empty the
        tiers.

        One transaction for the whole fold held every page it rewrote in the WAL until it
        committed, most of the main index's leaves: about 1 GiB at a million articles and
        growing with the store, on disk beside it, and all of it lost if the process was
        killed. A band at a time, the WAL holds one band's share, and a killed fold keeps
        the bands it moved. Until the tiers are emptied, those rows stand in two tables:
        lookups list an article once (``unique_holders``), and the next fold, which tiers
        still over their limit start at once, skips them (``ON CONFLICT DO NOTHING``).
        Emptying the tiers last, a statement each, lets SQLite drop their pages whole
        instead of deleting a band's rows from every one of them."""
        tiers = _union(LSH, "band = ?")
        band = self._next_band(None)
        while band is not None:
            with self.transaction():
                self._folding(LSH, "band = ?", (band,))
                self._execute(
                    f"INSERT INTO {LSH.main} ({LSH.columns}) SELECT {LSH.columns} FROM"
                    f" ({tiers}) AS t WHERE true ORDER BY bucket, article_id"
                    " ON CONFLICT DO NOTHING",
                    (band,) * TIERS,
                )
                self._main_written()
            band = self._next_band(band)
        with self.transaction():
            for table in LSH.tiers:
                self._execute(f"DELETE FROM {table}")

    def _next_band(self, after: int | None) -> int | None:
        """The lowest band above ``after`` in any write tier: each tier's from its key
        (a MIN over their union scanned every row above ``after``)."""
        where = "band > ?" if after is not None else "1 = 1"
        params = (after,) if after is not None else ()
        found = [
            self._query(f"SELECT MIN(band) FROM {table} WHERE {where}", params)[0][0]
            for table in LSH.tiers
        ]
        return min((b for b in found if b is not None), default=None)

    # Whether a fold drops the tiers' ``loose`` indexes while it moves their rows
    # (``_fold``): SQLite's DELETE removes a row's entry from each index as it goes,
    # PostgreSQL's leaves them to VACUUM.
    _fold_drops_loose_indexes = False

    def _fold(self, index: Index) -> None:
        """Move an index's write tiers into its main table, a key range per transaction.

        Inserted in the order of the main table's random-keyed index, each of its leaves
        is rewritten once per fold instead of once per row. A range is inserted and
        deleted from the tiers in one transaction, so a killed fold leaves every row in
        exactly one table, and the WAL holds one range's pages, not the index's
        (``_FOLD_RANGES``). The ranges are cut from the first tier, the fullest: every
        tier holds keys drawn alike.

        Deleting a range from a tier cost SQLite a random seek per row in the tier's
        index by article (about 4.5 us a row, a third of the anchors' fold, measured on
        a synthetic store of 40M anchors): that index (``Index.loose``; the tiers
        themselves are keyed by ``by``) is dropped with the first range and made again,
        on the emptied tiers, with the last. A fold killed in between leaves
        the tiers without it until the next pass, whose first batch resumes the fold:
        reads by article scan the tiers meanwhile, and are right."""
        first, by = index.tier(0), index.by
        step = max(_FOLD_MIN_ROWS, -(-self._count(first) // _FOLD_RANGES))
        cuts, low = [], self._query(f"SELECT MIN({by}) FROM {first}")[0][0]
        while low is not None:
            found = self._query(
                f"SELECT {by} FROM {first} WHERE {by} > ? ORDER BY {by} LIMIT 1 OFFSET ?",
                (low, step - 1),
            )
            low = found[0][0] if found else None
            cuts += [low] if low is not None else []
        loose = index.loose_indexes if self._fold_drops_loose_indexes else []
        for low, high in zip([None, *cuts], [*cuts, None], strict=True):
            where = (
                " AND ".join(
                    [f"{by} >= ?"] * (low is not None) + [f"{by} < ?"] * (high is not None)
                )
                or "1 = 1"
            )
            bounds = tuple(b for b in (low, high) if b is not None)
            with self.transaction():
                for name, _ in loose if low is None else []:
                    self._execute(f"DROP INDEX IF EXISTS {name}")
                self._folding(index, where, bounds)
                self._execute(
                    f"INSERT INTO {index.main} ({index.columns}) SELECT {index.columns}"
                    f" FROM ({_union(index, where)}) AS t WHERE true ORDER BY {index.order}"
                    " ON CONFLICT DO NOTHING",
                    bounds * TIERS,
                )
                for table in index.tiers:
                    self._execute(f"DELETE FROM {table} WHERE {where}", bounds)
                for _, create in loose if high is None else []:
                    self._execute(create)
                self._main_written()

    def _folding(self, index: Index, where: str, params: Sequence[Any]) -> None:
        """Called in each of a fold's transactions before it moves the tiers' rows of
        ``index`` that match ``where`` into the main table: a backend that keeps a key
        filter reads their keys here."""

    def clear_dedup(self) -> None:
        """Forget everything the dedup pass derived: the first step of ``dedup --rebuild``."""
        for table in (
            "resign",
            "memberships",
            "clusters",
            "edges",
            "few_anchors",
            "crowded_anchors",
            *ANCHORS.tables,
            "boilerplate",
            "line_counts",
            *LINES.tables,
            *LSH.tables,
            "signatures",
        ):
            self._execute(f"DELETE FROM {table}")

    def all_memberships(self) -> dict[int, int]:
        """article id -> cluster id, for every placed article (what a rebuild maps ids from)."""
        return {
            int(a): int(c) for a, c in self._query("SELECT article_id, cluster_id FROM memberships")
        }

    # -- clusters ------------------------------------------------------------------

    def set_membership(
        self, article_id: int, cluster_id: int, similarity: float, containment: float
    ) -> None:
        self._execute(
            "INSERT INTO memberships (article_id, cluster_id, similarity, containment)"
            " VALUES (?, ?, ?, ?)",
            (article_id, cluster_id, similarity, containment),
        )

    def move_membership(
        self, article_id: int, cluster_id: int, similarity: float, containment: float
    ) -> None:
        self._execute(
            "UPDATE memberships SET cluster_id = ?, similarity = ?, containment = ?"
            " WHERE article_id = ?",
            (cluster_id, similarity, containment, article_id),
        )

    def clusters_of(self, ids: Sequence[int]) -> dict[int, int]:
        """article id -> cluster id, for the ids that have one."""
        found: dict[int, int] = {}
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            found.update(
                (int(a), int(c))
                for a, c in self._query(
                    f"SELECT article_id, cluster_id FROM memberships WHERE article_id IN ({marks})",
                    chunk,
                )
            )
        return found

    def cluster_member_ids(self, cluster_id: int) -> list[int]:
        return [
            int(r[0])
            for r in self._query(
                "SELECT article_id FROM memberships WHERE cluster_id = ? ORDER BY article_id",
                (cluster_id,),
            )
        ]

    def membership_rows(self, min_size: int = 1) -> list[tuple[int, int, float, float]]:
        """(article_id, cluster_id, similarity, containment) for clusters of min_size or more."""
        return [
            (int(a), int(c), float(s), float(k))
            for a, c, s, k in self._query(
                """SELECT article_id, cluster_id, similarity, containment FROM memberships
               WHERE cluster_id IN (SELECT cluster_id FROM memberships GROUP BY cluster_id
                                    HAVING COUNT(*) >= ?)
               ORDER BY cluster_id, article_id""",
                (min_size,),
            )
        ]

    # -- frontier and sources --------------------------------------------------------

    def frontier_add(self, items: Iterable[FrontierItem]) -> int:
        """Queue URLs not yet seen; returns how many were new."""
        before = self._count("frontier")
        now = to_db_time(utcnow())
        self._executemany(
            "INSERT INTO frontier (url, host, source, published, discovered, spread)"
            " SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM articles WHERE url = ?)"
            " ON CONFLICT (url) DO NOTHING",
            # In URL order, so two crawlers queueing overlapping sets lock rows in one
            # order and cannot deadlock each other on a shared PostgreSQL frontier.
            [
                (
                    i.url,
                    i.host,
                    i.source,
                    to_db_time(i.published),
                    now,
                    xxhash.xxh32_intdigest(i.url.encode()),
                    i.url,
                )
                for i in sorted(items, key=lambda i: i.url)
            ],
        )
        return self._count("frontier") - before

    def frontier_pending(self, limit: int | None = None) -> list[FrontierItem]:
        """URLs due for a (re)try, in fetch order: see :data:`_DUE`."""
        now = to_db_time(utcnow())
        sql, params = _DUE, [now, now]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_frontier_item(row) for row in self._query(sql, params)]

    def frontier_claim(self, limit: int | None, *, lease_seconds: float) -> list[FrontierItem]:
        """Take up to ``limit`` due URLs for this worker alone, for ``lease_seconds``.

        Due means what :meth:`frontier_pending` lists; a claimed URL is not due again until
        it is finished, released, or its lease runs out, which is how a crashed worker's
        URLs come back. Selection and marking happen in one transaction, so two workers
        never receive the same URL.
        """
        now = utcnow()
        until = to_db_time(now + timedelta(seconds=lease_seconds))
        sql, params = _DUE, [to_db_time(now), to_db_time(now)]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.transaction():
            rows = self._query(sql + self._claim_lock, params)
            for chunk in chunks([r[0] for r in rows]):
                marks = ",".join("?" * len(chunk))
                self._execute(
                    f"UPDATE frontier SET claimed_until = ? WHERE url IN ({marks})", [until, *chunk]
                )
        return [_frontier_item(row) for row in rows]

    def frontier_release(self, urls: Iterable[str]) -> None:
        """Give back claimed URLs unfetched (a stopped run), so they are due at once."""
        for chunk in chunks(list(urls)):
            marks = ",".join("?" * len(chunk))
            self._execute(f"UPDATE frontier SET claimed_until = NULL WHERE url IN ({marks})", chunk)

    def frontier_release_all(self) -> None:
        """Give back every claim: only for a store one crawler at a time may use.

        A crawler killed with ``kill -9`` cannot release its claims, which would then stay
        out of reach until their lease ran out (15 minutes: longer than many cron
        intervals). Under the SQLite run lock no other crawler is alive, so every claim
        found at the start of a run belongs to a dead one.
        """
        self._execute("UPDATE frontier SET claimed_until = NULL WHERE claimed_until IS NOT NULL")

    def frontier_finish(
        self, url: str, *, error: str | None = None, retry_at: datetime | None = None
    ) -> None:
        """Mark a URL done, failed for good (no retry_at) or failed for now (retry_at)."""
        state = "done" if error is None else ("pending" if retry_at else "failed")
        self._execute(
            "UPDATE frontier SET state = ?, attempts = attempts + 1, last_error = ?,"
            " next_attempt = ?, claimed_until = NULL WHERE url = ?",
            (state, error, to_db_time(retry_at), url),
        )

    def frontier_counts(self) -> dict[str, int]:
        return {
            s: int(n) for s, n in self._query("SELECT state, COUNT(*) FROM frontier GROUP BY state")
        }

    def source_state(self, url: str) -> tuple[str | None, str | None]:
        """(etag, last_modified) remembered for a feed or sitemap, for a conditional GET."""
        rows = self._query("SELECT etag, last_modified FROM sources WHERE url = ?", (url,))
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def set_source_state(
        self,
        url: str,
        kind: str,
        *,
        etag: str | None,
        last_modified: str | None,
        error: str | None,
        found: int,
    ) -> None:
        self._execute(
            """INSERT INTO sources (url, kind, etag, last_modified, last_checked, last_error,
                                    last_found) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (url) DO UPDATE SET kind = excluded.kind,
                   etag = COALESCE(excluded.etag, sources.etag),
                   last_modified = COALESCE(excluded.last_modified, sources.last_modified),
                   last_checked = excluded.last_checked, last_error = excluded.last_error,
                   last_found = excluded.last_found""",
            (url, kind, etag, last_modified, to_db_time(utcnow()), error, found),
        )

    # -- site-learned template lines ---------------------------------------------------

    def template_line_keys(
        self, host: str, *, last_n: int, min_share: float, min_pages: int
    ) -> set[str]:
        """Lines seen on more than ``min_share`` of the host's last ``last_n`` pages.

        The share is tested in the query (HAVING), so only the template lines come back,
        not every line of those pages: a crawl asks this every few pages of a host, in the
        process that fetches and stores, and building the rows cost as much as the query.
        """
        pages = self._query(
            "SELECT id FROM articles WHERE host = ? ORDER BY id DESC LIMIT ?", (host, last_n)
        )
        if len(pages) < min_pages:
            return set()
        ids = [int(r[0]) for r in pages]
        marks = ",".join("?" * len(ids))
        rows = self._query(
            f"SELECT line_key FROM page_lines WHERE article_id IN ({marks})"
            " GROUP BY line_key HAVING COUNT(*) > ?",
            [*ids, min_share * len(ids)],
        )
        return {key for (key,) in rows}

    # -- runs --------------------------------------------------------------------------

    def record_run(self, command: str, started: datetime, summary: dict[str, Any]) -> None:
        self._execute(
            "INSERT INTO runs (started, finished, command, summary) VALUES (?, ?, ?, ?)",
            (to_db_time(started), to_db_time(utcnow()), command, json.dumps(summary)),
        )

    # -- consistency ---------------------------------------------------------------------

    def integrity_errors(self) -> list[str]:
        """The engine's own page-level check; a backend overrides it where it has one."""
        return []

    def consistency_errors(self) -> list[str]:
        """What ``newsdedup check`` reports: problems a crash or a bug could leave behind.

        Articles not yet deduplicated are not errors (the next ``dedup`` signs them), but a
        signature without its cluster, a band or membership without its article, or a
        member of a cluster whose representative is gone, are.
        """
        problems = list(self.integrity_errors())
        checks = {
            "signatures without a cluster membership": (
                "SELECT COUNT(*) FROM signatures WHERE article_id NOT IN (SELECT article_id"
                " FROM memberships)"
            ),
            "memberships without a signature": (
                "SELECT COUNT(*) FROM memberships WHERE article_id NOT IN (SELECT article_id"
                " FROM signatures)"
            ),
            "LSH bands of unknown articles": (
                "SELECT COUNT(*) FROM all_lsh_bands WHERE article_id NOT IN (SELECT id FROM"
                " articles)"
            ),
            "memberships of unknown articles": (
                "SELECT COUNT(*) FROM memberships WHERE article_id NOT IN (SELECT id FROM articles)"
            ),
            "memberships of unknown clusters": (
                "SELECT COUNT(*) FROM memberships WHERE cluster_id NOT IN (SELECT id FROM clusters)"
            ),
            "clusters whose representative is missing from them": (
                "SELECT COUNT(*) FROM clusters AS c WHERE NOT EXISTS (SELECT 1 FROM memberships"
                " AS m WHERE m.article_id = c.representative AND m.cluster_id = c.id)"
            ),
            "anchors or verified pairs of unknown articles": (
                "SELECT COUNT(*) FROM (SELECT article_id FROM all_anchors UNION ALL SELECT"
                " article_id FROM few_anchors UNION ALL SELECT a FROM edges UNION ALL SELECT b"
                " FROM edges) AS x WHERE article_id NOT IN (SELECT id FROM articles)"
            ),
            "articles whose few anchors disagree with their anchors": (
                "SELECT COUNT(*) FROM (SELECT article_id, COUNT(*) AS n FROM few_anchors GROUP"
                " BY article_id) AS f WHERE f.n <> (SELECT COUNT(*) FROM all_anchors AS a WHERE"
                " a.article_id = f.article_id)"
            ),
            "crowded anchors held by fewer articles than counted": (
                "SELECT COUNT(*) FROM crowded_anchors AS c WHERE c.holders > (SELECT COUNT(*)"
                " FROM all_anchors AS a WHERE a.anchor = c.anchor)"
            ),
            "line counts that disagree with the stored lines": (
                "SELECT COUNT(*) FROM line_counts AS c WHERE c.n <> (SELECT COUNT(*) FROM"
                " all_article_lines AS l WHERE l.scope = c.scope AND l.key = c.key)"
            ),
            "repeated lines without a count": (
                "SELECT COUNT(*) FROM (SELECT key FROM all_article_lines GROUP BY key HAVING"
                " COUNT(*) > 1) AS r WHERE r.key NOT IN (SELECT key FROM line_counts)"
            ),
            "duplicate canonical URLs": (
                "SELECT COUNT(*) FROM (SELECT url FROM articles GROUP BY url HAVING COUNT(*) >"
                " 1) AS dup"
            ),
            "frontier rows marked done with no article": (
                "SELECT COUNT(*) FROM frontier WHERE state = 'done' AND url NOT IN (SELECT url"
                " FROM articles) AND last_error IS NULL"
            ),
        }
        for label, sql in checks.items():
            n = int(self._query(sql)[0][0])
            if n:
                problems.append(f"{n} {label}")
        return problems

    def unsigned_count(self) -> int:
        return int(
            self._query(
                "SELECT COUNT(*) FROM articles WHERE id NOT IN (SELECT article_id FROM signatures)"
            )[0][0]
        )

    # -- helpers -----------------------------------------------------------------------

    def _count(self, table: str) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM {table}")[0][0])

    def _has_rows(self, table: str) -> bool:
        return bool(self._query(f"SELECT 1 FROM {table} LIMIT 1"))

    def _holding(self, index: Index) -> tuple[str, ...]:
        """The main table of ``index`` and those of its write tiers that hold rows: the
        tables a lookup asks one by one. An empty tier still cost each statement asked
        of it (0.02 s a run for an LSH tier at 10k, which has no tiers in use); one such
        check costs a statement."""
        return (index.main, *(t for t in index.tiers if self._has_rows(t)))

    def counts(self) -> dict[str, int]:
        """Row counts per table: what tests and ``newsdedup check`` compare."""
        tables = ("articles", "signatures", "all_lsh_bands", "memberships", "frontier", "sources")
        found = {t: self._count(t) for t in tables}
        found["lsh_bands"] = found.pop("all_lsh_bands")  # one index, in three tables
        return found


# Due URLs in fetch order. New URLs before revisits, so a page budget spent on revisits
# never starves pages not yet stored; revisits by the hour they were last fetched (oldest
# first); then by discovery hour, so nothing starves, and hosts interleaved within an hour
# (see the ``spread`` migration).
_DUE = (
    "SELECT url, host, source, attempts, published, last_fetched, etag, last_modified"
    " FROM frontier"
    " WHERE state = 'pending' AND (next_attempt IS NULL OR next_attempt <= ?)"
    " AND (claimed_until IS NULL OR claimed_until <= ?)"
    " ORDER BY (last_fetched IS NOT NULL), substr(last_fetched, 1, 13),"
    " substr(discovered, 1, 13), spread, url"
)


_INSERT_ARTICLE = (
    "INSERT INTO articles (url, fetched_url, host, publisher, title, byline, agency, published,"
    " updated, fetched, language, html_sha256, text, dropped)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# A fold moves a tier in about this many key ranges, each its own transaction (and of
# at least _FOLD_MIN_ROWS rows): the WAL then peaks near 1/_FOLD_RANGES of the pages the
# fold rewrites (about 300 MiB at 10M articles). Fewer is cheaper: each range also
# rewrites the tail of the article-ordered B-trees its rows go to and leave (the
# anchors' index by article, the lines' own table), and at 300k articles the two tiers
# folded in 2.7-3.7 s of CPU in 32 ranges, 2.5 s in 8, 1.8 s in one.
_FOLD_RANGES = 8
_FOLD_MIN_ROWS = 20_000


def _union(index: Index, where: str) -> str:
    """The rows of an index's write tiers, each tier's filtered by ``where``."""
    return " UNION ALL ".join(
        f"SELECT {index.columns} FROM {table} WHERE {where}" for table in index.tiers
    )


def unique_holders(found: dict[tuple[int, int], list[int]]) -> dict[tuple[int, int], list[int]]:
    """Each bucket's articles listed once: a row folded into ``lsh_bands`` by a fold that
    has not emptied ``lsh_recent`` yet is in both tiers, and an article listed twice would
    count twice against the pass's cap on a key's holders (``MAX_KEY_RECORDS``)."""
    return {key: list(dict.fromkeys(ids)) for key, ids in found.items()}


def _article_values(rec: ArticleRecord) -> tuple[Any, ...]:
    return (
        rec.url,
        rec.fetched_url,
        rec.host,
        rec.publisher,
        rec.title,
        rec.byline,
        rec.agency,
        to_db_time(rec.published),
        to_db_time(rec.updated),
        to_db_time(rec.fetched),
        rec.language,
        rec.html_sha256,
        rec.text,
        json.dumps([{"rule": r, "text": t} for r, t in rec.dropped], ensure_ascii=False)
        if rec.dropped
        else None,
    )


def _frontier_item(row: tuple[Any, ...]) -> FrontierItem:
    url, host, source, attempts, published, last_fetched, etag, modified = row
    return FrontierItem(
        url=url,
        host=host,
        source=source,
        attempts=int(attempts),
        published=from_db_time(published),
        revisit=last_fetched is not None,
        etag=etag,
        last_modified=modified,
    )


def _article(row: tuple[Any, ...]) -> StoredArticle:
    aid, url, host, publisher, title, byline, agency, published, fetched, text = row
    return StoredArticle(
        id=int(aid),
        url=url,
        host=host,
        publisher=publisher,
        title=title,
        byline=byline,
        agency=agency,
        published=from_db_time(published),
        fetched=from_db_time(fetched) or utcnow(),
        text=text,
    )
