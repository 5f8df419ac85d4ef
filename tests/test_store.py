"""The SQLite store, the dedup engine and the reports, on a real store file."""

from __future__ import annotations

import csv
import gc
import io
import json
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from datasketch.lsh import _optimal_param

import store as S
import store.dedup as D
import store.report as R
from store.backends._schema import SCHEMA_VERSION
from store.backends._sqlite import PAGE_SIZE
from tests.builders import story

pytestmark = pytest.mark.quick

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


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


@pytest.fixture
def st(tmp_path):
    with S.open_store(tmp_path / "store.db") as s:
        yield s


def clusters(st: S.Store) -> dict[str, int]:
    ids = st.article_ids()
    of = st.clusters_of(ids)
    return {a.url.rsplit("/", 1)[1]: of[a.id] for a in st.articles(ids)}


def test_new_store_has_current_schema_and_wal(tmp_path):
    with S.open_store(tmp_path / "s.db") as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert st._query("PRAGMA journal_mode") == [("wal",)]


def test_new_store_takes_large_pages_and_an_old_one_keeps_its_own(tmp_path):
    with S.open_store(tmp_path / "new.db") as st:
        assert st._query("PRAGMA page_size") == [(PAGE_SIZE,)]
        assert PAGE_SIZE != 4096
    # a store made with SQLite's default pages, as every store before this was
    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.execute("PRAGMA page_size = 4096")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    with S.open_store(old) as st:
        add(st, "x", story(1))
        add(st, "y", story(1))
        assert st._query("PRAGMA page_size") == [(4096,)]
        D.dedup_store(st)
    with S.open_store(old) as st:
        assert st._query("PRAGMA page_size") == [(4096,)]
        assert len(set(clusters(st).values())) == 1
        assert st.integrity_errors() == []


def test_file_that_is_not_a_store_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(S.StoreCorrupt, match="junk.db"):
        S.open_store(path)


