"""One suite over every store backend: SQLite files and a real PostgreSQL server.

Each test gets a fresh store: a new file, or a new database on a PostgreSQL 15 server
started once for the module (skipped, with the reason, where no server can be started).
The PostgreSQL-only tests at the end cover what SQLite's single writer never faces:
several crawlers and dedup passes sharing one database at once.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import store as S
from store.backends._levels import ANCHORS, LINES, LSH
from store.backends._schema import MIGRATIONS, SCHEMA_VERSION
from tests.builders import story
from tests.cli import newsdedup, newsdedup_exe
from tests.fixtureweb import sitemap_config
from tests.pgserver import PostgresServer, start_or_skip

pytestmark = pytest.mark.quick

BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pg():
    server = start_or_skip()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def location(backend, tmp_path, request) -> str:
    if backend == "sqlite":
        return str(tmp_path / "s.db")
    server: PostgresServer = request.getfixturevalue("pg")
    return server.create_database()


@pytest.fixture
def st(location):
    with S.open_store(location) as s:
        yield s


def raw_execute(location: str, *statements: str) -> None:
    """Run SQL on the store's database behind the store's back, as another tool might."""
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql)
    else:
        con = sqlite3.connect(location)
        for sql in statements:
            con.execute(sql)
        con.commit()
        con.close()


def set_version(location: str, number: int) -> None:
    if location.startswith("postgresql://"):
        raw_execute(location, f"UPDATE newsdedup_schema SET version = {number}")
    else:
        raw_execute(location, f"PRAGMA user_version = {number}")


def add(st: S.Store, name: str, text: str, hours: float = 0, **kw) -> int | None:
    with st.transaction():
        return st.add_article(
            S.ArticleRecord(
                url=f"http://news.test/{name}",
                host=kw.pop("host", "news.test"),
                text=text,
                fetched=T0 + timedelta(hours=hours),
                publisher=kw.pop("publisher", name),
                **kw,
            )
        )


def clusters(st: S.Store) -> dict[str, int]:
    ids = st.article_ids()
    of = st.clusters_of(ids)
    return {a.url.rsplit("/", 1)[1]: of[a.id] for a in st.articles(ids)}


def frontier(n: int, host: str = "news.test") -> list[S.FrontierItem]:
    return [
        S.FrontierItem(url=f"http://{host}/f{i:05d}", host=host, source="feed") for i in range(n)
    ]


# -- schema ------------------------------------------------------------------------------


def test_new_store_has_the_current_schema_and_reopens_unchanged(location):
    with S.open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert set(st.counts().values()) == {0}
        add(st, "a", story(1))
    with S.open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION and st.article_count() == 1


def test_a_store_at_version_1_is_upgraded_in_place(location):
    first = MIGRATIONS[0][1]
    if location.startswith("postgresql://"):
        from store.backends._postgres import postgres_statements

        raw_execute(
            location,
            *postgres_statements(first),
            "CREATE TABLE newsdedup_schema (version BIGINT NOT NULL)",
            "INSERT INTO newsdedup_schema VALUES (1)",
        )
    else:
        raw_execute(location, *first, "PRAGMA user_version = 1")
    with S.open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION
        with st.transaction():
            st.frontier_add(frontier(3))
        assert len(st.frontier_claim(2, lease_seconds=60)) == 2  # a column of a later one


def test_store_from_a_newer_version_is_refused_and_untouched(location):
    S.open_store(location).close()
    set_version(location, SCHEMA_VERSION + 1)
    with pytest.raises(S.SchemaTooNew, match="newer newsdedup"):
        S.open_store(location)
    with pytest.raises(S.SchemaTooNew):
        S.open_store(location, read_only=True)
    set_version(location, SCHEMA_VERSION)
    with S.open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION


def test_a_foreign_database_is_refused(location):
    raw_execute(location, "CREATE TABLE people (name TEXT)")
    with pytest.raises(S.StoreCorrupt, match="not a newsdedup store"):
        S.open_store(location)


def test_a_read_only_store_reads_and_refuses_writes(location):
    with S.open_store(location) as st:
        add(st, "a", story(1))
    with S.open_store(location, read_only=True) as ro:
        assert ro.article_count() == 1 and ro.consistency_errors() == []
        with pytest.raises(S.StoreReadOnly):
            add(ro, "b", story(2))
        assert ro.article_count() == 1


def test_literal_question_marks_and_percents_are_not_placeholders(st):
    assert st._query("SELECT '?%', ?", (7,)) == [("?%", 7)]


# -- articles ------------------------------------------------------------------------------


def test_adding_the_same_url_twice_adds_one_row(st):
    first = add(st, "a", story(1), line_keys=["k1", "k1", "k2"])
    assert isinstance(first, int)
    assert add(st, "a", story(2)) is None
    assert st.article_count() == 1
    [art] = st.articles([first])
    assert art.text == story(1) and art.fetched == T0 and art.publisher == "a"


def test_known_urls_covers_articles_and_frontier(st):
    add(st, "stored", story(1))
    with st.transaction():
        st.frontier_add(frontier(2))
    asked = ["http://news.test/stored", "http://news.test/f00001", "http://news.test/new"]
    assert st.known_urls(asked) == set(asked[:2])
    assert st.known_urls([f"http://news.test/x{i}" for i in range(1200)]) == set()


# -- frontier ---------------------------------------------------------------------------


def test_frontier_add_skips_known_urls_and_failures_retry(st):
    add(st, "done", story(1))
    items = [
        S.FrontierItem(url=f"http://news.test/{n}", host="news.test", source="feed")
        for n in ("done", "p1", "p2", "p3")
    ]
    with st.transaction():
        assert st.frontier_add(items) == 3
        assert st.frontier_add(items) == 0
    with st.transaction():
        st.frontier_finish(
            "http://news.test/p1", error="timeout", retry_at=datetime.now(UTC) + timedelta(hours=1)
        )
        st.frontier_finish("http://news.test/p2", error="HTTP 404")
    assert [i.url for i in st.frontier_pending()] == ["http://news.test/p3"]
    assert st.frontier_counts() == {"pending": 2, "failed": 1}
    with st.transaction():
        st.frontier_finish("http://news.test/p3")
    assert st.frontier_counts() == {"pending": 1, "failed": 1, "done": 1}


def test_claims_are_disjoint_and_released_or_expired_claims_come_back(st):
    with st.transaction():
        st.frontier_add(frontier(10))
    order = [i.url for i in st.frontier_pending()]  # the fetch order claims follow
    assert sorted(order) == [f"http://news.test/f{i:05d}" for i in range(10)]
    a = st.frontier_claim(4, lease_seconds=600)
    b = st.frontier_claim(4, lease_seconds=600)
    assert [i.url for i in a] == order[:4]
    assert not {i.url for i in a} & {i.url for i in b}
    assert len(st.frontier_pending()) == 2  # claimed URLs are nobody else's to fetch
    st.frontier_release([i.url for i in b])
    with st.transaction():
        for item in a:
            st.frontier_finish(item.url)
    rest = st.frontier_claim(None, lease_seconds=0)  # a lease that has already run out
    assert {i.url for i in rest} == set(order[4:])
    again = st.frontier_claim(None, lease_seconds=600)  # so the same URLs are due again
    assert {i.url for i in again} == {i.url for i in rest}
    assert st.frontier_claim(None, lease_seconds=600) == []
    assert st.frontier_counts() == {"pending": 6, "done": 4}


def test_two_concurrent_claimers_split_1000_urls_without_overlap(st, location):
    with st.transaction():
        st.frontier_add(frontier(1000))
    got: list[list[str]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def claimer(slot: int) -> None:
        try:
            with S.open_store(location) as own:  # each worker its own connection
                start.wait()
                while batch := own.frontier_claim(7, lease_seconds=600):
                    got[slot].extend(i.url for i in batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    counts = Counter(got[0] + got[1])
    assert set(counts.values()) == {1}, "a URL was handed to two claimers"
    assert set(counts) == {i.url for i in frontier(1000)}


# -- sources and template lines -------------------------------------------------------------


def test_source_state_keeps_validators_across_updates(st):
    assert st.source_state("http://news.test/feed") == (None, None)
    st.set_source_state(
        "http://news.test/feed", "rss", etag='"v1"', last_modified="Mon", error=None, found=3
    )
    assert st.source_state("http://news.test/feed") == ('"v1"', "Mon")
    st.set_source_state(
        "http://news.test/feed", "rss", etag=None, last_modified=None, error="HTTP 500", found=0
    )
    assert st.source_state("http://news.test/feed") == ('"v1"', "Mon")
    assert st.counts()["sources"] == 1


def test_template_lines_learned_per_host(st):
    for i in range(6):
        with st.transaction():
            st.add_article(
                S.ArticleRecord(
                    url=f"http://a.test/{i}",
                    host="a.test",
                    text=story(i),
                    fetched=T0,
                    line_keys=["subscribe-line", f"unique-{i}"],
                )
            )
    keys = st.template_line_keys("a.test", last_n=50, min_share=0.5, min_pages=5)
    assert keys == {"subscribe-line"}
    assert st.template_line_keys("a.test", last_n=50, min_share=0.5, min_pages=7) == set()
    assert st.template_line_keys("b.test", last_n=50, min_share=0.5, min_pages=5) == set()


# -- dedup, reports, consistency ------------------------------------------------------------


def test_copies_cluster_and_hard_negatives_stay_apart(st):
    wire = story(1)
    quotes = "The minister said the plan was unprecedented and would change the region."
    add(st, "original", wire + " " + quotes)
    add(st, "copy", "Local readers will recall last week. " + wire, hours=1)
    add(st, "trimmed", wire[: len(wire) // 2], hours=2)
    add(st, "edited", wire.replace("w1 ", "w2 ").upper(), hours=3)
    add(st, "negative", story(99) + " " + quotes, hours=4)  # same quote, different story
    add(st, "own", story(5), hours=5)
    result = S.dedup_store(st)
    assert result.signed == 6
    c = clusters(st)
    assert c["original"] == c["copy"] == c["trimmed"] == c["edited"]
    assert c["negative"] not in (c["original"], c["own"])
    assert c["own"] != c["original"]
    assert st.consistency_errors() == []


def test_few_anchor_holders_are_the_articles_holding_few_anchors(st):
    """The store pass asks which stored candidates sharing a sentence with new articles
    are short (one shared sentence is then enough): the articles whose own anchors went
    to ``put_few_anchors`` as well, and forgotten with their anchors."""
    short, long_ = add(st, "short", story(1)), add(st, "long", story(2))
    with st.transaction():
        st.put_anchors([(a, short) for a in (7, 8)] + [(a, long_) for a in range(1, 10)])
        st.put_few_anchors([(a, short) for a in (7, 8)])
    assert st.few_anchor_holders([8, 9]) == {short}
    assert st.few_anchor_holders([1, 2]) == set()
    assert st.consistency_errors() == []
    with st.transaction():
        st.drop_anchors([short])
    assert st.few_anchor_holders([7, 8]) == set()
    with st.transaction():
        st.put_few_anchors([(3, long_)])  # one of its nine anchors: not what the pass writes
    assert st.consistency_errors() == ["1 articles whose few anchors disagree with their anchors"]


def held(matches: dict[int, list[int]]) -> dict[int, list[int]]:
    return {key: sorted(ids) for key, ids in matches.items()}


def test_an_anchor_held_by_too_many_is_remembered_until_one_of_its_holders_drops_it(st):
    """The pass pairs nothing through an anchor held by more than its limit, so such an
    anchor is remembered with its holder count and not read again; a holder dropping it
    makes it read, and counted, again."""
    ids = [add(st, f"a{n}", story(n)) for n in range(5)]
    with st.transaction():
        st.put_anchors([(7, i) for i in ids] + [(8, i) for i in ids[:2]])
    with st.transaction():
        assert held(st.anchor_matches([7, 8], crowd=3)) == {8: ids[:2]}
    assert st._query("SELECT anchor, holders FROM crowded_anchors") == [(7, 5)]
    assert sorted(st.anchor_matches([7, 8])[7]) == ids  # without a limit, every holder
    assert sorted(st.anchor_matches([7], crowd=5)[7]) == ids  # 5 is not over 5
    # remembered, not read: with rows of 7 removed behind the store's back it stays out
    # (and the check names the count that no longer holds)
    raw = list(st._query("SELECT anchor, article_id FROM all_anchors WHERE anchor = 7"))
    with st.transaction():
        for table in ANCHORS.tables:
            st._execute(f"DELETE FROM {table} WHERE anchor = 7 AND article_id > ?", (ids[1],))
    assert held(st.anchor_matches([7, 8], crowd=3)) == {8: ids[:2]}
    assert st.consistency_errors() == ["1 crowded anchors held by fewer articles than counted"]
    with st.transaction():
        st._executemany("INSERT INTO anchors (anchor, article_id) VALUES (?, ?)", raw[2:])
    assert st.consistency_errors() == []
    with st.transaction():
        st.drop_anchors([ids[0]])  # 4 holders left: read again, still over 3
        assert st._count("crowded_anchors") == 0
        assert st.anchor_matches([7], crowd=3) == {}
        assert st._query("SELECT anchor, holders FROM crowded_anchors") == [(7, 4)]
        st.drop_anchors([ids[4]])
        assert sorted(st.anchor_matches([7], crowd=3)[7]) == ids[1:4]
    assert st.consistency_errors() == []
    with st.transaction():
        st.clear_dedup()
    assert st._count("crowded_anchors") == 0


def test_cluster_ids_stable_across_runs_and_rebuild(st):
    wire = story(1)
    add(st, "a", wire)
    add(st, "x", story(2), hours=0.5)
    S.dedup_store(st)
    first = clusters(st)
    add(st, "b", wire + " An added closing line from the republisher.", hours=1)
    assert S.dedup_store(st).signed == 1
    second = clusters(st)
    assert {k: second[k] for k in first} == first
    assert second["b"] == second["a"]
    S.dedup_store(st, rebuild=True)
    assert clusters(st) == second
    sig = st._query("SELECT minhash FROM signatures ORDER BY article_id")[0][0]
    assert len(bytes(sig)) == 128 * 4  # BLOB/BYTEA round trip


def test_report_clusters_and_origin(st):
    wire = story(1)
    add(st, "late", wire, hours=5, published=T0 + timedelta(hours=3), title="Late copy")
    add(
        st,
        "agency",
        wire + " (Reporting by A; Editing by B)",
        hours=6,
        published=T0 + timedelta(hours=1),
        title="Original",
        publisher="Meridian Press",
    )
    add(st, "alone", story(4), hours=7)
    S.dedup_store(st)
    [cluster] = S.load_clusters(st)
    assert cluster.origin.article.url.endswith("/agency") and cluster.size == 2
    assert cluster.members[1].containment > 0.95
    doc = json.loads(S.render(S.build_report(st), "json"))
    assert doc["articles"] == 3 and [c["id"] for c in doc["clusters"]] == [cluster.id]


def test_consistency_errors_flag_a_lost_membership(st):
    add(st, "a", story(1))
    add(st, "b", story(1), hours=1, host="other.test")
    S.dedup_store(st)
    assert st.consistency_errors() == []
    st._execute("DELETE FROM memberships WHERE article_id <> cluster_id")
    assert st.consistency_errors() == ["1 signatures without a cluster membership"]


# -- revisits: fetch times, validators, articles updated in place, re-signing ---------------


def revise(st: S.Store, name: str, text: str) -> bool | None:
    with st.transaction():
        return st.revise_article(
            S.ArticleRecord(
                url=f"http://news.test/{name}",
                host="news.test",
                text=text,
                fetched=T0,
                title=f"{name} (revised)",
                html_sha256=f"sha-{hash(text)}",
            )
        )


def wire_cluster(st: S.Store, copies: str = "bc") -> dict[str, int]:
    """An origin "a", copies of it, and an unrelated singleton "x"; name -> article id."""
    wire = story(1)
    ids = {"a": add(st, "a", wire)}
    for n, name in enumerate(copies, 1):
        ids[name] = add(
            st,
            name,
            f"Intro {name} for the readers of {name}. " + wire,
            hours=n,
            host=f"{name}.test",
        )
    ids["x"] = add(st, "x", story(5), hours=9)
    S.dedup_store(st)
    assert clusters(st) == {**dict.fromkeys("a" + copies, ids["a"]), "x": ids["x"]}
    return ids


def test_a_copy_edited_into_another_story_leaves_its_cluster(st):
    ids = wire_cluster(st)
    assert revise(st, "b", story(7)) is True
    assert revise(st, "b", story(7)) is False  # the same text again: nothing to do
    assert revise(st, "nobody", story(7)) is None
    assert st.resign_queue() == [ids["b"]] and st.unsigned_count() == 0
    result = S.dedup_store(st)
    assert (result.signed, result.resigned, result.moved) == (0, 1, 1)
    assert clusters(st) == {"a": ids["a"], "c": ids["a"], "b": ids["b"], "x": ids["x"]}
    [b] = st.articles([ids["b"]])
    assert b.text == story(7) and b.title == "b (revised)" and b.fetched == T0 + timedelta(hours=1)
    assert st.resign_queue() == [] and st.consistency_errors() == []
    assert S.dedup_store(st).resigned == 0


def test_a_corrected_origin_keeps_its_cluster_its_id_and_its_copies(st):
    ids = wire_cluster(st)
    before = {a: (s, k) for a, _, s, k in st.membership_rows()}
    revise(st, "a", story(1) + " Correction: an earlier version misspelt the minister's name.")
    result = S.dedup_store(st)
    assert (result.resigned, result.moved) == (1, 0)
    assert clusters(st) == {**dict.fromkeys("abc", ids["a"]), "x": ids["x"]}
    after = {a: (s, k) for a, _, s, k in st.membership_rows()}
    assert after[ids["b"]] != before[ids["b"]]  # figures measured against the correction
    assert after[ids["b"]][0] > 0.8 and st.consistency_errors() == []


def test_a_rewritten_representative_leaves_and_the_story_keeps_its_id(st):
    """A cluster's id belongs to the story, not to one article: when the article it was
    named after is rewritten into another story, the copies that remain keep the id (they
    are most of the cluster) and the rewritten article leaves with a new one."""
    ids = wire_cluster(st, copies="bcd")
    revise(st, "a", story(8))
    result = S.dedup_store(st)
    assert (result.resigned, result.moved) == (1, 1)
    c = clusters(st)
    assert c == {"a": c["a"], **dict.fromkeys("bcd", ids["a"]), "x": ids["x"]}
    assert c["a"] not in (ids["a"], ids["x"])
    assert st.consistency_errors() == []


def test_an_updated_singleton_joins_a_cluster_and_its_own_id_goes(st):
    ids = wire_cluster(st)
    revise(st, "x", "An update. " + story(1))
    assert S.dedup_store(st).moved == 1
    assert clusters(st) == dict.fromkeys("abcx", ids["a"])
    assert st.consistency_errors() == []
    S.dedup_store(st, rebuild=True)  # a rebuild on the current texts agrees here
    assert clusters(st) == dict.fromkeys("abcx", ids["a"])


def test_stale_urls_are_queued_again_oldest_first_after_new_ones(st, location):
    with st.transaction():
        st.frontier_add(frontier(4))
    for item in st.frontier_claim(None, lease_seconds=60):
        with st.transaction():
            st.frontier_fetched(item.url, etag=f'"e{item.url[-1]}"', last_modified=None)
            st.frontier_finish(item.url)
    for n, hour in enumerate((9, 3, 5, 23)):  # f00000 fetched at 09h, f00001 at 03h, ...
        raw_execute(
            location,
            f"UPDATE frontier SET last_fetched = '2026-03-0{n + 1}T{hour:02d}:"
            f"00:00+00:00' WHERE url = 'http://news.test/f{n:05d}'",
        )
    with st.transaction():
        st.frontier_add(frontier(2, host="new.test"))
    assert st.frontier_requeue_stale(datetime(2026, 3, 4, tzinfo=UTC), limit=2) == 2
    due = st.frontier_pending()
    assert {i.url for i in due[:2]} == {i.url for i in frontier(2, host="new.test")}
    assert [i.url for i in due[2:]] == ["http://news.test/f00000", "http://news.test/f00001"]
    assert [(i.revisit, i.etag) for i in due[2:]] == [(True, '"e0"'), (True, '"e1"')]
    assert st.frontier_requeue_stale(datetime(2026, 3, 4, tzinfo=UTC), limit=None) == 1
    assert st.frontier_counts() == {"pending": 5, "done": 1}


def at_version(location: str, version: int) -> None:
    """A store as newsdedup left it when ``version`` was the newest schema."""
    if location.startswith("postgresql://"):
        from store.backends._postgres import postgres_statements

        raw_execute(
            location,
            *(q for _, qs in MIGRATIONS[:version] for q in postgres_statements(qs)),
            "CREATE TABLE newsdedup_schema (version BIGINT NOT NULL)",
            f"INSERT INTO newsdedup_schema VALUES ({version})",
        )
    else:
        raw_execute(
            location,
            *(q for _, qs in MIGRATIONS[:version] for q in qs),
            f"PRAGMA user_version = {version}",
        )


def test_a_version_4_store_takes_its_fetch_times_from_its_articles(location):
    at_version(location, 4)
    raw_execute(
        location,
        "INSERT INTO articles (url, host, fetched, text) VALUES"
        " ('http://news.test/a', 'news.test', '2026-03-02T06:00:00+00:00', 'text')",
        "INSERT INTO frontier (url, host, source, state, discovered) VALUES"
        " ('http://news.test/a', 'news.test', 'feed', 'done', '2026-03-01T00:00:00+00:00'),"
        " ('http://news.test/b', 'news.test', 'feed', 'done', '2026-03-01T00:00:00+00:00'),"
        " ('http://news.test/c', 'news.test', 'feed', 'pending', '2026-03-01T00:00:00+00:00')",
    )
    with S.open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert [st.frontier_validators(f"http://news.test/{n}")[2] for n in "abc"] == [
            "2026-03-02T06:00:00+00:00",
            "2026-03-01T00:00:00+00:00",
            None,
        ]
        assert st.resign_queue() == []


def test_a_version_10_store_keeps_every_indexed_row_when_its_tables_are_clustered(location, caplog):
    at_version(location, 10)
    raw_execute(
        location,
        *(
            "INSERT INTO articles (url, host, fetched, text) VALUES"
            f" ('http://news.test/{n}', 'news.test', '2026-03-02T06:00:00+00:00', 'text')"
            for n in "ab"
        ),
        "INSERT INTO lsh_bands (band, bucket, article_id) VALUES (0, 7, 1), (0, 7, 2), (1, -3, 2)",
        "INSERT INTO lsh_recent (band, bucket, article_id) VALUES (1, 9, 1)",
        "INSERT INTO anchors (anchor, article_id) VALUES (5, 1), (5, 2), (6, 2)",
        "INSERT INTO few_anchors (anchor, article_id) VALUES (5, 1)",
        "INSERT INTO article_lines (article_id, scope, key, tokens, sample_key) VALUES"
        " (1, 'news.test', 11, 4, 99), (2, 'news.test', 11, 4, 98), (2, 'news.test', 12, 6, 98)",
        "INSERT INTO line_counts (key, scope, n) VALUES (11, 'news.test', 2)",
    )
    with caplog.at_level(logging.INFO, logger="newsdedup.store"), S.open_store(location) as st:
        assert f"from schema 10 to {SCHEMA_VERSION}" in caplog.text
        assert st.schema_version() == SCHEMA_VERSION
        assert st.band_matches([(0, 7), (1, -3), (1, 9)]) == {
            (0, 7): [1, 2],
            (1, -3): [2],
            (1, 9): [1],
        }
        assert {a: sorted(ids) for a, ids in st.anchor_matches([5, 6]).items()} == {
            5: [1, 2],
            6: [2],
        }
        assert st.few_anchor_holders([5, 6]) == {1}
        assert {a: sorted(rows) for a, rows in st.lines_held([2]).items()} == {
            2: [(11, 4), (12, 6)]
        }
        assert st.holder_sample("news.test", 11, 5) == [(2, 98), (1, 99)]
        assert st.consistency_errors() == []
        with st.transaction():  # the indexes rebuilt beside them serve deletes by article
            st.drop_anchors([2])
        assert st.anchor_matches([5, 6]) == {5: [1]}
    if not location.startswith("postgresql://"):
        con = sqlite3.connect(location)
        ddl = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        con.close()
        for table in ("lsh_bands", "lsh_recent", "anchors", "few_anchors", "article_lines"):
            assert ddl[table].endswith("WITHOUT ROWID"), table


def test_a_version_15_store_keeps_every_tiered_line_when_its_tiers_are_keyed_by_line(location):
    at_version(location, 15)
    raw_execute(
        location,
        *(
            "INSERT INTO articles (url, host, fetched, text) VALUES"
            f" ('http://news.test/{n}', 'news.test', '2026-03-02T06:00:00+00:00', 'text')"
            for n in "abc"
        ),
        "INSERT INTO article_lines (article_id, scope, key, tokens, sample_key) VALUES"
        " (1, 'news.test', 11, 4, 99)",
        "INSERT INTO article_lines_recent (article_id, scope, key, tokens, sample_key) VALUES"
        " (2, 'news.test', 11, 4, 98), (2, 'news.test', 12, 6, 98)",
        "INSERT INTO article_lines_recent_1 (article_id, scope, key, tokens, sample_key) VALUES"
        " (3, 'news.test', 11, 4, 97), (3, 'other.test', 13, 5, 97)",
        "INSERT INTO line_counts (key, scope, n) VALUES (11, 'news.test', 3)",
    )
    with S.open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert {a: sorted(rows) for a, rows in st.lines_held([1, 2, 3]).items()} == {
            1: [(11, 4)],
            2: [(11, 4), (12, 6)],
            3: [(11, 4), (13, 5)],
        }
        assert st.holder_sample("news.test", 11, 2) == [(3, 97), (2, 98)]
        assert st.holders("news.test", [11, 12, 13]) == {1, 2, 3}
        assert st.line_holders([12, 13]) == {12: {"news.test": 1}, 13: {"other.test": 1}}
        assert st.consistency_errors() == []
        for tier in LINES.tiers:  # an article's lines found by the index by article
            assert [n for n, _ in st._secondary_indexes(tier)] == [f"{tier}_article"]
        with st.transaction():
            st.drop_lines([2])
        assert sorted(st.lines_held([1, 2, 3])) == [1, 3]
        st.compact_tiers()
        assert {a: sorted(rows) for a, rows in st.lines_held([1, 2, 3]).items()} == {
            1: [(11, 4)],
            3: [(11, 4), (13, 5)],
        }
        assert st.consistency_errors() == []
    if not location.startswith("postgresql://"):
        con = sqlite3.connect(location)
        ddl = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        con.close()
        for tier in LINES.tiers:
            assert "PRIMARY KEY (key, article_id)) WITHOUT ROWID" in ddl[tier], tier


def test_a_version_9_store_keeps_apart_the_anchors_of_articles_holding_few(location):
    at_version(location, 9)
    raw_execute(
        location,
        *(
            "INSERT INTO articles (url, host, fetched, text) VALUES"
            f" ('http://news.test/{n}', 'news.test', '2026-03-02T06:00:00+00:00', 'text')"
            for n in "ab"
        ),
        "INSERT INTO anchors (anchor, article_id) VALUES (1, 1), (2, 1), (5, 1), (6, 1),"
        " (7, 1), (2, 2), (3, 2), (4, 2), (5, 2), (6, 2), (7, 2)",
    )
    with S.open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert st.few_anchor_holders([1, 2, 3, 4, 5, 6, 7]) == {1}  # five anchors, not six
        assert st.consistency_errors() == []


# -- PostgreSQL only: many processes on one database ----------------------------------------


@pytest.mark.postgres
def test_password_is_redacted_from_connection_errors(pg):
    url = f"postgresql://scott:tiger-secret@127.0.0.1:{pg.port}/no_such_db"
    with pytest.raises(S.StoreError) as err:
        S.open_store(url)
    assert "tiger-secret" not in str(err.value)
    assert "scott:***@127.0.0.1" in str(err.value)


@pytest.mark.postgres
def test_lock_path_is_none_for_postgresql(pg):
    assert S.lock_path(pg.url()) is None
    assert S.lock_path("/tmp/x.db") == Path("/tmp/x.db.lock")


@pytest.mark.postgres
def test_two_processes_opening_a_new_database_at_once_both_migrate_it(pg):
    url = pg.create_database()
    code = "import sys, store; print(store.open_store(sys.argv[1]).schema_version())"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert {o.strip() for o, _ in outs} == {str(SCHEMA_VERSION)}


@pytest.mark.postgres
def test_two_dedup_processes_at_once_make_one_cluster_per_story(pg):
    url = pg.create_database()
    with S.open_store(url) as st:
        for s in range(8):
            for copy in range(6):
                add(
                    st,
                    f"s{s}-c{copy}",
                    f"Intro {copy}. " + story(100 + s),
                    hours=copy,
                    host=f"p{copy}.test",
                )
    code = (
        "import sys, store\nr = store.dedup_store(store.open_store(sys.argv[1]))\n"
        "print(r.signed, r.new_clusters)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    signed = [tuple(map(int, o.split())) for o, _ in outs]
    assert sum(n for n, _ in signed) == 48 and sum(c for _, c in signed) == 8
    with S.open_store(url) as st:
        c = clusters(st)
        for s in range(8):
            assert len({c[f"s{s}-c{copy}"] for copy in range(6)}) == 1
        assert len(set(c.values())) == 8
        assert st.consistency_errors() == []


@pytest.mark.postgres
def test_cli_crawl_dedup_report_on_postgresql_with_two_crawlers(pg, news_server, tmp_path):
    url = pg.create_database()
    server = news_server(5)
    cfg = sitemap_config(server, tmp_path, store="unused.db")
    pages = {server.url_for(p) for p in server.web.pages}
    mark = len(server.request_log)  # the server is shared: count these crawlers' requests only
    procs = [
        subprocess.Popen(
            [newsdedup_exe(), "-q", "crawl", "--config", str(cfg), "--store", url, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    fetched = Counter(
        f"{server.base_urls[h]}{path}" for _, h, path in list(server.request_log)[mark:]
    )
    fetched = Counter({u: n for u, n in fetched.items() if u in pages})
    assert set(fetched.values()) == {1}, "an article page was fetched twice"
    assert set(fetched) == pages
    summaries = [json.loads(o) for o, _ in outs]
    assert sum(s["stored"] for s in summaries) == len(pages)
    assert not (tmp_path / "unused.db").exists() and not (tmp_path / "unused.db.lock").exists()
    dedup = newsdedup("-q", "dedup", "--config", str(cfg), "--store", url)
    assert dedup.returncode == 0, dedup.stderr
    report = newsdedup("-q", "report", "--config", str(cfg), "--store", url, "--format", "json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["articles"] == len(pages) and doc["clusters"]
    with S.open_store(url) as st:
        assert st.consistency_errors() == []
        assert st.frontier_counts() == {"done": len(pages)}


def _tier(monkeypatch, limit: int) -> None:
    """A write-tier policy whose limit is ``limit`` rows at any index size (0: no tier)."""
    import store.dedup._pass as D

    monkeypatch.setattr(D, "RECENT_SHARE", 1e18)
    monkeypatch.setattr(D, "RECENT_FLOOR", 0)
    monkeypatch.setattr(D, "RECENT_CAP", limit)
    monkeypatch.setattr(D, "FOLD_SHARE", 1e18)


def _dedup_rows(st: S.Store, *, cluster_ids: bool = True) -> dict[str, list]:
    """Every table the dedup pass writes, rows sorted; each table and its write tier as
    one (the LSH index, the anchors, the article lines).

    Without ``cluster_ids``, clusters are named by their members: cluster ids record a
    store's history (a cluster keeps its id as it grows), the rest must not."""
    q = st._query
    rows = {
        "article_lines": q("SELECT * FROM all_article_lines"),
        "boilerplate": q("SELECT * FROM boilerplate"),
        "signatures": q("SELECT * FROM signatures"),
        "lsh": q("SELECT * FROM all_lsh_bands"),
        "anchors": q("SELECT * FROM all_anchors"),
        "few_anchors": q("SELECT * FROM few_anchors"),
        "edges": q("SELECT * FROM edges"),
        "resign": q("SELECT * FROM resign"),
        "line_counts": q("SELECT * FROM line_counts"),
        "memberships": q("SELECT * FROM memberships"),
        "clusters": q("SELECT * FROM clusters"),
    }
    if not cluster_ids:
        members: dict[int, list[int]] = {}
        for a, c, *_ in rows["memberships"]:
            members.setdefault(c, []).append(a)
        name = {c: tuple(sorted(ids)) for c, ids in members.items()}
        rows["memberships"] = [(a, name[c], *x) for a, c, *x in rows["memberships"]]
        rows["clusters"] = [(name[c], r) for c, r in rows["clusters"]]
    return {
        t: sorted(
            (tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in found),
            key=repr,
        )
        for t, found in rows.items()
    }


