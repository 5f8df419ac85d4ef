"""A whole corpus into an empty store at once: what ``dedup_store`` leaves, one sorted
insert per table.

Signing a store's first million articles run by run pays, for every row of every index, a
B-tree insert at a random place. ``load_store`` instead computes the batch engine's steps
(``_batch``: lines, boilerplate, content, signatures, bands and anchors, verified pairs,
soft pairs, components and leaders) over the whole corpus and writes each table once, in
its key order, its secondary indexes built after the load. The store it leaves is the one
a single ``dedup_store`` over the same articles, in one batch, would leave, row for row:
a cluster takes its probable origin's id, LSH bands are in the main index (as after a
compaction), and later cron runs carry on from it.

Memory stays bounded whatever the corpus: texts are read back from the store a chunk at a
time, LSH bands and anchors are spilled to one file per band and per anchor range and
sorted a file at a time, and the content 3-gram sets live in a memory-mapped file.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO

import numpy as np

from store._exceptions import StoreError
from store._models import ArticleRecord, StoredArticle
from store._time import to_db_time
from store.backends import Store

from ._batch import (
    candidate_partitions,
    candidate_rows,
    copy_pairs,
    linked,
    sample_key,
    scope_of,
)
from ._clusters import probable_origin
from ._config import DedupConfig, DedupResult
from ._content import content_of
from ._graph import (
    STRONG,
    anchor_weights,
    candidate_codes,
    component_members,
    decode_pairs,
    holds_few_anchors,
    pair_codes,
    weighted_pair_codes,
)
from ._leaders import Item, cluster_component
from ._lines import first_lines
from ._lsh import band_buckets
from ._minhash import MinHasher, signature_to_bytes
from ._pass import decide_lines
from ._scratch import scratch_folder
from ._units import units_of
from ._verify import compare, compare_pairs

# Anchors (32-bit) are spilled by their top bits, each file sorted alone. A sentence's
# anchor is the least of its windows' hashes, so small values are common: 256 files keep
# the largest (the first) near 6% of all anchors.
_ANCHOR_BITS = 8
_ROWS_PER_COMMIT = 1_000_000
# Candidate pair rows are summed a partition at a time: at ten million articles, over a
# billion rows, some 20 million (under 0.5 GiB to sum) in each of 64.
_CANDIDATE_PARTS = 64

log = logging.getLogger("newsdedup.dedup")


def load_store(
    store: Store,
    records: Iterable[ArticleRecord],
    cfg: DedupConfig | None = None,
    *,
    chunk: int = 10_000,
    workers: int = 1,
    workdir: str | Path | None = None,
) -> DedupResult:
    """Store ``records`` (distinct URLs) in an empty store, signed and clustered.

    ``workers`` processes share the text work (lines, content, signatures); spill files go
    to a temporary folder in ``workdir`` (the system's by default), about 60 bytes per
    article per LSH band and anchor plus 4 per content 3-gram.
    """
    cfg = cfg or DedupConfig()
    with ExitStack() as stack:
        stack.enter_context(store.dedup_lock())
        if store.article_count():
            raise StoreError(f"{store.location}: a corpus is loaded only into an empty store")
        stack.enter_context(store.bulk_session())
        tmp = stack.enter_context(scratch_folder("load", workdir))
        pool: Executor | None = None
        if workers > 1:
            pool = stack.enter_context(ProcessPoolExecutor(workers, get_context("fork")))
        return _Load(store, cfg, tmp, chunk, pool).run(records)


@dataclass
class _Signed:
    """Per article (by index: id - first id): what clustering needs after signing."""

    shingles: np.ndarray  # int64 content 5-gram counts
    digests: np.ndarray  # uint64 content hashes
    offsets: np.ndarray  # int64 bounds of each 3-gram set in ``values``
    values: np.ndarray  # uint32 3-gram sets, memory-mapped
    anchors: np.ndarray  # int64 anchor counts

    def verify(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]


class _Load:
    def __init__(
        self, store: Store, cfg: DedupConfig, tmp: Path, chunk: int, pool: Executor | None
    ) -> None:
        self.store, self.cfg, self.t = store, cfg, cfg.thresholds
        self.tmp, self.chunk, self.pool = tmp, chunk, pool
        self.result = DedupResult()

    def _map(self, fn, tasks: Iterable) -> Iterator:  # noqa: ANN001
        return self.pool.map(fn, tasks) if self.pool else map(fn, tasks)

    def run(self, records: Iterable[ArticleRecord]) -> DedupResult:
        step = _Steps(self.store.location)
        first, n = self._articles(records)
        step.done(f"{n:,} articles and their lines stored")
        if not n:
            return self.result
        learned = self._learn()
        step.done(f"{self.result.boilerplate:,} boilerplate lines learned")
        signed = self._sign(first, n, learned)
        step.done(f"{n:,} articles signed")
        pairs = self._candidates(first, signed)
        step.done(f"LSH bands and anchors stored, {len(pairs):,} candidate pairs")
        copies, accepted = self._edges(first, pairs, signed)
        step.done(f"candidates verified, {len(copies):,} copy pairs")
        self._clusters(first, n, copies, accepted, signed)
        step.done(f"{self.result.new_clusters:,} clusters of 2 or more stored")
        self.result.signed = self.result.reclustered = n
        return self.result

    # -- 1. articles and their lines ------------------------------------------------------

    def _articles(self, records: Iterable[ArticleRecord]) -> tuple[int, int]:
        """Store the articles and their lines; (first id, count). Ids are consecutive."""
        store = self.store
        first, n = 0, 0
        with store.deferred_indexes(["article_lines"]):
            for batch in _batches(records, self.chunk):
                with store.transaction():
                    ids = store.add_articles(batch)
                    first = first or ids[0]
                    if ids != list(range(first + n, first + n + len(ids))):
                        raise StoreError(f"{store.location}: article ids are not consecutive")
                    n += len(ids)
                    tasks = [
                        (i, r.text, scope_of(r.url, r.publisher), sample_key(r.url))
                        for i, r in zip(ids, batch, strict=True)
                    ]
                    for rows in self._map(_lines, _slices(tasks, self.pool)):
                        store.load_lines(rows)
        with store.transaction():
            store.count_lines()
        return first, n

    # -- 2. boilerplate -------------------------------------------------------------------

    def _learn(self) -> dict[str, frozenset[int]]:
        with self.store.transaction():
            touched = set(self.store.line_groups(self.cfg.boilerplate.min_records))
            flipped = decide_lines(self.store, self.cfg.boilerplate, touched, lambda _: frozenset())
        self.result.boilerplate = sum(len(keys) for keys in flipped.values())
        return {scope: frozenset(keys) for scope, keys in flipped.items()}

    # -- 3. content, signatures; bands and anchors spilled ----------------------------------

    def _sign(self, first: int, n: int, learned: dict[str, frozenset[int]]) -> _Signed:
        store, cfg = self.store, self.cfg
        shingles = np.zeros(n, dtype=np.int64)
        digests = np.zeros(n, dtype=np.uint64)
        sizes = np.zeros(n, dtype=np.int64)
        held = np.zeros(n, dtype=np.int64)
        with ExitStack() as files:
            values = files.enter_context(open(self.tmp / "verify", "wb"))
            bands = [
                files.enter_context(open(self.tmp / f"band{b}", "wb")) for b in range(cfg.lsh.bands)
            ]
            anchors = [
                files.enter_context(open(self.tmp / f"anchors{p}", "wb"))
                for p in range(1 << _ANCHOR_BITS)
            ]
            for lo in range(first, first + n, self.chunk):
                ids = list(range(lo, min(lo + self.chunk, first + n)))
                arts = store.articles(ids)
                tasks = [
                    (a.id, a.text, learned.get(scope_of(a.url, a.publisher), frozenset()))
                    for a in arts
                ]
                with store.transaction():
                    for part in self._map(_SignTask(cfg), _slices(tasks, self.pool)):
                        store.put_signatures(part.signatures)
                        idx = part.ids - first
                        shingles[idx] = part.shingles
                        digests[idx] = part.digests
                        sizes[idx] = part.sizes
                        holders, count = np.unique(part.anchored, return_counts=True)
                        held[holders - first] = count
                        values.write(part.values.tobytes())
                        _spill(bands, anchors, part)
        self.result.too_short = int((shingles < self.t.min_shingles).sum())
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        mapped = (
            np.memmap(self.tmp / "verify", dtype=np.uint32, mode="r").view(np.ndarray)
            if offsets[-1]
            else np.empty(0, dtype=np.uint32)
        )
        return _Signed(shingles, digests, offsets, mapped, held)

    # -- 4. the LSH index and anchors, in key order; candidate pairs ------------------------

    def _candidates(self, first: int, signed: _Signed) -> np.ndarray:
        """Store bands and anchors sorted; the candidate pairs (index space, a < b).

        Every pair a key makes is a row (code, weight), spilled by code: the pairs sharing
        one chance-common anchor grow faster than the corpus (14 million rows at a million
        articles), and held together with their sums they were most of a load's memory."""
        store = self.store
        weights = anchor_weights(signed.anchors)
        found: list[np.ndarray] = []
        with candidate_partitions(_CANDIDATE_PARTS, self.tmp) as by_code:
            for b in range(self.cfg.lsh.bands):
                rows = _sorted_spill(self.tmp / f"band{b}")
                self._put_rows(rows, store.put_band_index, b)
                codes = pair_codes(rows[:, 0], rows[:, 1] - first)
                by_code.add(candidate_rows(codes, STRONG), codes)
            with store.deferred_indexes(["anchors", "few_anchors"]):
                for p in range(1 << _ANCHOR_BITS):
                    rows = _sorted_spill(self.tmp / f"anchors{p}")
                    self._put_rows(rows, store.put_anchors)
                    idx = rows[:, 1] - first
                    few = holds_few_anchors(signed.anchors[idx])
                    self._put_rows(rows[few], store.put_few_anchors)
                    codes, weight = weighted_pair_codes(rows[:, 0], idx, weights[idx])
                    by_code.add(candidate_rows(codes, weight), codes)
            for rows in by_code:
                found.append(candidate_codes(rows["code"], rows["weight"]))
        codes = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        return decode_pairs(codes)

    def _put_rows(
        self, rows: np.ndarray, put: Callable[[Iterable[tuple]], None], *lead: int
    ) -> None:
        """Store a sorted spill's (key, article) rows, each after the ``lead`` columns, in
        commits of ``_ROWS_PER_COMMIT`` rows."""
        for lo in range(0, len(rows), _ROWS_PER_COMMIT):
            part = rows[lo : lo + _ROWS_PER_COMMIT]
            columns = [[v] * len(part) for v in lead] + [part[:, 0].tolist(), part[:, 1].tolist()]
            with self.store.transaction():
                put(zip(*columns, strict=True))

    # -- 5. verified pairs, soft pairs ---------------------------------------------------

    def _edges(
        self,
        first: int,
        pairs: np.ndarray,
        signed: _Signed,
    ) -> tuple[np.ndarray, set[frozenset[int]]]:
        """Store the verified pairs; (copy pairs in index space, copy pairs by article id)."""
        t = self.t
        self.result.compared = len(pairs)
        jac, a_in, b_in = compare_pairs(signed.values, signed.offsets, pairs)
        keep = linked(jac, a_in, b_in, t)
        pairs, jac, a_in, b_in = pairs[keep], jac[keep], a_in[keep], b_in[keep]
        copy, _ = copy_pairs(len(signed.shingles), pairs, jac, a_in, b_in, signed.verify, t)
        ids = pairs + first
        with self.store.deferred_indexes(["edges"]):
            for lo in range(0, len(ids), _ROWS_PER_COMMIT):
                hi = lo + _ROWS_PER_COMMIT
                with self.store.transaction():
                    self.store.put_edges(
                        zip(
                            ids[lo:hi, 0].tolist(),
                            ids[lo:hi, 1].tolist(),
                            a_in[lo:hi].tolist(),
                            b_in[lo:hi].tolist(),
                            copy[lo:hi].tolist(),
                            strict=True,
                        )
                    )
        copies = pairs[copy]
        return copies, {frozenset((int(a), int(b))) for a, b in (copies + first).tolist()}

    # -- 6. clusters --------------------------------------------------------------------

    def _clusters(
        self, first: int, n: int, copies: np.ndarray, accepted: set[frozenset[int]], signed: _Signed
    ) -> None:
        """Each component of copy pairs clustered as the store pass does (``_leaders``), a
        cluster named by its probable origin's id; every other article alone."""
        comps = [members + first for members in component_members(n, copies)]
        cluster = np.arange(first, first + n, dtype=np.int64)
        similarity = np.ones(n, dtype=np.float64)
        containment = np.ones(n, dtype=np.float64)
        reps: dict[int, int] = {}
        for batch in _batches(comps, max(1, self.chunk // 4)):
            arts = {
                a.id: a
                for a in self.store.articles([int(i) for comp in batch for i in comp.tolist()])
            }
            for comp in batch:
                for cid, leader, members in self._place(
                    comp.tolist(), arts, accepted, signed, first
                ):
                    reps[cid] = leader
                    origin = signed.verify(cid - first)
                    for i in members:
                        cluster[i - first] = cid
                        if i != cid:
                            m = compare(origin, signed.verify(i - first))
                            similarity[i - first], containment[i - first] = m.jaccard, m.a_in_b
                    if len(members) > 1:
                        self.result.new_clusters += 1
                        self.result.joined += len(members)
        store = self.store
        with store.deferred_indexes(["memberships"]):
            for lo in range(0, n, _ROWS_PER_COMMIT):
                hi = min(lo + _ROWS_PER_COMMIT, n)
                with store.transaction():
                    store.put_memberships(
                        zip(
                            range(first + lo, first + hi),
                            cluster[lo:hi].tolist(),
                            similarity[lo:hi].tolist(),
                            containment[lo:hi].tolist(),
                            strict=True,
                        )
                    )
        lone = np.flatnonzero(cluster == np.arange(first, first + n))
        ids = np.union1d(lone + first, np.array(sorted(reps), dtype=np.int64))
        for lo in range(0, len(ids), _ROWS_PER_COMMIT):
            with store.transaction():
                store.put_clusters(
                    (c, reps.get(c, c)) for c in ids[lo : lo + _ROWS_PER_COMMIT].tolist()
                )

    def _place(
        self,
        comp: list[int],
        arts: dict[int, StoredArticle],
        accepted: set[frozenset[int]],
        signed: _Signed,
        first: int,
    ) -> list[tuple[int, int, list[int]]]:
        """(cluster id, leader, members) of one component, as ``_pass._recluster`` makes
        them for a component it sees whole."""
        items = [
            Item(
                i,
                signed.verify(i - first),
                int(signed.shingles[i - first]),
                to_db_time(arts[i].published) or "~",
                int(signed.digests[i - first]),
            )
            for i in comp
        ]
        leader_of = cluster_component(items, self.t, accepted)
        groups: dict[int, list[int]] = defaultdict(list)
        for i in comp:
            groups[leader_of[i]].append(i)
        return [
            (probable_origin([arts[i] for i in members]).id, lead, members)
            for lead, members in groups.items()
        ]


class _Steps:
    """Logs each step of a load with its time: a big one runs for hours."""

    def __init__(self, location: str) -> None:
        self.location, self.t0 = location, time.perf_counter()

    def done(self, what: str) -> None:
        now = time.perf_counter()
        log.info("%s: load: %s (%.0f s)", self.location, what, now - self.t0)
        self.t0 = now


# -- the text work, run in worker processes -----------------------------------------------


def _lines(tasks: list[tuple[int, str, str, int]]) -> list[tuple[int, str, int, int, int]]:
    """``article_lines`` rows of these articles, in key order."""
    rows = []
    for aid, text, scope, sample in tasks:
        u = units_of(text)
        first = first_lines(u)
        held = sorted(zip(u.keys[first].tolist(), u.ntok[first].tolist(), strict=True))
        rows += [(aid, scope, key, tokens, sample) for key, tokens in held]
    return rows


@dataclass
class _SignedPart:
    ids: np.ndarray
    signatures: list[tuple[int, str, int, bytes]]
    shingles: np.ndarray
    digests: np.ndarray
    sizes: np.ndarray  # 3-gram set sizes
    values: np.ndarray  # the 3-gram sets, concatenated
    bands: np.ndarray  # (signed, bands) bucket keys ...
    banded: np.ndarray  # ... of these article ids
    anchors: np.ndarray  # anchors ...
    anchored: np.ndarray  # ... and the article holding each


@dataclass
class _SignTask:
    cfg: DedupConfig

    def __call__(self, tasks: list[tuple[int, str, frozenset[int]]]) -> _SignedPart:
        """What ``_pass._sign`` computes for these articles, as arrays."""
        cfg, t = self.cfg, self.cfg.thresholds
        hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
        cons = [content_of(text, learned, cfg.shingle_size) for _, text, learned in tasks]
        ids = np.array([aid for aid, _, _ in tasks], dtype=np.int64)
        sigs = hasher.signatures([c.shingles for c in cons])
        counts = np.array([len(c.shingles) for c in cons], dtype=np.int64)
        long = counts >= t.min_shingles
        buckets = band_buckets(np.asarray(sigs), cfg.lsh)
        held = [c.anchors for c, ok in zip(cons, long.tolist(), strict=True) if ok]
        return _SignedPart(
            ids,
            [
                (int(i), cfg.scheme, int(k), signature_to_bytes(s))
                for i, k, s in zip(ids.tolist(), counts.tolist(), sigs, strict=True)
            ],
            counts,
            np.array([c.digest for c in cons], dtype=np.uint64),
            np.array([len(c.verify) for c in cons], dtype=np.int64),
            np.concatenate([c.verify for c in cons]) if cons else np.empty(0, np.uint32),
            buckets[long],
            ids[long],
            np.concatenate(held).astype(np.int64) if held else np.empty(0, np.int64),
            np.repeat(ids[long], [len(a) for a in held]),
        )


def _spill(bands: list[BinaryIO], anchors: list[BinaryIO], part: _SignedPart) -> None:
    for b, f in enumerate(bands):
        f.write(np.stack([part.bands[:, b], part.banded], axis=1).tobytes())
    where = part.anchors >> (32 - _ANCHOR_BITS)
    for p, f in enumerate(anchors):
        mine = where == p
        f.write(np.stack([part.anchors[mine], part.anchored[mine]], axis=1).tobytes())


def _sorted_spill(path: Path) -> np.ndarray:
    """A spill file's (key, article id) rows, sorted by key, then id."""
    rows = np.fromfile(path, dtype=np.int64).reshape(-1, 2)
    path.unlink()
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _slices(tasks: Sequence, pool: Executor | None) -> list[Sequence]:
    """The whole chunk when run inline; eight slices for a pool, shared out evenly."""
    if pool is None:
        return [tasks]
    size = max(1, -(-len(tasks) // 8))
    return [tasks[lo : lo + size] for lo in range(0, len(tasks), size)]
