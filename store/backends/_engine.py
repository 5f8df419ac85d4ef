"""The tables of the dedup engine: lines, learned boilerplate, anchors, verified pairs,
clusters. Part of :class:`store.Store`; the engine (``store.dedup._pass``) reaches them only
through these methods, so its rules never depend on a database's SQL.

Every lookup is an indexed one by key or by article, and every write is keyed by the
articles a pass is working on, so the cost of a pass follows its new articles and the
components they touch, not the size of the store.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ._levels import ANCHORS, LINES, Index
from ._schema import COUNT_LINES
from ._values import chunks

if TYPE_CHECKING:
    from contextlib import AbstractContextManager


class EngineTables:
    """Mixed into :class:`store.Store`; the methods below are all a backend needs."""

    if TYPE_CHECKING:

        def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
        def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
        def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
        def transaction(self) -> AbstractContextManager[None]: ...

    def _in(
        self,
        sql: str,
        ids: Sequence[Any],
        params: Sequence[Any] = (),
        tail: Sequence[Any] = (),
    ) -> list[tuple]:
        """``sql`` with ``{marks}`` for an IN list, run over ``ids`` in chunks; ``params``
        bind before the list, ``tail`` after it."""
        rows: list[tuple] = []
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            rows += self._query(sql.format(marks=marks), [*params, *chunk, *tail])
        return rows

    # -- what the main tables hold -------------------------------------------------------

    def _main_written(self) -> None:
        """Called in every transaction that adds rows to a main table (a fold, a store
        without write tiers, a bulk load): the main tables get a new token, so that a
        key filter written for them before (``_keyfilter``) no longer stands for them.
        A random one, not a count: a store restored from a backup then never meets the
        filter of the store it was copied from."""
        self._written_token = secrets.randbits(62) + 1
        self._execute("UPDATE main_token SET token = ?", (self._written_token,))

    def _main_may_hold(
        self, index: Index, keys: Sequence[int], prefixes: Sequence[int] | None = None
    ) -> Sequence[bool] | None:
        """For each key (under its prefix: an LSH bucket's band), whether the main table
        of ``index`` may hold it; None: any may. A backend with a key filter overrides."""
        return None

    def _written(self, slot: int | None) -> None:
        """Rows were added to write tier ``slot``, or to the main table (None)."""
        if slot is None:
            self._main_written()
        else:
            self._tier_written(slot)

    def _tier_written(self, slot: int) -> None:
        """Called in every transaction that adds rows to write tier ``slot``: the tier
        gets a new token, so that a key filter of it written before (``seal_tiers``) no
        longer stands for it. Random, as the main tables' token is."""
        self._execute(
            "INSERT INTO tier_tokens (slot, token) VALUES (?, ?)"
            " ON CONFLICT (slot) DO UPDATE SET token = excluded.token",
            (slot, secrets.randbits(62) + 1),
        )

    def seal_tiers(self, below: int) -> None:
        """Write tiers ``0 .. below - 1`` are full and take no more rows until the fold:
        a backend that keeps key filters writes theirs here, where none stands."""

    def _may_hold(
        self, index: Index, table: str, keys: Sequence[int], prefixes: Sequence[int] | None = None
    ) -> Sequence[bool] | None:
        """``_main_may_hold`` for the main table of ``index``, ``_tier_may_hold`` for a
        write tier's."""
        if table == index.main:
            return self._main_may_hold(index, keys, prefixes)
        return self._tier_may_hold(index, table, keys, prefixes)

    def _tier_may_hold(
        self, index: Index, table: str, keys: Sequence[int], prefixes: Sequence[int] | None = None
    ) -> Sequence[bool] | None:
        """``_main_may_hold`` for write tier ``table`` of ``index``; None: any may."""
        return None

    def _by_key(
        self, index: Index, sql: str, keys: Sequence[int], params: Sequence[Any] = ()
    ) -> list[tuple]:
        """``sql`` (``{table}``: a table of ``index``; ``{marks}``: an IN list of
        ``keys``, bound after ``params``) over the view of all its tables, or, where any
        of them has a key filter, over each table, one with a filter asked only for the
        keys it lets through: per table, so that a GROUP BY counts per table."""
        tables = self._holding(index)
        held = {table: self._may_hold(index, table, keys) for table in tables}
        if all(h is None for h in held.values()):
            # one statement over the view, or the main table alone where no tier holds
            # rows: each empty tier's arm costs a seek per key
            source = index.view if len(tables) > 1 else index.main
            return self._in(sql.replace("{table}", source), keys, params)
        rows: list[tuple] = []
        for table in tables:
            h = held[table]
            asked = keys if h is None else [k for k, y in zip(keys, h, strict=True) if y]
            rows += self._in(sql.replace("{table}", table), asked, params)
        return rows

    def _line_counts(self, keys: Sequence[int]) -> list[tuple[int, str, int]]:
        """(key, scope, articles holding it) for these keys, counted in every table."""
        total: Counter[tuple[int, str]] = Counter()
        for key, scope, n in self._by_key(
            LINES,
            "SELECT key, scope, COUNT(*) FROM {table} WHERE key IN ({marks}) GROUP BY key, scope",
            keys,
        ):
            total[int(key), str(scope)] += int(n)
        return [(k, s, n) for (k, s), n in total.items()]

    # -- lines ---------------------------------------------------------------------------
    #
    # Lines and anchors are each kept in a main table and write tiers, like the LSH
    # index (``_levels``): new rows go to a tier once a store is large enough to have
    # them (``slot``), and the tiers are folded into the main table in key order
    # (``compact_tiers``). Every read goes through the view of all of them
    # (``all_article_lines``, ``all_anchors``); a fold moves a key range in one
    # transaction, so no row ever stands in two tables.

    def put_lines(
        self, rows: Iterable[tuple[int, str, int, int, int]], *, slot: int | None = None
    ) -> None:
        """(article_id, scope, key, tokens, sample_key) for every line of new articles
        (lines already stored are skipped), and their holders counted (``line_counts``);
        into write tier ``slot``, or the main table (None)."""
        rows = list(rows)
        stored = {
            (int(a), int(k))
            for a, k in self._in(
                "SELECT article_id, key FROM all_article_lines WHERE article_id IN ({marks})",
                sorted({r[0] for r in rows}),
            )
        }
        rows = [r for r in rows if (r[0], r[2]) not in stored]
        table = LINES.table(slot)
        self._executemany(
            f"INSERT INTO {table} (article_id, scope, key, tokens, sample_key)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        self._written(slot)
        self._count_lines(Counter((int(r[2]), str(r[1])) for r in rows))

    def drop_lines(self, ids: Sequence[int]) -> list[tuple[str, int]]:
        """Forget these articles' lines; returns the (scope, key) pairs they held."""
        held = [
            (str(s), int(k))
            for s, k in self._in(
                "SELECT scope, key FROM all_article_lines WHERE article_id IN ({marks})", ids
            )
        ]
        self._delete_articles(LINES.tables, ids)
        self._count_lines(Counter({(k, s): -n for (s, k), n in Counter(held).items()}))
        return sorted(set(held))

    def _count_lines(self, change: Counter[tuple[int, str]]) -> None:
        """Apply a change in holders, by (key, scope), to ``line_counts``.

        The table holds every key that two articles or more hold, counted per scope: a
        footer's holders are then read in one row per scope, where counting them cost a
        read per holder, thousands a run at a million articles. A key enters the table,
        counted in full, when its second holder arrives (an untracked key has at most one,
        so counting it is cheap); a scope's row goes when its count reaches 0.
        """
        if not change:
            return
        keys = sorted({k for k, _ in change})
        tracked = {
            int(k)
            for (k,) in self._in(
                "SELECT DISTINCT key FROM line_counts WHERE key IN ({marks})", keys
            )
        }
        self._executemany(
            "INSERT INTO line_counts (key, scope, n) VALUES (?, ?, ?) ON CONFLICT (key, scope)"
            " DO UPDATE SET n = line_counts.n + excluded.n",
            sorted((k, s, n) for (k, s), n in change.items() if k in tracked and n),
        )
        gone = sorted({k for (k, _), n in change.items() if k in tracked and n < 0})
        for chunk in chunks(gone):
            marks = ",".join("?" * len(chunk))
            self._execute(f"DELETE FROM line_counts WHERE key IN ({marks}) AND n <= 0", chunk)
        grown = {k for (k, _), n in change.items() if n > 0}
        new = [k for k in keys if k in grown and k not in tracked]
        counted = self._line_counts(new)
        total: Counter[int] = Counter()
        for k, _, n in counted:
            total[int(k)] += int(n)
        self._executemany(
            "INSERT INTO line_counts (key, scope, n) VALUES (?, ?, ?)",
            sorted((int(k), str(s), int(n)) for k, s, n in counted if total[int(k)] > 1),
        )

    def lines_held(self, ids: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
        """article id -> its (key, tokens) lines."""
        out: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for aid, key, tokens in self._in(
            "SELECT article_id, key, tokens FROM all_article_lines WHERE article_id IN ({marks})",
            ids,
        ):
            out[int(aid)].append((int(key), int(tokens)))
        return out

    def line_holders(self, keys: Sequence[int]) -> dict[int, dict[str, int]]:
        """key -> {scope: number of articles holding it}, for keys held anywhere."""
        out: dict[int, dict[str, int]] = defaultdict(dict)
        for key, scope, n in self._in(
            "SELECT key, scope, n FROM line_counts WHERE key IN ({marks})", keys
        ):
            out[int(key)][str(scope)] = int(n)
        for key, scope, n in self._line_counts(  # at most one holder each: not counted
            [k for k in keys if k not in out]
        ):
            out[int(key)][str(scope)] = int(n)
        return out

    def holder_sample(self, scope: str, key: int, limit: int) -> list[tuple[int, int]]:
        """(article id, sample key) of the ``limit`` holders with the smallest sample keys."""
        return [
            (int(a), int(s))
            for a, s in self._query(
                "SELECT article_id, sample_key FROM all_article_lines WHERE scope = ? AND key = ?"
                " ORDER BY sample_key, article_id LIMIT ?",
                (scope, key, limit),
            )
        ]

    def holders(self, scope: str, keys: Sequence[int]) -> set[int]:
        """The articles of ``scope`` that hold any of ``keys``."""
        return {
            int(r[0])
            for r in self._by_key(
                LINES,
                "SELECT article_id FROM {table} WHERE scope = ? AND key IN ({marks})",
                keys,
                (scope,),
            )
        }

    # -- learned boilerplate -------------------------------------------------------------

    def boilerplate_keys(self, scope: str) -> frozenset[int]:
        return frozenset(
            int(r[0]) for r in self._query("SELECT key FROM boilerplate WHERE scope = ?", (scope,))
        )

    def set_boilerplate(self, scope: str, key: int, on: bool) -> None:
        if on:
            self._execute(
                "INSERT INTO boilerplate (scope, key) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (scope, key),
            )
        else:
            self._execute("DELETE FROM boilerplate WHERE scope = ? AND key = ?", (scope, key))

    # -- anchors -------------------------------------------------------------------------

    def put_anchors(self, rows: Iterable[tuple[int, int]], *, slot: int | None = None) -> None:
        """(anchor, article_id); into write tier ``slot``, or the main table (None)."""
        table = ANCHORS.table(slot)
        self._executemany(
            f"INSERT INTO {table} (anchor, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
        )
        self._written(slot)

    def put_few_anchors(self, rows: Iterable[tuple[int, int]]) -> None:
        """(anchor, article_id) of the articles that hold few anchors (``put_anchors`` too):
        what ``few_anchor_holders`` reads."""
        self._executemany(
            "INSERT INTO few_anchors (anchor, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            rows,
        )

    def drop_anchors(self, ids: Sequence[int]) -> None:
        """Forget these articles' anchors, and which of them were crowded: an anchor loses
        holders only here, so a remembered holder count (``anchor_matches``) stays a lower
        bound of the true one."""
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            self._execute(
                "DELETE FROM crowded_anchors WHERE anchor IN"
                f" (SELECT anchor FROM {ANCHORS.view} WHERE article_id IN ({marks}))",
                chunk,
            )
        self._delete_articles((*ANCHORS.tables, "few_anchors"), ids)

    def _delete_articles(self, tables: Sequence[str], ids: Sequence[int]) -> None:
        """Delete these articles' rows from each of ``tables`` (indexed by article)."""
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for table in tables:
                self._execute(f"DELETE FROM {table} WHERE article_id IN ({marks})", chunk)

    def anchor_matches(
        self, anchors: Sequence[int], *, crowd: int | None = None
    ) -> dict[int, list[int]]:
        """anchor -> the articles holding it; with ``crowd``, only for the anchors held
        by that many articles or fewer.

        The dedup pass pairs nothing through an anchor held by more (a stock phrase),
        yet such anchors gain holders with every week of news, and each run that met one
        read all its rows: at 10M articles, two thirds of the rows a run read. An anchor
        found over ``crowd`` is kept in ``crowded_anchors`` with its holder count, and
        not read again while that count is over the ``crowd`` asked for: holders leave
        an anchor only through ``drop_anchors``, which forgets it, so the count kept
        never exceeds the true one."""
        if crowd is not None:
            crowded = {
                int(a)
                for (a,) in self._in(
                    "SELECT anchor FROM crowded_anchors WHERE holders > ? AND anchor IN ({marks})",
                    anchors,
                    (crowd,),
                )
            }
            anchors = [a for a in anchors if a not in crowded] if crowded else anchors
        out: dict[int, list[int]] = defaultdict(list)
        rows = self._by_key(
            ANCHORS, "SELECT anchor, article_id FROM {table} WHERE anchor IN ({marks})", anchors
        )
        for anchor, aid in rows:
            out[int(anchor)].append(int(aid))
        if crowd is not None:
            over = [(a, n) for a, ids in out.items() if (n := len(set(ids))) > crowd]
            self._executemany(
                "INSERT INTO crowded_anchors (anchor, holders) VALUES (?, ?)"
                " ON CONFLICT (anchor) DO UPDATE SET holders = excluded.holders",
                over,
            )
            for a, _ in over:
                del out[a]
        return out

    def few_anchor_holders(self, anchors: Sequence[int]) -> set[int]:
        """The articles holding few anchors (``put_few_anchors``) that hold one of these."""
        return {
            int(aid)
            for (aid,) in self._in(
                "SELECT DISTINCT article_id FROM few_anchors WHERE anchor IN ({marks})", anchors
            )
        }

    # -- verified pairs --------------------------------------------------------------------

    def put_edges(self, rows: Iterable[tuple[int, int, float, float, bool]]) -> None:
        """(a, b, share of a in b, share of b in a, is a copy), a < b."""
        self._executemany(
            "INSERT INTO edges (a, b, a_in_b, b_in_a, copy) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (a, b) DO UPDATE SET a_in_b = excluded.a_in_b,"
            " b_in_a = excluded.b_in_a, copy = excluded.copy",
            [(a, b, x, y, int(c)) for a, b, x, y, c in rows],
        )

    def drop_edges(self, ids: Sequence[int]) -> None:
        for chunk in chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            self._execute(
                f"DELETE FROM edges WHERE a IN ({marks}) OR b IN ({marks})", [*chunk, *chunk]
            )

    def edges_of(
        self,
        ids: Sequence[int],
        *,
        copies_only: bool = False,
    ) -> list[tuple[int, int, float, float, bool]]:
        """Every stored pair touching these articles, as (a, b, a_in_b, b_in_a, copy)."""
        cond = " AND copy = 1" if copies_only else ""
        rows = self._in(
            "SELECT a, b, a_in_b, b_in_a, copy FROM edges WHERE a IN ({marks})" + cond, ids
        )
        rows += self._in(
            "SELECT a, b, a_in_b, b_in_a, copy FROM edges WHERE b IN ({marks})" + cond, ids
        )
        return sorted({(int(a), int(b), float(x), float(y), bool(c)) for a, b, x, y, c in rows})

    # -- clusters --------------------------------------------------------------------------

    def next_cluster_ids(self, n: int) -> list[int]:
        """``n`` ids past every cluster and article id; callers hold the dedup lock."""
        top = int(
            self._query(
                "SELECT MAX(m) FROM (SELECT COALESCE(MAX(id), 0) AS m FROM"
                " clusters UNION ALL SELECT COALESCE(MAX(id), 0) FROM articles)"
                " AS t"
            )[0][0]
        )
        return list(range(top + 1, top + 1 + n))

    def cluster_free(self, cluster_id: int) -> bool:
        return not self._query("SELECT 1 FROM clusters WHERE id = ?", (cluster_id,))

    def cluster_members(self, cluster_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for aid, cid in self._in(
            "SELECT article_id, cluster_id FROM memberships WHERE cluster_id IN ({marks})",
            cluster_ids,
        ):
            out[int(cid)].append(int(aid))
        return out

    def replace_clusters(
        self,
        placed: Sequence[tuple[int, int, float, float]],
        representatives: dict[int, int],
        retired: Sequence[int],
    ) -> None:
        """Write these articles' memberships (article, cluster, similarity, containment),
        each cluster's representative, and forget clusters no article belongs to any more."""
        self._delete_articles(("memberships",), [p[0] for p in placed])
        self._executemany(
            "INSERT INTO memberships (article_id, cluster_id, similarity,"
            " containment) VALUES (?, ?, ?, ?)",
            placed,
        )
        for chunk in chunks(list(retired)):
            marks = ",".join("?" * len(chunk))
            self._execute(f"DELETE FROM clusters WHERE id IN ({marks})", chunk)
        self._executemany(
            "INSERT INTO clusters (id, representative) VALUES (?, ?) ON CONFLICT (id)"
            " DO UPDATE SET representative = excluded.representative",
            sorted(representatives.items()),
        )

    def representatives(self, cluster_ids: Sequence[int]) -> dict[int, int]:
        return {
            int(c): int(r)
            for c, r in self._in(
                "SELECT id, representative FROM clusters WHERE id IN ({marks})", cluster_ids
            )
        }

    # -- bulk loading (``store.dedup.load_store``) ----------------------------------------

    def load_lines(self, rows: Iterable[tuple[int, str, int, int, int]]) -> None:
        """``put_lines`` for a store being loaded: inserted as they are, counted after, all
        at once (``count_lines``)."""
        self._executemany(
            "INSERT INTO article_lines (article_id, scope, key, tokens, sample_key)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        self._main_written()

    def count_lines(self) -> None:
        """``line_counts`` from scratch: every key two articles or more hold, per scope."""
        self._execute("DELETE FROM line_counts")
        self._execute(COUNT_LINES)

    def line_groups(self, min_records: int) -> list[tuple[str, int]]:
        """(scope, key) of every line that ``min_records`` articles of one scope hold: the
        only lines that can be boilerplate, so the only ones a whole store's learning reads."""
        return [
            (str(s), int(k))
            for k, s in self._query(
                "SELECT key, scope FROM line_counts WHERE n >= ?", (min_records,)
            )
        ]

    def put_band_index(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """(band, bucket, article_id) rows straight into the main LSH index, in key order."""
        self._executemany("INSERT INTO lsh_bands (band, bucket, article_id) VALUES (?, ?, ?)", rows)
        self._main_written()

    def put_memberships(self, rows: Iterable[tuple[int, int, float, float]]) -> None:
        """(article_id, cluster_id, similarity, containment) of articles not placed yet."""
        self._executemany(
            "INSERT INTO memberships (article_id, cluster_id, similarity,"
            " containment) VALUES (?, ?, ?, ?)",
            rows,
        )

    def put_clusters(self, rows: Iterable[tuple[int, int]]) -> None:
        """(cluster id, representative) of clusters not stored yet."""
        self._executemany("INSERT INTO clusters (id, representative) VALUES (?, ?)", rows)
