"""The store's schema, as an ordered list of migrations.

Version N of the schema is what you get by applying migrations 1..N in order. A store
records its version (SQLite: ``PRAGMA user_version``; PostgreSQL: the one-row table
``newsdedup_schema``) so that an old store is upgraded in
place on open, and a store written by a newer newsdedup is refused instead of misread.
Never edit a migration that has shipped: append a new one.

The SQL is kept to the subset SQLite and PostgreSQL share, so one list serves both
backends; the few dialect differences are spelled out by the backend that needs them
(PostgreSQL: ``store.backends._postgres.postgres_ddl`` maps INTEGER, REAL and BLOB to its types).
"""

from __future__ import annotations

import logging

log = logging.getLogger("newsdedup.store")

MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "articles, signatures, LSH bands, clusters, frontier, sources, runs",
        [
            """CREATE TABLE articles (
                id INTEGER PRIMARY KEY,
                url TEXT NOT NULL UNIQUE,
                fetched_url TEXT,
                host TEXT NOT NULL,
                publisher TEXT,
                title TEXT,
                byline TEXT,
                agency TEXT,
                published TEXT,
                updated TEXT,
                fetched TEXT NOT NULL,
                language TEXT,
                html_sha256 TEXT,
                text TEXT NOT NULL
            )""",
            "CREATE INDEX articles_host ON articles (host, id)",
            """CREATE TABLE signatures (
                article_id INTEGER PRIMARY KEY REFERENCES articles (id),
                scheme TEXT NOT NULL,
                shingles INTEGER NOT NULL,
                minhash BLOB NOT NULL
            )""",
            """CREATE TABLE lsh_bands (
                band INTEGER NOT NULL,
                bucket INTEGER NOT NULL,
                article_id INTEGER NOT NULL REFERENCES articles (id),
                PRIMARY KEY (band, bucket, article_id)
            )""",
            "CREATE INDEX lsh_bands_article ON lsh_bands (article_id)",
            """CREATE TABLE memberships (
                article_id INTEGER PRIMARY KEY REFERENCES articles (id),
                cluster_id INTEGER NOT NULL,
                similarity REAL NOT NULL,
                containment REAL NOT NULL
            )""",
            "CREATE INDEX memberships_cluster ON memberships (cluster_id)",
            """CREATE TABLE frontier (
                url TEXT PRIMARY KEY,
                host TEXT NOT NULL,
                source TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                published TEXT,
                discovered TEXT NOT NULL,
                next_attempt TEXT
            )""",
            "CREATE INDEX frontier_state ON frontier (state, next_attempt)",
            """CREATE TABLE sources (
                url TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                etag TEXT,
                last_modified TEXT,
                last_checked TEXT,
                last_error TEXT,
                last_found INTEGER
            )""",
            """CREATE TABLE page_lines (
                article_id INTEGER NOT NULL REFERENCES articles (id),
                host TEXT NOT NULL,
                line_key TEXT NOT NULL,
                PRIMARY KEY (article_id, line_key)
            )""",
            "CREATE INDEX page_lines_host ON page_lines (host, article_id)",
            """CREATE TABLE runs (
                id INTEGER PRIMARY KEY,
                started TEXT NOT NULL,
                finished TEXT,
                command TEXT NOT NULL,
                summary TEXT
            )""",
        ],
    ),
    (
        # JSON list of {"rule", "text"}: the boilerplate normalization removed, so that a
        # report can show it greyed beside the story instead of silently missing.
        "articles.dropped: the lines removed as boilerplate",
        ["ALTER TABLE articles ADD COLUMN dropped TEXT"],
    ),
    (
        # A claim is a lease, not a state: a crawler that dies holding URLs gives them back
        # when the lease runs out, with no cleanup step anyone has to remember to run.
        "frontier.claimed_until: leases that let several crawlers share one frontier",
        ["ALTER TABLE frontier ADD COLUMN claimed_until TEXT"],
    ),
]

