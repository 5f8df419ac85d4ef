"""The clustering of a whole corpus at once: the reference that every other path equals.

``dedup --input``, ``store.dedup_texts`` and the Spark job compute this; the store's
incremental pass computes the same partition one run at a time. The steps are functions of
the set of records, never of their order:

1. learn each scope's boilerplate lines (``_boilerplate``) from every record's lines;
2. sign each record's content (MinHash), band it (LSH) and take its sentence anchors;
3. candidates: records sharing an LSH bucket or an anchor (``_graph.pairs_sharing``);
4. verify every candidate pair on content 3-grams (``_verify``); copy-level pairs connect
   components, weaker ones (``reuse`` and up) become partial-reuse links, and soft pairs
   are copies unless the rest of the smaller record is another story;
5. cluster each component in its canonical order (``_leaders``).

Built to stream: texts are read in order twice (lines, then signatures) and then by
index, a candidate component at a time (verification and clustering), so that a caller
can keep them on disk (``_corpus.Spill``) instead of in memory. What is held for the whole
corpus is small and flat: each record's line keys until boilerplate is learned, its
candidate keys until candidates are found, and a few numbers per record after that.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import xxhash

from ._boilerplate import BoilerplateRules, RecordLines, decide
from ._config import DedupConfig
from ._content import content_of
from ._graph import components, pairs_sharing
from ._leaders import Item, cluster_component
from ._lines import first_lines
from ._lsh import band_buckets
from ._minhash import MinHasher
from ._units import content_arrays, units_of
from ._verify import Thresholds, compare, compare_pairs, soft_copies

_BATCH = 2000  # records signed per MinHash call
_BAND_SALT = np.uint64(0x9E3779B97F4A7C15)
_ANCHOR_TAG = np.int64(1 << 62)  # anchors and band buckets share one key space
_PARTS = 16  # candidate keys are sorted in this many hash partitions, one at a time


@dataclass(slots=True)
class Unit:
    """One record as the engine needs it, besides its text; all stable across orders."""

    sample: int  # sample_key(url, else "corpus:" + the record id)
    scope: str  # host (and port), else publisher, else ""
    first_seen: str  # sortable ISO time; "~" when unknown


@dataclass
class Placement:
    """Every record's place, as arrays by record index: its cluster's leader and origin,
    how much of the origin it carries, and (sparse) the stories it partly reuses."""

    leader: np.ndarray  # int64
    origin: np.ndarray  # int64
    similarity: np.ndarray  # float64: Jaccard of content shingles with the origin
    containment: np.ndarray  # float64: share of the origin's content this record carries
    reuses: dict[int, dict[int, float]] = field(default_factory=dict)  # i -> leader -> share

    @classmethod
    def alone(cls, n: int) -> Placement:
        ids = np.arange(n, dtype=np.int64)
        return cls(ids, ids.copy(), np.ones(n), np.ones(n))


def scope_of(url: str | None, publisher: str | None) -> str:
    """Where a record's recurring chrome comes from: its site (host, and port when the URL
    names one: two sites served from one address are two sites), else its publisher."""
    if url:
        parts = urlsplit(url)
        if parts.hostname:
            try:
                port = parts.port
            except ValueError:
                port = None
            host = parts.hostname.removeprefix("www.")
            return f"{host}:{port}" if port else host
    return (publisher or "").strip().casefold()


def stable_hash(text: str) -> int:
    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def sample_key(key: str) -> int:
    """A record's place in boilerplate samples: its key's hash, shifted into the signed
    64-bit range that SQL engines store (order preserved)."""
    return stable_hash(key) - (1 << 63)


# -- 1. lines and boilerplate ------------------------------------------------------------


@dataclass
class Lines:
    """Every record's lines (each key once) as one flat array pair with offsets."""

    keys: np.ndarray  # int64
    tokens: np.ndarray  # uint16
    offsets: np.ndarray  # record i: [offsets[i], offsets[i + 1])

    def keys_of(self, i: int) -> np.ndarray:
        return self.keys[self.offsets[i] : self.offsets[i + 1]]

    def tokens_of(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]].astype(np.int64)


def read_lines(texts: Iterable[str]) -> Lines:
    keys = _Growing(np.int64)
    tokens = _Growing(np.uint16)
    offsets = _Growing(np.int64)
    offsets.add(np.zeros(1, dtype=np.int64))
    total = 0
    for text in texts:
        u = units_of(text)
        first = first_lines(u)
        keys.add(u.keys[first])
        tokens.add(np.minimum(u.ntok[first], 65535).astype(np.uint16))
        total += int(first.sum())
        offsets.add(np.array([total], dtype=np.int64))
    return Lines(keys.array(), tokens.array(), offsets.array())


