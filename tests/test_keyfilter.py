"""The key filters of the main tables (``store.backends._keyfilter``): a filter may let
an absent key through, never rule out a present one, and stands for the main tables
only while the store's token is the one it was written under."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import store as S
from store.backends import _keyfilter as kf
from store.backends._levels import ANCHORS, LINES, LSH
from tests.builders import story
from tests.test_backends import _dedup_rows, _Killed, _tier, add, clusters, revise

pytestmark = pytest.mark.quick

keys64 = hs.lists(hs.integers(-(2**63), 2**63 - 1), max_size=300)


@settings(max_examples=60, deadline=None)
@given(keys64, hs.integers(0, 40), hs.integers(1, 5000))
def test_a_filter_never_rules_out_a_key_it_was_given(keys, band, size):
    section = kf.build(size, [kf.key_hashes(keys, [band] * len(keys))])
    assert section.may_hold(keys, [band] * len(keys)).all()
    assert section.keys == len(keys)


@settings(max_examples=200, deadline=None)
@given(hs.integers(-(2**63), 2**63 - 1), hs.integers(0, 63))
def test_sql_prefixes_a_key_as_the_filter_does(bucket, band):
    """A scan hands over one integer a row, the band XORed into the bucket in SQL."""
    import sqlite3

    sql = "SELECT " + kf.prefixed_sql("?1", "?2")
    (key,) = sqlite3.connect(":memory:").execute(sql, (bucket, band)).fetchone()
    assert kf.key_hashes([key]) == kf.key_hashes([bucket], [band])


def test_about_one_absent_key_in_a_hundred_passes_at_its_size():
    rng = np.random.default_rng(7)
    held, absent = rng.integers(-(2**63), 2**63 - 1, size=(2, 200_000), dtype=np.int64)
    section = kf.build(len(held), [kf.key_hashes(held)])
    assert section.may_hold(held).all()
    assert 0.002 < section.may_hold(absent).mean() < 0.03
    # a bucket is looked up under its band: the same bucket in another band is absent
    bands = rng.integers(0, 37, size=len(held))
    section = kf.build(len(held), [kf.key_hashes(held, bands)])
    assert section.may_hold(held, (bands + 1) % 37).mean() < 0.03


@settings(max_examples=40, deadline=None)
@given(
    hs.lists(hs.integers(0, 2**64 - 1), max_size=400),
    hs.lists(hs.integers(0, 2**64 - 1), max_size=400),
    hs.integers(1, 300),
    hs.integers(1, 64),
)
def test_a_filter_extended_a_slice_at_a_time_is_the_filter_of_all_its_keys(
    tmp_path_factory, first, more, blocks, slice_blocks
):
    """A fold extends the stored filter by copying it a slice of blocks at a time and
    setting the moved keys' bits in each: bit for bit what adding every key to one table
    in memory gives, whatever the slices' edges (hashes at a block's first value, the
    last hash of all)."""
    edges = [kf.first_hash(b, blocks) for b in range(blocks)][:50]
    more = more + edges + [2**64 - 1]
    first_h, more_h = (np.array(x, dtype=np.uint64) for x in (first, more))
    path = tmp_path_factory.mktemp("kf") / "s.db-keys"
    base = np.zeros((blocks, 8), dtype=np.uint32)
    kf.add(base, first_h)
    writer = kf.Writer(path, 7)
    writer.add("t", kf.Section(base, len(first)))
    writer.commit()
    stored = kf.read(path).sections["t"].stored
    extended = path.with_name("extended")
    writer = kf.Writer(extended, 8)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kf, "_SLICE_BLOCKS", slice_blocks)
        chunks = [more_h[:5], more_h[5:]]
        assert writer.extend("t", stored, chunks) == len(first) + len(more)
    assert chunks == []
    writer.commit()
    kf.add(base, more_h)
    got = kf.read(extended)
    assert got.token == 8 and got.sections["t"].keys == len(first) + len(more)
    assert np.array_equal(np.asarray(got.sections["t"].table), base)


def test_a_hash_outside_the_blocks_given_is_an_error_not_a_write_past_them():
    table = np.zeros((4, 8), dtype=np.uint32)
    inside = np.array([kf.first_hash(10, 20)], dtype=np.uint64)  # block 10 of 20
    kf.add(table, inside, 20, 8)  # blocks 8-11
    assert table[2].any() and not table[[0, 1, 3]].any()
    for first in (11, 4):  # blocks 11-14 and 4-7: 10 lies before, and after, them
        with pytest.raises(IndexError):
            kf.add(table, inside, 20, first)


def test_a_filter_file_is_read_back_whole_or_not_at_all(tmp_path):
    path = tmp_path / "store.db-keys"
    one = kf.build(100, [kf.key_hashes(list(range(100)))])
    two = kf.build(10, [kf.key_hashes([5, 6], [1, 2])])
    writer = kf.Writer(path, 123)
    writer.add("a", one)
    writer.add("b", two)
    writer.commit()
    back = kf.read(path)
    assert back is not None and back.token == 123
    assert back.sections["a"].may_hold(list(range(100))).all()
    assert back.sections["b"].may_hold([5, 6], [1, 2]).all()
    assert (np.asarray(back.sections["a"].table) == one.table).all()
    assert not path.with_name(path.name + ".tmp").exists()
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 64])  # torn: the last section is short
    assert kf.read(path) is None
    path.write_bytes(b"not a filter" + whole[12:])
    assert kf.read(path) is None
    assert kf.read(tmp_path / "missing") is None


@pytest.fixture
def sqlite_store(tmp_path):
    with S.open_store(tmp_path / "s.db") as st:
        yield st


def _main_keys(st) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    bands = [(int(b), int(k)) for b, k in st._query(f"SELECT band, bucket FROM {LSH.main}")]
    anchors = [int(a) for (a,) in st._query(f"SELECT anchor FROM {ANCHORS.main}")]
    lines = [int(k) for (k,) in st._query(f"SELECT key FROM {LINES.main}")]
    return bands, anchors, lines


def _covers_the_main_tables(st) -> bool:
    filters = st._key_filters()
    assert filters is not None
    bands, anchors, lines = _main_keys(st)
    assert bands and anchors and lines
    sections = filters.sections
    return bool(
        sections[LSH.main].may_hold([k for _, k in bands], [b for b, _ in bands]).all()
        and sections[ANCHORS.main].may_hold(anchors).all()
        and sections[LINES.main].may_hold(lines).all()
    )


def _grow(st, monkeypatch, first: int, n: int, limit: int = 40) -> list[S.DedupResult]:
    """``n`` stories and a copy of each, a dedup run per pair, through tiers of ``limit``."""
    _tier(monkeypatch, limit)
    runs = []
    for s in range(first, first + n):
        add(st, f"s{s}a", story(500 + s), hours=s)
        add(st, f"s{s}b", "Local intro line. " + story(500 + s), hours=s + 0.5)
        runs.append(S.dedup_store(st, batch_size=4))
    return runs


def test_a_fold_writes_a_filter_of_the_main_tables_and_the_next_extends_it(
    sqlite_store, monkeypatch
):
    st = sqlite_store
    for s in range(3):
        add(st, f"base{s}", story(480 + s), hours=s)
    S.dedup_store(st)  # no tier yet: straight into the main tables, no filter
    assert st._key_filters() is None and not st.key_filter_path.exists()
    runs = _grow(st, monkeypatch, 0, 4)
    assert sum(r.compactions for r in runs) >= 1
    first = st._key_filters()
    assert first is not None and _covers_the_main_tables(st)
    keys = {n: s.keys for n, s in first.sections.items()}
    table = np.array(first.sections[LSH.main].table)
    monkeypatch.setattr(kf, "REBUILD_BELOW", 1)  # never too full to extend, at this size
    runs = _grow(st, monkeypatch, 4, 6)
    assert sum(r.compactions for r in runs) >= 1
    second = st._key_filters()
    assert second is not None and second.token != first.token
    assert _covers_the_main_tables(st)
    # extended, not built again: the first filter's bits are all still set
    now = np.asarray(second.sections[LSH.main].table)
    assert now.shape == table.shape and ((now & table) == table).all()
    assert all(second.sections[n].keys > keys[n] for n in keys)
    # a filter grown past its size is built again from the main tables, larger
    monkeypatch.setattr(kf, "REBUILD_BELOW", 10**6)
    runs = _grow(st, monkeypatch, 10, 6)
    third = st._key_filters()
    assert third is not None and _covers_the_main_tables(st)
    assert len(third.sections[LSH.main].table) > len(table)
    assert third.sections[LSH.main].keys == st._count(LSH.main)


def test_lookups_with_the_filter_find_what_they_find_without_it(sqlite_store, monkeypatch):
    st = sqlite_store
    _grow(st, monkeypatch, 0, 8)
    assert st._key_filters() is not None
    bands, anchors, lines = _main_keys(st)
    rng = np.random.default_rng(3)
    absent = rng.integers(-(2**62), 2**62, 500).tolist()
    asked_bands = bands[::3] + [(b % 20, k) for b, k in enumerate(absent)]
    asked_anchors = anchors[::3] + absent
    asked_lines = lines[::3] + absent
    scope = st._query(f"SELECT scope FROM {LINES.main} LIMIT 1")[0][0]

    def lookups():
        return (
            st.band_matches(asked_bands),
            st.anchor_matches(asked_anchors),
            st.line_holders(asked_lines),
            st.holders(scope, asked_lines),
        )

    with_filter = lookups()
    assert all(with_filter)
    for index in (ANCHORS, LINES):  # the absent keys mostly never reach the main table
        assert sum(st._main_may_hold(index, absent)) < 50
    st.key_filter_path.unlink()
    st._filters = None
    assert st._key_filters() is None
    assert lookups() == with_filter


def test_a_write_to_a_main_table_outside_a_fold_retires_the_filter(sqlite_store, monkeypatch):
    st = sqlite_store
    _grow(st, monkeypatch, 0, 6)
    assert st._key_filters() is not None
    _tier(monkeypatch, 0)  # no tier: the next run files its rows in the main tables
    add(st, "late", story(999), hours=99)
    S.dedup_store(st)
    assert st._key_filters() is None
    assert st.key_filter_path.exists()  # still there, and ignored


def test_a_filter_beside_another_store_is_ignored(tmp_path, monkeypatch):
    with S.open_store(tmp_path / "a.db") as a, S.open_store(tmp_path / "b.db") as b:
        _grow(a, monkeypatch, 0, 6)
        _grow(b, monkeypatch, 10, 6)
        assert a._key_filters() is not None and b._key_filters() is not None
        shutil.copy(a.key_filter_path, b.key_filter_path)
        b._filters = None
        assert b._key_filters() is None


def test_a_store_restored_from_a_backup_does_not_read_the_newer_filter(tmp_path, monkeypatch):
    import sqlite3

    path = tmp_path / "s.db"
    with S.open_store(path) as st:
        _grow(st, monkeypatch, 0, 6)
        assert st._key_filters() is not None
        backup = sqlite3.connect(tmp_path / "backup.db")
        st._conn.backup(backup)
        backup.close()
        runs = _grow(st, monkeypatch, 6, 6)  # later folds: the filter moves on
        assert sum(r.compactions for r in runs) >= 1 and st._key_filters() is not None
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.db", path)
    with S.open_store(path) as st:
        assert st.key_filter_path.exists() and st._key_filters() is None


def test_a_killed_fold_leaves_no_filter_standing_and_the_next_fold_builds_one(
    sqlite_store, monkeypatch
):
    st = sqlite_store
    _grow(st, monkeypatch, 0, 6)
    assert st._key_filters() is not None
    real, calls = st._main_written, []

    def dies_on_the_third() -> None:
        real()
        calls.append(1)
        if len(calls) == 3:
            raise _Killed

    monkeypatch.setattr(st, "_main_written", dies_on_the_third)
    with pytest.raises(_Killed):
        _grow(st, monkeypatch, 6, 6)
    monkeypatch.setattr(st, "_main_written", real)
    assert st._key_filters() is None  # the moved rows are in no filter: none stands
    runs = _grow(st, monkeypatch, 20, 6)
    assert sum(r.compactions for r in runs) >= 1
    assert st._key_filters() is not None and _covers_the_main_tables(st)
    tiered = _dedup_rows(st)
    _tier(monkeypatch, 0)
    S.dedup_store(st, rebuild=True)
    assert _dedup_rows(st) == tiered
    assert st.consistency_errors() == []
    assert len(set(clusters(st).values())) == len(clusters(st)) // 2


def test_a_filter_that_cannot_be_written_is_said_and_the_run_goes_on(
    sqlite_store, monkeypatch, caplog
):
    st = sqlite_store
    Path(f"{st.key_filter_path}.tmp").mkdir()  # where the filter would be written
    runs = _grow(st, monkeypatch, 0, 6)
    assert sum(r.compactions for r in runs) >= 1
    assert "cannot write the key filters" in caplog.text
    assert st._key_filters() is None


def test_check_names_a_damaged_filter_and_passes_once_it_is_deleted(sqlite_store, monkeypatch):
    st = sqlite_store
    _grow(st, monkeypatch, 0, 6)
    filters = st._key_filters()
    assert filters is not None and st.consistency_errors() == []
    offset = filters.sections[LSH.main].stored.offset
    with st.key_filter_path.open("r+b") as f:  # every bit of the LSH filter cleared
        f.seek(offset)
        f.write(bytes(filters.sections[LSH.main].table.nbytes))
    st._filters = None
    problems = st.consistency_errors()
    assert len(problems) == 1 and "-keys: its filter of lsh_bands rules out" in problems[0]
    st.key_filter_path.unlink()
    st._filters = None
    assert st.consistency_errors() == []


# -- the full write tiers' filters ----------------------------------------------------------


def _sealed(st, monkeypatch) -> None:
    """Grow the store a story and its copy a run, through tiers of 200 band rows (about
    three runs each), until the third tier takes rows: the first two are full."""
    for s in range(40):
        _grow(st, monkeypatch, s, 1, limit=200)
        if st.write_tier(S.DedupConfig().lsh.bands)[0] == 2:
            return
    raise AssertionError("the tiers never filled")


def _tier_keys(st, slot: int) -> tuple[list, list, list]:
    return (
        st._query(f"SELECT band, bucket FROM {LSH.tier(slot)}"),
        [a for (a,) in st._query(f"SELECT anchor FROM {ANCHORS.tier(slot)}")],
        [k for (k,) in st._query(f"SELECT key FROM {LINES.tier(slot)}")],
    )


def test_a_full_tier_gets_a_filter_and_lookups_find_what_they_find_without_it(
    sqlite_store, monkeypatch
):
    st = sqlite_store
    _sealed(st, monkeypatch)
    assert st._tier_filter(0) is not None and st._tier_filter(1) is not None
    assert st._tier_filter(2) is None  # the tier taking rows has none
    rng = np.random.default_rng(5)
    absent = rng.integers(-(2**62), 2**62, 500).tolist()
    asked = [_tier_keys(st, slot) for slot in (0, 1, 2)]
    bands = [(int(b), int(k)) for a in asked for b, k in a[0]]
    anchors = [a for x in asked for a in x[1]]
    lines = [k for x in asked for k in x[2]]
    assert bands and anchors and lines
    scope = st._query(f"SELECT scope FROM {LINES.tier(0)} LIMIT 1")[0][0]

    def lookups():
        return (
            st.band_matches(bands + [(b % 20, k) for b, k in enumerate(absent)]),
            st.anchor_matches(anchors + absent),
            st.line_holders(lines + absent),
            st.holders(scope, lines + absent),
        )

    with_filters = lookups()
    for index in (LSH, ANCHORS, LINES):  # each full tier is asked for few absent keys
        held = st._tier_may_hold(index, index.tier(0), absent, [3] * len(absent))
        assert held is not None and sum(held) < 50
    assert st.consistency_errors() == []
    for slot in (0, 1):
        st.tier_filter_path(slot).unlink()
    st._tier_filters = {}
    assert st._tier_filter(0) is None
    assert lookups() == with_filters


def test_a_row_written_to_a_full_tier_retires_its_filter(sqlite_store, monkeypatch):
    """A tier takes no rows once full, but nothing in the store forbids it (the tier in
    use is the last one holding rows: one whose rows all went would hand rows back to
    the tier before it), and a filter that stood on would rule out what it took."""
    st = sqlite_store
    _sealed(st, monkeypatch)
    filters = st._tier_filter(0)
    assert filters is not None
    section = filters.sections[LSH.tier(0)]
    bucket = next(b for b in range(10**6, 10**7) if not section.may_hold([b], [0])[0])
    article = int(st._query(f"SELECT MAX(article_id) FROM {LSH.tier(0)}")[0][0])
    with st.transaction():
        st.put_bands([(0, bucket, article)], slot=0)
    assert st._tier_filter(0) is None
    assert st.band_matches([(0, bucket)]) == {(0, bucket): [article]}
    assert st.consistency_errors() == []


def test_the_fold_removes_the_tier_filters_and_check_names_a_damaged_one(sqlite_store, monkeypatch):
    st = sqlite_store
    _sealed(st, monkeypatch)
    filters = st._tier_filter(0)
    assert filters is not None
    stored = filters.sections[ANCHORS.tier(0)].stored
    with st.tier_filter_path(0).open("r+b") as f:  # every bit of the anchors' filter cleared
        f.seek(stored.offset)
        f.write(bytes(stored.blocks * 32))
    st._tier_filters = {}
    problems = st.consistency_errors()
    assert (
        len(problems) == 1
        and "-keys-tier0: its filter of anchors_recent rules out" in (problems[0])
    )
    for s in range(6):
        if _grow(st, monkeypatch, 100 + s, 1, limit=200)[0].compactions:
            break
    else:
        raise AssertionError("no fold")
    assert not st.tier_filter_path(0).exists() and not st.tier_filter_path(1).exists()
    assert st.consistency_errors() == []


def test_a_tier_filter_that_cannot_be_written_is_said_and_lookups_read_the_tier(
    sqlite_store, monkeypatch, caplog
):
    st = sqlite_store
    Path(f"{st.tier_filter_path(0)}.tmp").mkdir()  # where the filter would be written
    _sealed(st, monkeypatch)
    assert "cannot write a write tier's key filters" in caplog.text
    assert st._tier_filter(0) is None and st._tier_filter(1) is not None
    bands, anchors, _ = _tier_keys(st, 0)
    assert set(st.band_matches([(int(b), int(k)) for b, k in bands])) == {
        (int(b), int(k)) for b, k in bands
    }
    assert set(st.anchor_matches(anchors)) == set(anchors)


_steps = hs.lists(
    hs.one_of(
        hs.tuples(hs.just("add"), hs.integers(0, 30)),
        hs.tuples(hs.just("revise"), hs.integers(0, 99)),
    ),
    min_size=6,
    max_size=14,
)


@settings(max_examples=6, deadline=None)
@given(_steps, hs.integers(90, 260))
def test_the_tier_filters_change_no_result_whatever_the_history(tmp_path_factory, steps, limit):
    """The same history (stories and their copies added, stored articles rewritten,
    which takes their rows out of the tiers, a run after each step, through tiers of
    ``limit`` band rows) on a store with the full tiers' filters and on one without:
    every table the pass writes must end the same."""
    import store.backends._sqlite as L

    folder = tmp_path_factory.mktemp("tiers")
    seals = []
    with pytest.MonkeyPatch.context() as mp:
        _tier(mp, limit)
        real = L.SQLiteStore._seal
        mp.setattr(L.SQLiteStore, "_seal", lambda self, *a: (seals.append(a), real(self, *a)))
        ends = []
        for sealed in (True, False):
            if not sealed:
                mp.setattr(L.SQLiteStore, "seal_tiers", lambda self, below: None)
            with S.open_store(folder / f"{sealed}.db") as st:
                names: list[str] = []
                for n, (kind, arg) in enumerate(steps):
                    if kind == "add" or not names:
                        for copy in "ab":
                            name = f"s{n}{copy}"
                            intro = "Local intro line. " if copy == "b" else ""
                            add(st, name, intro + story(600 + arg), hours=n)
                            names.append(name)
                    else:
                        revise(st, names[arg % len(names)], story(700 + n))
                    S.dedup_store(st, batch_size=4)
                assert st.consistency_errors() == []
                ends.append(_dedup_rows(st))
    assert ends[0] == ends[1]
    adds = sum(kind == "add" for kind, _ in steps)
    if 74 * (adds - 1) > 2 * limit:  # a tier filled and the next took over
        assert seals