MIGRATIONS.append(
    (
        # A stable hash of the URL: due URLs come out ordered by discovery hour, then by this,
        # which interleaves hosts. Ordered by URL, a batch of claims was all one host, and the
        # workers queued behind that host's two slots or its politeness delay.
        "frontier.spread: interleave hosts in the fetch order",
        ["ALTER TABLE frontier ADD COLUMN spread INTEGER NOT NULL DEFAULT 0"],
    )
)

MIGRATIONS.append(
    (
        # Revisits (``[crawl] revisit_after``): a done URL remembers when it was last fetched
        # and the validators its answer carried, so a revisit is a conditional GET. Rows done
        # before this migration take their article's fetch time (else their discovery time),
        # so the first runs with revisits on refetch the oldest pages first. An updated
        # article goes on the ``resign`` queue: the dedup pass finds new articles by id
        # (SQLite's fast path), which an article changed in place would never match again.
        "frontier validators and fetch time; the resign queue of updated articles",
        [
            "ALTER TABLE frontier ADD COLUMN etag TEXT",
            "ALTER TABLE frontier ADD COLUMN last_modified TEXT",
            "ALTER TABLE frontier ADD COLUMN last_fetched TEXT",
            """UPDATE frontier SET last_fetched = COALESCE(
               (SELECT a.fetched FROM articles AS a WHERE a.url = frontier.url), discovered)
           WHERE state = 'done'""",
            "CREATE INDEX frontier_revisit ON frontier (state, last_fetched)",
            """CREATE TABLE resign (
            article_id INTEGER PRIMARY KEY REFERENCES articles (id)
        )""",
        ],
    )
)

MIGRATIONS.append(
    (
        # New LSH bands go to a small table first and are folded into ``lsh_bands`` in one
        # sorted sweep when it fills (``store.dedup._pass.recent_limit``), the way FTS5 merges
        # its segments. Inserted one cron run at a time into a 37M-row index, band rows each
        # landed on a different page: at a million articles a run of 1,000 wrote 134 MiB of
        # WAL and the pass cost twice that at 10,000 articles.
        "lsh_recent: a write tier in front of the LSH band index, which loses its article index",
        [
            """CREATE TABLE lsh_recent (
            band INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles (id),
            PRIMARY KEY (band, bucket, article_id)
        )""",
            # Bands are deleted by their own keys (re-signing knows the old signature), so
            # no index by article: inserted in key order at compaction, article ids are
            # random, and keeping that index up to date cost a random write per band row.
            "DROP INDEX lsh_bands_article",
        ],
    )
)

MIGRATIONS.append(
    (
        # The order-independent engine (``store.dedup``): every article's lines, keyed with
        # digits masked, for learning each host's boilerplate; what was learned; one anchor per
        # sentence beside the LSH bands; the verified pairs (copies, and partial reuse down to
        # the reuse threshold), whose copy-level ones make the components a pass re-clusters;
        # and clusters with ids of their own, so that a cluster keeps its id when a fuller
        # version becomes its representative. Existing clusters keep their ids (an article id
        # until now); the first pass re-signs the store once (a new signature scheme).
        "the order-independent engine: lines, learned boilerplate, anchors, verified pairs, "
        "cluster ids",
        [
            """CREATE TABLE article_lines (
            article_id INTEGER NOT NULL REFERENCES articles (id),
            scope TEXT NOT NULL,
            key INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            sample_key INTEGER NOT NULL,
            PRIMARY KEY (article_id, key)
        )""",
            "CREATE INDEX article_lines_holders ON article_lines (scope, key, sample_key)",
            "CREATE INDEX article_lines_key ON article_lines (key)",
            """CREATE TABLE boilerplate (
            scope TEXT NOT NULL,
            key INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        )""",
            """CREATE TABLE anchors (
            anchor INTEGER NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles (id),
            PRIMARY KEY (anchor, article_id)
        )""",
            "CREATE INDEX anchors_article ON anchors (article_id)",
            """CREATE TABLE edges (
            a INTEGER NOT NULL REFERENCES articles (id),
            b INTEGER NOT NULL REFERENCES articles (id),
            a_in_b REAL NOT NULL,
            b_in_a REAL NOT NULL,
            copy INTEGER NOT NULL,
            PRIMARY KEY (a, b)
        )""",
            "CREATE INDEX edges_b ON edges (b)",
            """CREATE TABLE clusters (
            id INTEGER PRIMARY KEY,
            representative INTEGER NOT NULL REFERENCES articles (id)
        )""",
            "INSERT INTO clusters (id, representative)"
            " SELECT DISTINCT cluster_id, cluster_id FROM memberships",
        ],
    )
)