def _other_location(backend: str, tmp_path: Path, request, name: str) -> str:
    if backend == "sqlite":
        return str(tmp_path / f"{name}.db")
    return request.getfixturevalue("pg").create_database()


def _variation_records() -> list[S.ArticleRecord]:
    """Republisher variations of the fixture stories: outlets with footers and bylines,
    trims, edits, roundups, quotes, short copies (``crawler.fixtures.variations``)."""
    from crawler.fixtures.variations import fixture_stories, generate

    out = []
    for i, r in enumerate(generate(list(fixture_stories((1, 2))), 3, 150)):
        published = datetime.fromisoformat(r.published) if r.published else None
        out.append(
            S.ArticleRecord(
                url=r.url,
                host=r.url.split("/")[2],
                text=r.text,
                fetched=T0 + timedelta(minutes=i),
                publisher=r.publisher,
                published=published,
            )
        )
    return out


def test_a_bulk_loaded_store_is_the_store_the_pass_leaves(st, backend, tmp_path, request):
    """``load_store`` writes every table at once; the rows must be those of one
    ``dedup_store`` over the same articles, cluster ids included, and a cron history
    carried on from a bulk-loaded store must end where one that never was bulk-loaded does."""
    from store.dedup import load_store

    records = _variation_records()
    with st.transaction():
        for rec in records:
            st.add_article(rec)
    S.dedup_store(st, batch_size=len(records))
    expected = _dedup_rows(st)
    assert expected["boilerplate"] and any(not e[4] for e in expected["edges"])
    assert expected["few_anchors"], "short copies hold few anchors"
    with S.open_store(_other_location(backend, tmp_path, request, "bulk")) as bulk:
        result = load_store(bulk, records, chunk=40)
        assert result.signed == len(records) and result.boilerplate
        assert _dedup_rows(bulk) == expected
        assert bulk.consistency_errors() == []
        assert S.dedup_store(bulk).signed == 0
        with pytest.raises(S.StoreError, match="empty store"):
            load_store(bulk, records[:1])
    with S.open_store(_other_location(backend, tmp_path, request, "part")) as part:
        load_store(part, records[:90], chunk=25)
        rnd = random.Random(7)
        at = 90
        while at < len(records):
            step = rnd.randint(1, 20)
            with part.transaction():
                for rec in records[at : at + step]:
                    part.add_article(rec)
            S.dedup_store(part, batch_size=rnd.choice((3, 8, 1000)))
            at += step
        assert _dedup_rows(part, cluster_ids=False) == _dedup_rows(st, cluster_ids=False)
        assert part.consistency_errors() == []