class _Growing:
    """An array built from many small pieces without a Python object per piece: pieces
    are joined every few thousand, so a million records' lines cost their bytes only."""

    def __init__(self, dtype: type) -> None:
        self._dtype, self._done, self._pending = dtype, [], []

    def add(self, piece: np.ndarray) -> None:
        self._pending.append(piece)
        if len(self._pending) >= 4096:
            self._done.append(np.concatenate(self._pending).astype(self._dtype, copy=False))
            self._pending = []

    def array(self) -> np.ndarray:
        parts = self._done + ([np.concatenate(self._pending)] if self._pending else [])
        return np.concatenate(parts).astype(self._dtype, copy=False) if parts else \
            np.empty(0, dtype=self._dtype)


def learn_boilerplate(units: Sequence[Unit], lines: Lines, rules: BoilerplateRules,
                      ) -> dict[str, frozenset[int]]:
    """Every scope's boilerplate line keys (``_boilerplate.decide`` on each line held by
    ``min_records`` records of a scope). Lines are taken a hash partition of keys at a time
    (every scope holding a key is in its partition), so no sort spans the whole corpus."""
    scopes = sorted({u.scope for u in units})
    sid = {s: i for i, s in enumerate(scopes)}
    record_scope = np.array([sid[u.scope] for u in units], dtype=np.int32)
    samples = [u.sample for u in units]
    part = (lines.keys.view(np.uint64) * _BAND_SALT) >> np.uint64(60)
    learned: dict[str, set[int]] = {x: set() for x in scopes}
    for p in range(_PARTS):
        rows = np.flatnonzero(part == p)
        owner = (np.searchsorted(lines.offsets, rows, side="right") - 1).astype(np.int64)
        keys, scope = lines.keys[rows], record_scope[owner]
        order = np.lexsort((keys, scope))
        k, sc, own = keys[order], scope[order], owner[order]
        starts = np.flatnonzero(np.r_[True, (k[1:] != k[:-1]) | (sc[1:] != sc[:-1])])
        sizes = np.diff(np.r_[starts, len(k)])
        distinct, totals = np.unique(k, return_counts=True)  # holders in any scope
        for start, size in zip(starts[sizes >= rules.min_records].tolist(),
                               sizes[sizes >= rules.min_records].tolist(), strict=True):
            key, scope_name = int(k[start]), scopes[int(sc[start])]
            elsewhere = int(totals[np.searchsorted(distinct, k[start])]) - size
            if scope_name and elsewhere * 2 > size:
                continue  # decide() would say no without reading the holders
            holders = sorted(own[start : start + size].tolist(),
                             key=lambda i: samples[i])[: rules.sample]
            sample = [RecordLines(scope_name, samples[i], lines.keys_of(i), lines.tokens_of(i))
                      for i in holders]
            if decide(scope_name, sample, size, elsewhere, rules):
                learned[scope_name].add(key)
    return {x: frozenset(v) for x, v in learned.items()}


def ignored_lines(text: str, unit: Unit, learned: dict[str, frozenset[int]]) -> list[str]:
    """The lines of a record left out as its scope's boilerplate (``--explain``)."""
    return content_of(text, learned.get(unit.scope, frozenset())).ignored