# Every line key two articles or more hold, with its holders per scope.
COUNT_LINES = (
    "INSERT INTO line_counts (key, scope, n) SELECT key, scope, COUNT(*) FROM article_lines"
    " WHERE key IN (SELECT key FROM article_lines GROUP BY key HAVING COUNT(*) > 1)"
    " GROUP BY key, scope"
)

MIGRATIONS.append(
    (
        # Deciding a line reads how many articles hold it, per scope. Counted from
        # ``article_lines``, an outlet's footer cost a read per holder every run it appeared
        # in: at a million articles, a million reads a run for 300 outlets' footers, ten
        # million at ten million. Counts are kept per key once a second article holds it
        # (``EngineTables.put_lines``); a key held once is still counted by its index.
        "line_counts: the holders of every repeated line, per scope",
        [
            """CREATE TABLE line_counts (
            key INTEGER NOT NULL,
            scope TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (key, scope)
        )""",
            COUNT_LINES,
        ],
    )
)


MIGRATIONS.append(
    (
        # Every lookup of lines by key (holders of a key, in any scope or one; a scope's
        # holders in sample order; counting) can read one index keyed (key, scope,
        # sample_key), so the second is dropped. A cron run's new lines each land on a
        # random page of every key-ordered index, and at a million articles those two
        # indexes' page splits and WAL frames were the dearest part of a run (0.9 s of
        # insert and 0.5 s of commit on a freshly built store, against 0.3 s in all with
        # one index). Rebuilding it once costs about 10 s per million articles.
        "article_lines: one index by key for every holder lookup, where there were two",
        [
            "DROP INDEX article_lines_holders",
            "DROP INDEX article_lines_key",
            "CREATE INDEX article_lines_by_key ON article_lines (key, scope, sample_key)",
        ],
    )
)

MIGRATIONS.append(
    (
        # A stored article sharing a single sentence anchor with a new one is a candidate
        # only where one of the two holds few anchors (``store.dedup._graph.FEW_ANCHORS``,
        # 5 when this shipped). Counting a stored article's anchors cost a random read of
        # ``anchors_article`` per article sharing any one sentence with a new one, and
        # those grow with the store: 1,400 a run of 1,000 at 10k articles, 22,000 at a
        # million. The anchors of the articles holding few are kept in a table of their
        # own as well, small enough to stay in the page cache, where the new articles'
        # anchors are looked up instead.
        "few_anchors: the anchors of the articles that hold few",
        [
            """CREATE TABLE few_anchors (
            anchor INTEGER NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles (id),
            PRIMARY KEY (anchor, article_id)
        )""",
            "CREATE INDEX few_anchors_article ON few_anchors (article_id)",
            "INSERT INTO few_anchors (anchor, article_id) SELECT anchor, article_id FROM anchors"
            " WHERE article_id IN (SELECT article_id FROM anchors GROUP BY article_id"
            " HAVING COUNT(*) <= 5)",
        ],
    )
)


# A statement only SQLite runs: PostgreSQL's backend skips it (``postgres_statements``).
SQLITE_ONLY = "/* sqlite only */ "


def _without_rowid(table: str, columns: str, key: str, indexes: list[str]) -> list[str]:
    """Rebuild ``table`` as a WITHOUT ROWID table clustered on ``key`` (SQLite only).

    The copy is read from the old key index, in key order, so the new B-tree is written by
    appending. Secondary indexes go with the old table and are built again after it.
    """
    new = f"{table}_clustered"
    names = ", ".join(column.split()[0] for column in columns.split(","))
    return [
        SQLITE_ONLY + f"CREATE TABLE {new} ({columns}, PRIMARY KEY ({key})) WITHOUT ROWID",
        SQLITE_ONLY + f"INSERT INTO {new} ({names}) SELECT {names} FROM {table} ORDER BY {key}",
        SQLITE_ONLY + f"DROP TABLE {table}",
        SQLITE_ONLY + f"ALTER TABLE {new} RENAME TO {table}",
        *(SQLITE_ONLY + index for index in indexes),
    ]