def test_a_bulk_load_keeps_nothing_it_cannot_finish(tmp_path):
    """A duplicate URL is refused before anything is signed, and the store is left with
    its indexes (a later load into a fresh store works)."""
    from store.dedup import load_store

    records = _variation_records()[:20]
    with S.open_store(tmp_path / "s.db") as st:
        with pytest.raises(S.StoreError):
            load_store(st, records + records[:1], chunk=8)
        names = {r[0] for r in st._query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "article_lines_by_key" in names
        assert st._query("SELECT COUNT(*) FROM signatures")[0][0] == 0


@pytest.mark.parametrize("limit", [1, 100, 700, 2_000, 10**9])
def test_compacting_the_lsh_write_tier_at_any_point_changes_nothing(st, monkeypatch, limit):
    """New bands go to a write tier until it holds ``limit`` rows, then to the next, and
    the tiers are folded into lsh_bands once the last is full (or the bands go straight
    into lsh_bands with no tier): wherever the tiers fill and fold, the pass must store
    the same pairs and clusters as with no tier at all."""
    texts = {}
    for s in range(6):
        base = story(200 + s)
        texts |= {
            f"s{s}a": base,
            f"s{s}b": "Local intro line. " + base,
            f"s{s}c": " ".join(base.split()[:250]),
        }
    names = sorted(texts, key=lambda n: (n[-1], n))  # copies arrive in later batches
    for i, name in enumerate(names[:9]):
        add(st, name, texts[name], hours=i)
    _tier(monkeypatch, limit)
    first = S.dedup_store(st, batch_size=4)  # an empty index: no tier yet
    main = st._count("lsh_bands")
    for i, name in enumerate(names[9:], start=9):
        add(st, name, texts[name], hours=i)
    second = S.dedup_store(st, batch_size=4)
    compactions = first.compactions + second.compactions
    rows = st.counts()["lsh_bands"]
    assert (compactions + second.tiers_filled > 0) == (limit < rows - main)
    held = [st._count(table) for table in LSH.tiers]
    last, filling = st.write_tier(S.DedupConfig().lsh.bands)
    assert filling == held[last]  # counted by one band, exactly
    assert all(held[:last]) and not any(held[last + 1 :])  # the tiers fill in order
    assert all(n >= limit for n in held[:last])  # and each before the last is full
    # the anchors' and lines' tiers are filled beside them and folded with them
    assert (st._count("anchors_recent") > 0) == (st.recent_band_rows() > 0)
    assert compactions or st._count("article_lines_recent") > 0
    tiered = _dedup_rows(st)
    _tier(monkeypatch, 0)
    again = S.dedup_store(st, rebuild=True, batch_size=4)
    assert again.compactions == 0 and st.recent_band_rows() == 0
    assert _dedup_rows(st) == tiered
    assert len(set(clusters(st).values())) == 6
    assert st.consistency_errors() == []


def test_full_tiers_wait_for_the_last_and_are_folded_together(st, monkeypatch):
    """Where the cap holds a tier under its share, a full write tier is left as it is and
    the next one takes new rows; the fold comes once the last is full and empties them
    all: the main tables change only then, and the stored rows are those of a store
    that never had a tier."""
    for s in range(4):
        add(st, f"base{s}", story(400 + s), hours=s)
    S.dedup_store(st)  # no tier yet: straight into the main tables
    real, folds = st.compact_tiers, []

    def main_rows() -> tuple[int, ...]:
        return tuple(st._count(index.main) for index in (LSH, ANCHORS, LINES))

    def watched() -> None:
        assert all(st._count(table) for table in LSH.tiers + ANCHORS.tiers)  # all full
        before = main_rows()
        real()
        assert all(g > b for g, b in zip(main_rows(), before, strict=True))
        assert not any(st._count(t) for t in LSH.tiers + ANCHORS.tiers + LINES.tiers)
        folds.append(before)

    monkeypatch.setattr(st, "compact_tiers", watched)
    _tier(monkeypatch, 100)  # about three articles' bands
    filled = 0
    for s in range(4 * st.write_tiers):  # about 18 articles fill the tiers
        add(st, f"s{s}a", story(420 + s), hours=10 + s)
        add(st, f"s{s}b", "Local intro line. " + story(420 + s), hours=10.5 + s)
        before = main_rows()
        run = S.dedup_store(st, batch_size=4)
        filled += run.tiers_filled
        assert run.compactions or main_rows() == before
    moves = len(folds) * (st.write_tiers - 1)  # each fold's tiers but the last, filled
    assert len(folds) >= 2 and moves <= filled <= moves + st.write_tiers - 1
    tiered = _dedup_rows(st)
    _tier(monkeypatch, 0)
    S.dedup_store(st, rebuild=True)
    assert _dedup_rows(st) == tiered
    assert len(set(clusters(st).values())) == 4 + 4 * st.write_tiers
    assert st.consistency_errors() == []


class _Killed(Exception):
    """Stands for the process dying in the middle of a fold."""


def _fill_a_tier(st: S.Store, monkeypatch, *, spread: bool = False) -> None:
    """Four stories straight into the main tables, then copies of them into write tiers
    that never fill (an empty main index has no tier); where ``spread``, the rows of
    half the copies moved on to the second tier, as a tier filled before them holds."""
    _tier(monkeypatch, 10**9)
    for s in range(4):
        add(st, f"s{s}a", story(300 + s), hours=s)
    S.dedup_store(st)
    for s in range(4):
        add(st, f"s{s}b", "Local intro line. " + story(300 + s), hours=s + 0.5)
    S.dedup_store(st)
    if spread:
        with st.transaction():
            for index in (LSH, ANCHORS, LINES):
                first, second, half = index.tier(0), index.tier(1), "article_id % 2 = 0"
                st._execute(
                    f"INSERT INTO {second} ({index.columns}) SELECT {index.columns}"
                    f" FROM {first} WHERE {half}"
                )
                st._execute(f"DELETE FROM {first} WHERE {half}")
                assert st._count(first) and st._count(second)


@pytest.mark.parametrize("killed", ["anchors", "lines"])
@pytest.mark.parametrize("spread", [False, True])
def test_a_fold_killed_between_key_ranges_leaves_each_anchor_and_line_in_one_table(
    st, monkeypatch, spread, killed
):
    """The anchors' and lines' tiers are folded a key range per transaction, moved and
    deleted together, from one write tier or several. Killed after the first range of
    either, every row must stand in exactly one table, so that every read through the
    views is unchanged (a line counted twice would change its holders), the store must
    pass its checks, and the next fold must finish the move and leave every index as it
    was."""
    import store.backends._base as B

    monkeypatch.setattr(B, "_FOLD_MIN_ROWS", 1)  # several ranges out of a small tier
    _fill_a_tier(st, monkeypatch, spread=spread)
    index = ANCHORS if killed == "anchors" else LINES

    def tiered(index) -> int:
        return sum(st._count(table) for table in index.tiers)

    def reads() -> tuple:
        anchors = sorted(st._query("SELECT anchor, article_id FROM all_anchors"))
        lines = sorted(st._query("SELECT * FROM all_article_lines"))
        keys = sorted({k for _, _, k, *_ in lines})
        return (
            anchors,
            lines,
            sorted(st._query("SELECT article_id, anchor FROM all_anchors WHERE article_id <= 3")),
            {a: sorted(held) for a, held in st.lines_held(sorted({r[0] for r in lines})).items()},
            st.anchor_matches(sorted({a for a, _ in anchors})),
            st.line_holders(keys),
        )

    def indexes() -> dict[str, list]:
        return {t: st._secondary_indexes(t) for i in (ANCHORS, LINES) for t in i.tables}

    before, indexed = reads(), indexes()
    moving = tiered(index)
    assert tiered(ANCHORS) > 20 and tiered(LINES) > 2
    assert all(indexed[name] for i in (ANCHORS, LINES) for name in i.tiers)
    assert st._count("anchors") and st._count("article_lines")

    real, ranges = st._execute, []

    def dying(sql, params=()):
        if sql.startswith(f"INSERT INTO {index.main} "):
            if len(ranges) == 1:
                raise _Killed
            ranges.append(params)
        return real(sql, params)

    monkeypatch.setattr(st, "_execute", dying)
    with pytest.raises(_Killed):
        st.compact_tiers()
    monkeypatch.setattr(st, "_execute", real)
    assert 0 < tiered(index) < moving  # one range moved
    # where the fold dropped the tiers' index by article, reads by article scan them
    loose = {name for name, _ in index.loose_indexes}
    assert loose
    dropped = loose - {n for t in index.tiers for n, _ in st._secondary_indexes(t)}
    assert dropped == (loose if st._fold_drops_loose_indexes else set())
    assert reads() == before
    assert st.consistency_errors() == []

    st.compact_tiers()
    assert tiered(ANCHORS) == tiered(LINES) == 0
    assert reads() == before
    assert st.consistency_errors() == []
    assert indexes() == indexed  # made again, as they were


@pytest.mark.parametrize("spread", [False, True])
def test_a_fold_killed_between_bands_keeps_its_progress_and_changes_no_lookup(
    st, monkeypatch, spread
):
    """``compact_tiers`` moves a band per transaction, from one write tier or several, and
    empties the tiers last. Killed after two bands, the moved rows stand in two tables:
    every lookup must still list each article once (a holder listed twice counts twice
    against the cap on a key's holders), the store must pass its checks, and the next
    fold must leave exactly the index an unbroken one leaves, with what the killed one
    moved kept."""
    _fill_a_tier(st, monkeypatch, spread=spread)
    tiers = " UNION ALL ".join(f"SELECT band, bucket, article_id FROM {t}" for t in LSH.tiers)
    main = sorted(st._query("SELECT band, bucket, article_id FROM lsh_bands"))
    tier = sorted(st._query(tiers))
    assert main and tier
    keys = sorted({(b, k) for b, k, _ in main + tier})
    before = st.band_matches(keys)
    assert any(len(ids) > 1 for ids in before.values())  # the copies share buckets

    real, moved = st._execute, []

    def dying(sql, params=()):
        if sql.startswith("INSERT INTO lsh_bands"):
            if len(moved) == 2:
                raise _Killed
            moved.append(params[0])
        return real(sql, params)

    monkeypatch.setattr(st, "_execute", dying)
    with pytest.raises(_Killed):
        st.compact_tiers()
    monkeypatch.setattr(st, "_execute", real)

    folded = sorted(st._query("SELECT band, bucket, article_id FROM lsh_bands"))
    assert folded == sorted(main + [r for r in tier if r[0] in moved])  # two bands, kept
    assert sorted(st._query(tiers)) == tier
    assert st.band_matches(keys) == before
    assert st.consistency_errors() == []

    st.compact_tiers()
    assert sorted(st._query("SELECT band, bucket, article_id FROM lsh_bands")) == sorted(
        main + tier
    )
    assert st.recent_band_rows() == 0
    assert st.band_matches(keys) == before


def test_the_write_tier_grows_with_the_index_up_to_a_cap_and_small_stores_have_none():
    from store.dedup._pass import RECENT_CAP, RECENT_FLOOR, RECENT_SHARE, recent_limit

    smallest = int(RECENT_FLOOR / RECENT_SHARE)
    assert recent_limit(0) == recent_limit(smallest - 100) == 0
    assert recent_limit(smallest) == RECENT_FLOOR
    assert recent_limit(smallest * 2) == 2 * RECENT_FLOOR
    assert recent_limit(10**12) == RECENT_CAP


def test_more_tiers_fill_before_a_fold_only_where_the_cap_holds_a_tier_under_its_share():
    from store.dedup._pass import RECENT_CAP, RECENT_SHARE, recent_limit, tiers_per_fold

    uncapped = int(RECENT_CAP / RECENT_SHARE)  # the largest index whose tier is not capped
    for indexed in (0, 10**5, 10**7, uncapped):
        assert tiers_per_fold(indexed, recent_limit(indexed)) == 1
    assert tiers_per_fold(2 * uncapped, recent_limit(2 * uncapped)) == 2
    assert tiers_per_fold(8 * uncapped, recent_limit(8 * uncapped)) == 8  # the store: 3