def _content(text: str, boilerplate: frozenset[int], n: int,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    u = units_of(text)
    keep = first_lines(u)
    if boilerplate:
        keep &= np.fromiter((k not in boilerplate for k in u.keys.tolist()), dtype=bool,
                            count=len(u.keys))
    return content_arrays(u, keep, n)


# -- 2. signatures and candidates ------------------------------------------------------


@dataclass
class Signed:
    """Per record: its content's shingle count, digest and 3-gram set (spilled to disk);
    the candidate pairs."""

    shingles: np.ndarray  # int64
    digests: np.ndarray  # uint64
    pairs: np.ndarray  # (n, 2) int64, i < j
    sets: _SetSpill


_KEYED = np.dtype([("key", "<i8"), ("owner", "<i4")])


def sign_all(texts: Iterable[str], units: Sequence[Unit], learned: dict[str, frozenset[int]],
             cfg: DedupConfig) -> Signed:
    """Content, signature, bands and anchors of every record, in batches. The candidate
    keys go to temporary files, one per hash partition, and each partition is sorted on
    its own: a million records' keys never sit in memory at once."""
    t = cfg.thresholds
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    counts = np.zeros(len(units), dtype=np.int64)
    digests = np.zeros(len(units), dtype=np.uint64)
    sets = _SetSpill()
    batch: list[tuple[int, np.ndarray]] = []
    with tempfile.TemporaryDirectory(prefix="newsdedup-keys-") as tmp:
        files = [open(os.path.join(tmp, f"{p}.keys"), "wb") for p in range(_PARTS)]  # noqa: SIM115
        try:

            def flush() -> None:
                if not batch:
                    return
                buckets = band_buckets(hasher.signatures([sh for _, sh in batch]), cfg.lsh)
                bands = buckets.shape[1]
                salted = buckets.view(np.uint64) ^ (np.arange(bands, dtype=np.uint64)
                                                    * _BAND_SALT)
                _spread(files, salted.ravel().view(np.int64) & ~_ANCHOR_TAG,
                        np.repeat(np.array([i for i, _ in batch], dtype=np.int64), bands))
                batch.clear()

            for i, (text, unit) in enumerate(zip(texts, units, strict=True)):
                verify, sh, anchors, digest = _content(
                    text, learned.get(unit.scope, frozenset()), cfg.shingle_size)
                sets.append(verify)
                counts[i], digests[i] = len(sh), digest
                if len(sh) >= t.min_shingles:
                    batch.append((i, sh))
                    if len(anchors):
                        _spread(files, anchors.astype(np.int64) | _ANCHOR_TAG,
                                np.full(len(anchors), i, dtype=np.int64))
                if len(batch) >= _BATCH:
                    flush()
            flush()
        finally:
            for fh in files:
                fh.close()
        found = []
        for part in range(_PARTS):
            rows = np.fromfile(os.path.join(tmp, f"{part}.keys"), dtype=_KEYED)
            if len(rows):
                found.append(pairs_sharing(rows["key"], rows["owner"].astype(np.int64)))
    pairs = np.unique(np.concatenate(found), axis=0) if found else np.empty((0, 2), np.int64)
    return Signed(counts, digests, pairs, sets)


def _spread(files: list, keys: np.ndarray, owners: np.ndarray) -> None:  # noqa: ANN001
    which = ((keys.view(np.uint64) * _BAND_SALT) >> np.uint64(60)).astype(np.int64)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(_PARTS + 1))
    rows = np.empty(len(keys), dtype=_KEYED)
    rows["key"], rows["owner"] = keys[order], owners[order]
    for p in range(_PARTS):
        if bounds[p + 1] > bounds[p]:
            rows[bounds[p] : bounds[p + 1]].tofile(files[p])


# -- 3-5. verification and clusters, one candidate component at a time -------------------


def place_all(texts: Sequence[str], units: Sequence[Unit], cfg: DedupConfig | None = None,
              ) -> tuple[Placement, dict[str, frozenset[int]]]:
    """Every record's place, and the boilerplate learned.

    ``texts`` is read in order twice, then by index one candidate component at a time.
    """
    cfg = cfg or DedupConfig()
    learned = learn_boilerplate(units, read_lines(texts), cfg.boilerplate)
    signed = sign_all(texts, units, learned, cfg)
    return place_signed(texts, units, signed, learned, cfg), learned


def place_signed(texts: Sequence[str], units: Sequence[Unit], s: Signed,
                 learned: dict[str, frozenset[int]], cfg: DedupConfig) -> Placement:
    t = cfg.thresholds
    with s.sets as sets:
        pairs, jac, a_in, b_in = _verified(s.pairs, sets, t)
        cover = np.maximum(a_in, b_in)
        copy = (jac >= t.jaccard) | (cover >= t.containment)
        neighbours: dict[int, list[int]] = defaultdict(list)
        for a, b in pairs.tolist():
            neighbours[a].append(b)
            neighbours[b].append(a)
        soft_rows = np.flatnonzero(~copy & (cover >= t.soft)).tolist()
        soft = [(int(pairs[k, 0]), int(pairs[k, 1])) if a_in[k] >= b_in[k]
                else (int(pairs[k, 1]), int(pairs[k, 0])) for k in soft_rows]
        accepted = soft_copies(soft, neighbours.__getitem__, sets.__getitem__, t)
        for k in soft_rows:
            copy[k] = frozenset((int(pairs[k, 0]), int(pairs[k, 1]))) in accepted
        placed = Placement.alone(len(units))
        comp = components(len(units), pairs[copy])
        order = np.argsort(comp, kind="stable")
        bounds = np.flatnonzero(np.r_[True, comp[order][1:] != comp[order][:-1], True])
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if hi - lo < 2:
                continue
            members = order[lo:hi].tolist()
            local = {i: sets[i] for i in members}
            items = [Item(i, local[i], int(s.shingles[i]), units[i].first_seen,
                          int(s.digests[i])) for i in members]
            _figures(placed, members, cluster_component(items, t, accepted), local, units)
    leader = placed.leader
    for (a, b), x, y in zip(pairs[~copy].tolist(), a_in[~copy].tolist(), b_in[~copy].tolist(),
                            strict=True):
        for me, other, share in ((a, b, x), (b, a, y)):
            if (leader[me] != leader[other] and share >= t.reuse
                    and _later(units[me], units[other])):
                mine = placed.reuses.setdefault(me, {})
                target = int(leader[other])
                mine[target] = max(share, mine.get(target, 0.0))
    return placed