def _index_view(view: str, columns: str, tables: list[str]) -> str:
    """One view over an index's tables (its main table and write tiers): both backends
    push a lookup's WHERE into each arm of the UNION ALL."""
    arms = " UNION ALL ".join(f"SELECT {columns} FROM {t}" for t in tables)
    return f"CREATE VIEW {view} AS {arms}"


_BAND_COLUMNS = (
    "band INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " article_id INTEGER NOT NULL REFERENCES articles (id)"
)
_ANCHOR_COLUMNS = "anchor INTEGER NOT NULL, article_id INTEGER NOT NULL REFERENCES articles (id)"
_LINE_COLUMNS = (
    "article_id INTEGER NOT NULL REFERENCES articles (id), scope TEXT NOT NULL,"
    " key INTEGER NOT NULL, tokens INTEGER NOT NULL, sample_key INTEGER NOT NULL"
)

MIGRATIONS.append(
    (
        # In SQLite a table keyed by a composite primary key is two B-trees: the rows by
        # rowid, and the key's own index holding every column again. These tables are read
        # only by their keys and indexes, so the rowid copy was pure cost: a quarter of the
        # file, and a second B-tree written by every insert and every fold of the write
        # tier. Clustered on their keys (WITHOUT ROWID) they are one B-tree each: a store
        # of a million articles went from 6.10 to 4.50 GiB of live pages, and ten million
        # fit in 45 GiB. The rebuild took 94 s at a million articles, once. PostgreSQL has
        # no rowid and keeps its tables as they are.
        "LSH bands, anchors and article lines clustered on their keys (SQLite)",
        [
            *_without_rowid("lsh_bands", _BAND_COLUMNS, "band, bucket, article_id", []),
            *_without_rowid("lsh_recent", _BAND_COLUMNS, "band, bucket, article_id", []),
            *_without_rowid(
                "anchors",
                _ANCHOR_COLUMNS,
                "anchor, article_id",
                ["CREATE INDEX anchors_article ON anchors (article_id)"],
            ),
            *_without_rowid(
                "few_anchors",
                _ANCHOR_COLUMNS,
                "anchor, article_id",
                ["CREATE INDEX few_anchors_article ON few_anchors (article_id)"],
            ),
            *_without_rowid(
                "article_lines",
                _LINE_COLUMNS,
                "article_id, key",
                ["CREATE INDEX article_lines_by_key ON article_lines (key, scope, sample_key)"],
            ),
        ],
    )
)

MIGRATIONS.append(
    (
        # A cron run's new anchors and lines each landed on a random leaf of a key-ordered
        # index as large as the store: at 3M articles 16,800 leaves of ``anchors`` and 11,900
        # of ``article_lines_by_key`` per run of 1,000, 85% of the pages it wrote, each read,
        # written to the WAL and checkpointed. They now go to write tiers, folded into the
        # main tables in key order when the LSH write tier is (``compact_tiers``), as
        # ``lsh_recent`` is. Readers see each pair of tables as one, through a view: both
        # backends push a lookup's WHERE into each arm of the UNION ALL.
        "write tiers in front of the anchors and the article lines, read through views",
        [
            f"CREATE TABLE anchors_recent ({_ANCHOR_COLUMNS}, PRIMARY KEY (anchor, article_id))",
            f"CREATE TABLE article_lines_recent ({_LINE_COLUMNS}, PRIMARY KEY (article_id, key))",
            *_without_rowid("anchors_recent", _ANCHOR_COLUMNS, "anchor, article_id", []),
            *_without_rowid("article_lines_recent", _LINE_COLUMNS, "article_id, key", []),
            "CREATE INDEX anchors_recent_article ON anchors_recent (article_id)",
            "CREATE INDEX article_lines_recent_by_key"
            " ON article_lines_recent (key, scope, sample_key)",
            "CREATE VIEW all_anchors AS SELECT anchor, article_id FROM anchors"
            " UNION ALL SELECT anchor, article_id FROM anchors_recent",
            "CREATE VIEW all_article_lines AS"
            " SELECT article_id, scope, key, tokens, sample_key FROM article_lines UNION ALL"
            " SELECT article_id, scope, key, tokens, sample_key FROM article_lines_recent",
        ],
    )
)