def test_copies_trimmed_copies_and_edits_cluster_hard_negatives_do_not(st):
    wire = story(1)
    quotes = "The minister said the plan was unprecedented and would change the region."
    add(st, "original", wire + " " + quotes)
    add(st, "copy", "Local readers will recall last week. " + wire, hours=1)
    half = wire[: len(wire) // 2]
    add(st, "trimmed", half, hours=2)
    add(st, "edited", wire.replace("w1 ", "w2 ").upper(), hours=3)
    add(st, "negative", story(99) + " " + quotes, hours=4)  # same quote, different story
    add(st, "own", story(5), hours=5)
    S.dedup_store(st)
    c = clusters(st)
    assert c["original"] == c["copy"] == c["trimmed"] == c["edited"]
    assert c["negative"] not in (c["original"], c["own"])
    assert c["own"] != c["original"]


def test_short_bodies_are_never_clustered(st):
    chrome = "Subscribe to our newsletter for the latest news."
    add(st, "a", chrome)
    add(st, "b", chrome, hours=1)
    result = S.dedup_store(st)
    assert result.too_short == 2
    c = clusters(st)
    assert c["a"] != c["b"]


def test_no_chaining_through_a_weak_link(st):
    """R is a roundup: the first half of story X, then the first half of story Y. R covers
    a trim of each; X and Y share nothing and stay apart, and R joins neither.

    (Until the order-independent engine, this test had A = B's first half and C = its
    second half apart; both are trims of B and now belong to B's story, which is what a
    newsroom means by "a copy of B".)"""
    x, y = story(7, 600).split(), story(8, 600).split()
    add(st, "x", " ".join(x))
    add(st, "y", " ".join(y), hours=1)
    add(st, "r", " ".join(x[:300] + y[:300]), hours=2)
    add(st, "x-trim", " ".join(x[:250]), hours=3)
    add(st, "y-trim", " ".join(y[:250]), hours=4)
    S.dedup_store(st)
    c = clusters(st)
    assert c["x-trim"] == c["x"] and c["y-trim"] == c["y"]
    assert len({c["x"], c["y"], c["r"]}) == 3


def test_halves_of_one_story_join_it(st):
    b = story(7, 800)
    words = b.split()
    add(st, "a", " ".join(words[: len(words) // 2]))
    add(st, "b", b, hours=1)
    add(st, "c", " ".join(words[len(words) // 2 :]), hours=2)
    S.dedup_store(st)
    c = clusters(st)
    assert c["a"] == c["b"] == c["c"]


def test_changed_signature_parameters_demand_a_rebuild(st):
    add(st, "a", story(1))
    S.dedup_store(st)
    add(st, "b", story(2))
    with pytest.raises(S.StoreError, match="--rebuild"):
        S.dedup_store(st, S.DedupConfig(num_perm=64))
    S.dedup_store(st, S.DedupConfig(num_perm=64), rebuild=True)
    assert st.counts()["signatures"] == 2


def test_stored_signature_rebuilds_a_datasketch_minhash(st):
    a, b = story(1), story(1)[:1500] + story(3)[:1500]
    add(st, "a", a)
    add(st, "b", b)
    S.dedup_store(st)
    rows = st._query("SELECT minhash FROM signatures ORDER BY article_id")
    hasher = D.MinHasher(128, 1)
    ma, mb = (hasher.to_datasketch(D.signature_from_bytes(r[0])) for r in rows)
    sa, sb = D.shingle_hashes(a), D.shingle_hashes(b)
    direct = [hasher.to_datasketch(x) for x in hasher.signatures([sa, sb])]
    assert ma.jaccard(mb) == direct[0].jaccard(direct[1])
    assert 0.0 < ma.jaccard(mb) < 1.0


@pytest.mark.parametrize("threshold,num_perm", [(0.3, 128), (0.5, 128), (0.8, 64), (0.9, 256)])
def test_lsh_parameters_match_datasketch(threshold, num_perm):
    p = D.optimal_params(threshold, num_perm)
    assert (p.bands, p.rows) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_origin_is_earliest_published_and_reports_agree(st):
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
        agency="Meridian Press",
    )
    add(st, "alone", story(4), hours=7)
    S.dedup_store(st)
    cl = S.load_clusters(st)
    assert len(cl) == 1
    assert cl[0].origin.article.url.endswith("/agency")
    doc = json.loads(S.render(S.build_report(st), "json"))
    assert doc["version"] == R.REPORT_VERSION and doc["articles"] == 3
    members = doc["clusters"][0]["members"]
    assert [m["is_origin"] for m in members] == [True, False]
    assert members[1]["copied"] > 0.95
    rows = list(csv.DictReader(io.StringIO(R.render_csv(cl))))
    assert list(rows[0]) == list(R.MEMBER_COLUMNS) and len(rows) == 2
    text = S.render(S.build_report(st), "text")
    assert "origin: Meridian Press" in text and "http://news.test/late" in text


def test_pairwise_scores():
    truth = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 3}
    perfect = S.pairwise_scores(dict(truth), truth)
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.ari) == (1, 1, 1, 1)
    merged = S.pairwise_scores({"a": 1, "b": 1, "c": 1, "d": 1, "e": 3}, truth)
    assert merged.recall == 1.0 and merged.precision == pytest.approx(3 / 6)
    split = S.pairwise_scores({"a": 1, "b": 1, "c": 2, "d": 3, "e": 4}, truth)
    assert split.precision == 1.0 and split.recall == pytest.approx(1 / 3)


def test_run_lock_excludes_a_second_process(tmp_path):
    lock = tmp_path / "s.db.lock"
    code = (
        "import sys; from store import RunLock, AlreadyRunning\n"
        "try:\n    RunLock(sys.argv[1]).acquire()\nexcept AlreadyRunning as e:\n"
        "    print(e); sys.exit(7)\n"
    )
    with S.RunLock(lock):
        other = subprocess.run(
            [sys.executable, "-c", code, str(lock)], capture_output=True, text=True
        )
        assert other.returncode == 7 and "already running" in other.stdout
    free = subprocess.run([sys.executable, "-c", code, str(lock)], capture_output=True)
    assert free.returncode == 0


def cjk_story(seed: int, chars: int = 400) -> str:
    rnd = random.Random(seed)
    common = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    return "".join(rnd.choice(common) + ("。" if rnd.random() < 0.05 else "") for _ in range(chars))


def test_cjk_copies_cluster_by_character_shingles(st):
    a, b = cjk_story(1), cjk_story(2)
    add(st, "zh-original", a)
    add(st, "zh-copy", "本报讯 " + a[: int(len(a) * 0.8)], hours=1)
    add(st, "zh-other", b, hours=2)
    S.dedup_store(st)
    c = clusters(st)
    assert len(D.shingle_hashes(a)) > 300  # character n-grams, not one "word"
    assert c["zh-original"] == c["zh-copy"]
    assert c["zh-other"] != c["zh-original"]


def test_due_urls_interleave_hosts(st):
    """Claimed in URL order, a batch was all one host and workers queued behind it."""
    items = [
        S.FrontierItem(url=f"http://{h}.test/{n:03d}", host=f"{h}.test", source="s")
        for h in "abcd"
        for n in range(50)
    ]
    with st.transaction():
        st.frontier_add(items)
    first = st.frontier_pending(16)
    assert len({i.host for i in first}) == 4


@pytest.mark.parametrize("enabled", [True, False])
def test_a_pass_pauses_the_cyclic_collector_per_batch_and_restores_it(st, monkeypatch, enabled):
    """The collector is off while a batch runs (it cost a seventh of a pass for nothing)
    and as the caller had it after the pass, also after a batch that failed."""
    for i in range(4):
        add(st, f"a{i}", story(40 + i % 2), hours=i)
    seen = []
    put_edges = st.put_edges

    def watched(rows):
        seen.append(gc.isenabled())
        return put_edges(rows)

    monkeypatch.setattr(st, "put_edges", watched)
    (gc.enable if enabled else gc.disable)()
    try:
        S.dedup_store(st)
        assert seen == [False] and gc.isenabled() is enabled

        def failing(rows):
            raise S.StoreFull("disk full while writing pairs")

        monkeypatch.setattr(st, "put_edges", failing)
        add(st, "late", story(40), hours=9)
        with pytest.raises(S.StoreFull):
            S.dedup_store(st)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