def _verified(pairs: np.ndarray, sets: _SetSpill, t: Thresholds,
              chunk: int = 20_000) -> tuple[np.ndarray, ...]:
    """The candidate pairs worth keeping (a copy, or a reuse link), with their figures:
    (pairs, jaccard, a_in_b, b_in_a). Pairs are verified a chunk at a time, each chunk's
    sets read back from the spill, so memory follows the chunk, not the corpus."""
    kept: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, len(pairs), chunk):
        part = pairs[lo : lo + chunk]
        ids, local = np.unique(part, return_inverse=True)
        values, offsets = sets.gather(ids.tolist())
        jac, a_in, b_in = compare_pairs(values, offsets, local.reshape(-1, 2))
        cover = np.maximum(a_in, b_in)
        keep = (jac >= t.jaccard) | (cover >= t.reuse)
        kept.append((part[keep], jac[keep], a_in[keep], b_in[keep]))
    if not kept:
        empty = np.empty(0, dtype=np.float64)
        return np.empty((0, 2), dtype=np.int64), empty, empty, empty
    return tuple(np.concatenate(x) for x in zip(*kept, strict=True))


class _SetSpill:
    """Every record's content 3-gram set, written once to a temporary file and read back
    by index: the corpus's sets are the biggest thing the engine computes, and it needs
    only a few at a time (a chunk of pairs, one component)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="newsdedup-sets-")  # noqa: SIM115
        self._offsets = array("q", [0])

    def __enter__(self) -> _SetSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def append(self, values: np.ndarray) -> None:
        self._file.write(values.astype("<u4", copy=False).tobytes())
        self._offsets.append(self._offsets[-1] + len(values))

    def __getitem__(self, i: int) -> np.ndarray:
        lo, hi = self._offsets[i], self._offsets[i + 1]
        self._file.flush()
        data = os.pread(self._file.fileno(), (hi - lo) * 4, lo * 4)
        return np.frombuffer(data, dtype="<u4").astype(np.uint32)

    def gather(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The sets of ``ids`` as one array and offsets (the ``compare_pairs`` layout)."""
        parts = [self[i] for i in ids]
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in parts], out=offsets[1:])
        return (np.concatenate(parts) if parts else np.empty(0, np.uint32)), offsets


def _figures(placed: Placement, members: list[int], leaders: dict[int, int],
             sets: dict[int, np.ndarray], units: Sequence[Unit]) -> None:
    """Each member's leader, origin and figures against its cluster's origin."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i in members:
        groups[leaders[i]].append(i)
    for lead, group in groups.items():
        origin = min(group, key=lambda i: _origin_rank(units, i, lead))
        for i in group:
            placed.leader[i], placed.origin[i] = lead, origin
            if i != origin:
                m = compare(sets[origin], sets[i])
                placed.similarity[i], placed.containment[i] = m.jaccard, m.a_in_b


def _origin_rank(units: Sequence[Unit], i: int, lead: int) -> tuple[str, bool, int]:
    """A cluster's probable origin is its earliest record (stated publication time), the
    leader on a tie, then the smallest key — never the order of arrival."""
    return (units[i].first_seen, i != lead, units[i].sample)


def _later(a: Unit, b: Unit) -> bool:
    """Does ``a`` come after ``b`` (or at the same or an unknown time)? Only the later of
    two stories can have reused the other; undated pairs are reported both ways."""
    if a.first_seen == "~" or b.first_seen == "~":
        return True
    return a.first_seen >= b.first_seen