def _more_write_tiers(slot: int) -> list[str]:
    """Write tier ``slot`` of the LSH bands, the anchors and the article lines: tables
    and indexes like those of the first (``lsh_recent``, ``anchors_recent``,
    ``article_lines_recent``), under its number."""
    return [
        f"CREATE TABLE lsh_recent_{slot} ({_BAND_COLUMNS}, PRIMARY KEY (band, bucket, article_id))",
        f"CREATE TABLE anchors_recent_{slot} ({_ANCHOR_COLUMNS}, PRIMARY KEY (anchor, article_id))",
        f"CREATE TABLE article_lines_recent_{slot} ({_LINE_COLUMNS},"
        " PRIMARY KEY (article_id, key))",
        *_without_rowid(f"lsh_recent_{slot}", _BAND_COLUMNS, "band, bucket, article_id", []),
        *_without_rowid(f"anchors_recent_{slot}", _ANCHOR_COLUMNS, "anchor, article_id", []),
        *_without_rowid(f"article_lines_recent_{slot}", _LINE_COLUMNS, "article_id, key", []),
        f"CREATE INDEX anchors_recent_{slot}_article ON anchors_recent_{slot} (article_id)",
        f"CREATE INDEX article_lines_recent_{slot}_by_key"
        f" ON article_lines_recent_{slot} (key, scope, sample_key)",
    ]


MIGRATIONS.append(
    (
        # A fold of the write tiers rewrote most leaves of each main table however few
        # rows it moved: at 10M articles 74 s of CPU every 82 runs, 0.9 s a run. Where
        # the cap holds a tier under its share of the index, a full tier is now left
        # where it is and new rows go to the next one, and the main tables take all of
        # them in one fold (``store.dedup._pass.tiers_per_fold``), as size-tiered LSM
        # compaction does: each row still moves once, and the main tables are rewritten
        # once in three fills instead of every one. Readers see each index's tables as
        # one, through a view (``all_lsh_bands`` is new).
        "three write tiers in front of the LSH bands, the anchors and the article lines",
        [
            *_more_write_tiers(1),
            *_more_write_tiers(2),
            "DROP VIEW all_anchors",
            "DROP VIEW all_article_lines",
            _index_view(
                "all_lsh_bands",
                "band, bucket, article_id",
                ["lsh_bands", "lsh_recent", "lsh_recent_1", "lsh_recent_2"],
            ),
            _index_view(
                "all_anchors",
                "anchor, article_id",
                ["anchors", "anchors_recent", "anchors_recent_1", "anchors_recent_2"],
            ),
            _index_view(
                "all_article_lines",
                "article_id, scope, key, tokens, sample_key",
                [
                    "article_lines",
                    "article_lines_recent",
                    "article_lines_recent_1",
                    "article_lines_recent_2",
                ],
            ),
        ],
    )
)

MIGRATIONS.append(
    (
        # A cron run at 10M articles looked up about 55,000 LSH bands and anchors in
        # main tables twice the size of the page cache, each a random read, and most of
        # them held by no stored article. A key filter of each main table, in a file
        # beside the store (``store.backends._keyfilter``), answers those without a
        # read; it stands for the main tables only while this token is the one it was
        # written under, and every write to a main table replaces the token (0: never
        # written since this migration, which no filter stands for).
        "a token naming the main tables' contents, for the key filters beside the store",
        [
            "CREATE TABLE main_token (token INTEGER NOT NULL)",
            "INSERT INTO main_token (token) VALUES (0)",
        ],
    )
)

MIGRATIONS.append(
    (
        # A stock phrase's anchor gains holders with every week of news, and an anchor
        # held by more than the dedup pass's limit pairs nothing (``store.dedup._graph.
        # MAX_KEY_RECORDS``) but was read whole by every run that met it: at 10M articles
        # 52 of a run's 17,571 anchors, 207,127 of the 306,056 rows it read. Each such
        # anchor is kept here with the holders it was seen with, and not read again
        # while it has more (``anchor_matches``); filled by the runs that meet them.
        "anchors found held by too many articles to pair any, with their holder counts",
        [
            "CREATE TABLE crowded_anchors"
            " (anchor INTEGER NOT NULL PRIMARY KEY, holders INTEGER NOT NULL)"
        ],
    )
)


def _lines_tier_by_key(tier: str) -> list[str]:
    """Write tier ``tier`` of the article lines keyed by (key, article_id), with an index
    by article, where it was keyed by (article_id, key) with an index by key."""
    keyed, names = f"{tier}_keyed", "article_id, scope, key, tokens, sample_key"
    return [
        f"CREATE TABLE {keyed} ({_LINE_COLUMNS}, PRIMARY KEY (key, article_id))",
        f"INSERT INTO {keyed} ({names}) SELECT {names} FROM {tier}",
        f"DROP TABLE {tier}",
        f"ALTER TABLE {keyed} RENAME TO {tier}",
        *_without_rowid(tier, _LINE_COLUMNS, "key, article_id", []),
        f"CREATE INDEX {tier}_article ON {tier} (article_id)",
    ]


_LINE_TIERS = ["article_lines_recent", "article_lines_recent_1", "article_lines_recent_2"]

MIGRATIONS.append(
    (
        # A fold moves the lines' tiers into the main table a range of keys at a time,
        # and deleting a range from a tier keyed by article cost SQLite a random seek per
        # row, in the table itself and not in an index it could drop meanwhile, as the
        # anchors' fold does (``Index.loose``). Keyed by line key, a range is deleted
        # from contiguous leaves, and the index by article (for an article's own lines)
        # is dropped during the fold: on a synthetic store of 15M main lines and three
        # tiers of 550k, the lines' fold took 22.0 s of CPU against 42.5 s. Tiers hold a
        # few hundred thousand rows each, so the rebuild is quick.
        "the article lines' write tiers keyed by line key, as the anchors' are",
        [
            "DROP VIEW all_article_lines",
            *(s for tier in _LINE_TIERS for s in _lines_tier_by_key(tier)),
            _index_view(
                "all_article_lines",
                "article_id, scope, key, tokens, sample_key",
                ["article_lines", *_LINE_TIERS],
            ),
        ],
    )
)

MIGRATIONS.append(
    (
        # Each run looks up its keys in every write tier holding rows, and a full tier
        # cost a 10M-article run about 0.3 s of CPU in reads of keys it does not hold
        # (a fit over a period's runs: 0.108 s per million rows in full tiers). A full
        # tier takes no more rows until the fold, so a key filter of it, in a file
        # beside the store (``store.backends._keyfilter``), stands until then: while its
        # token here is the one it was written under. Every write to a tier replaces its
        # token (none yet: never written since this migration, and no filter stands).
        "a token naming each write tier's contents, for key filters of the full ones",
        ["CREATE TABLE tier_tokens (slot INTEGER PRIMARY KEY, token INTEGER NOT NULL)"],
    )
)

SCHEMA_VERSION = len(MIGRATIONS)
# The first schema with ``main_token``: a store opened read-only below it has no filters.
MAIN_TOKEN_SCHEMA = 14
# The first with ``tier_tokens``: below it, no write tier has a filter.
TIER_TOKEN_SCHEMA = 17


def announce_upgrade(location: str, version: int) -> None:
    """Say so before upgrading a store that holds data: some migrations rebuild tables,
    minutes at millions of articles, and a cron run that took that long unexplained
    looks hung."""
    if version:
        log.info(
            "%s: upgrading the store from schema %d to %d (once; minutes for a large store)",
            location,
            version,
            SCHEMA_VERSION,
        )
