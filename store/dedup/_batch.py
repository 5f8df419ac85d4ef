"""The clustering of a whole corpus at once: the reference that every other path equals.

``dedup --input``, ``store.dedup_texts`` and the Spark job compute this; the store's
incremental pass computes the same partition one run at a time. The steps are functions of
the set of records, never of their order:

1. learn each scope's boilerplate lines (``_boilerplate``) from every record's lines;
2. sign each record's content (MinHash), band it (LSH) and take its sentence anchors;
3. candidates: records sharing an LSH bucket, or sentence anchors enough
   (``_graph.weighted_pair_codes``, ``_graph.candidate_codes``);
4. verify every candidate pair on content 3-grams (``_verify``); copy-level pairs connect
   components, weaker ones (``reuse`` and up) become partial-reuse links, and soft pairs
   are copies unless the rest of the smaller record is another story;
5. cluster each component in its canonical order (``_leaders``).

Built to stream: texts are read in order twice (lines, then signatures) and then by
index, a copy component at a time (clustering), so that a caller can keep them on disk
(``_corpus.Spill``) instead of in memory. What the engine computes per record (its lines,
its candidate keys, its content set) is spilled to temporary files too and read back a
hash partition or a few records at a time; what stays in memory for the whole corpus is
a few numbers per record (``UnitTable``, the signed counts and digests) and the pairs.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import xxhash

from ._boilerplate import BoilerplateRules, RecordLines, decide
from ._config import DedupConfig
from ._content import content_of
from ._graph import (
    STRONG,
    anchor_weights,
    candidate_codes,
    component_members,
    decode_pairs,
    weighted_pair_codes,
)
from ._leaders import Item, cluster_component
from ._lines import first_lines
from ._lsh import band_buckets
from ._minhash import MinHasher
from ._scratch import scratch_folder
from ._units import units_of
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


class UnitTable(Sequence[Unit]):
    """Every record's :class:`Unit` as columns: a million records' scopes, sample keys and
    times in a few tens of megabytes, not a million objects. Reads as a sequence of Units."""

    _WIDTH = 32  # bytes of a first-seen time ("2026-03-21T04:22:00+00:00" is 25)

    def __init__(self, units: Iterable[Unit] = ()) -> None:
        self._samples = array("q")
        self._scopes = array("i")
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._seen = bytearray()
        for u in units:
            self.append(u)

    def append(self, u: Unit) -> None:
        seen = u.first_seen.encode("ascii")
        if len(seen) > self._WIDTH:
            raise ValueError(f"not a stored time: {u.first_seen!r}")
        self._samples.append(u.sample)
        self._scopes.append(self._ids.setdefault(u.scope, len(self._ids)))
        if len(self._ids) > len(self._names):
            self._names.append(u.scope)
        self._seen += seen.ljust(self._WIDTH, b"\0")

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, i: int) -> Unit:  # type: ignore[override]
        w = self._WIDTH
        return Unit(
            self._samples[i],
            self._names[self._scopes[i]],
            self._seen[i * w : (i + 1) * w].rstrip(b"\0").decode("ascii"),
        )

    @property
    def samples(self) -> np.ndarray:
        return np.frombuffer(self._samples, dtype=np.int64) if self else np.empty(0, np.int64)

    @property
    def scope_ids(self) -> np.ndarray:
        return np.frombuffer(self._scopes, dtype=np.int32) if self else np.empty(0, np.int32)

    @property
    def scope_names(self) -> list[str]:
        return self._names


def as_table(units: Sequence[Unit]) -> UnitTable:
    return units if isinstance(units, UnitTable) else UnitTable(units)


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


# -- spills: what is computed once per record and read back a few at a time ---------------


class ArraySpill:
    """Arrays of one dtype, one per record, written once to a temporary file and read back
    by index: the corpus's line lists and content sets are the biggest things the engine
    computes, and it needs only a few at a time (a line's sample, a chunk of pairs, one
    component)."""

    def __init__(self, dtype: np.dtype | type, prefix: str) -> None:
        self._dtype = np.dtype(dtype)
        self._file = tempfile.TemporaryFile(prefix=prefix)  # noqa: SIM115 - closed by close()
        self._offsets = array("q", [0])

    def __enter__(self) -> ArraySpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def append(self, values: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(values, dtype=self._dtype).tobytes())
        self._offsets.append(self._offsets[-1] + len(values))

    def __getitem__(self, i: int) -> np.ndarray:
        lo, hi = self._offsets[i], self._offsets[i + 1]
        size = self._dtype.itemsize
        self._file.flush()
        data = os.pread(self._file.fileno(), (hi - lo) * size, lo * size)
        return np.frombuffer(data, dtype=self._dtype).copy()

    def gather(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The arrays of ``ids`` as one array and offsets (the ``compare_pairs`` layout)."""
        parts = [self[i] for i in ids]
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in parts], out=offsets[1:])
        return (np.concatenate(parts) if parts else np.empty(0, self._dtype)), offsets


_KEYED = np.dtype([("key", "<i8"), ("owner", "<i4")])
_WEIGHED = np.dtype([("key", "<i8"), ("owner", "<i4"), ("weight", "u1")])  # candidate keys
_CANDIDATE = np.dtype([("code", "<i8"), ("weight", "u1")])  # a pair's row for one key


def candidate_partitions(parts: int | None = None, folder: Path | None = None) -> Partitions:
    """Where candidate pairs' rows (``candidate_rows``) are spilled, by code."""
    return Partitions(_CANDIDATE, parts, folder)


def candidate_rows(codes: np.ndarray, weights: np.ndarray | int) -> np.ndarray:
    """_CANDIDATE rows: what each key says of a pair, to be summed by code."""
    rows = np.empty(len(codes), dtype=_CANDIDATE)
    rows["code"], rows["weight"] = codes, weights
    return rows


class Partitions:
    """Rows in temporary files, one per hash partition of a key: every row with a given
    key is in one partition, so "rows with an equal key" is answered a partition at a time
    and a million records' rows never sit in memory at once. Candidate keys are
    partitioned by key, candidate pairs by their code."""

    def __init__(
        self, dtype: np.dtype | type, parts: int | None = None, folder: Path | None = None
    ) -> None:
        self._dtype = np.dtype(dtype)
        self._scratch = ExitStack()
        self._dir = self._scratch.enter_context(scratch_folder("parts", folder))
        count = parts or _PARTS
        self._paths = [os.path.join(self._dir, f"{p}.rows") for p in range(count)]
        self._files = [open(p, "wb") for p in self._paths]  # noqa: SIM115 - closed in close()

    def __enter__(self) -> Partitions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        self._scratch.close()

    def add(self, rows: np.ndarray, keys: np.ndarray) -> None:
        """Append ``rows``, each to the partition of its entry in ``keys`` (int64)."""
        parts = len(self._paths)
        which = (partition_of(keys) % parts).astype(np.int64)
        order = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[order], np.arange(parts + 1))
        rows = np.ascontiguousarray(rows[order], dtype=self._dtype)
        for p in range(parts):
            if bounds[p + 1] > bounds[p]:
                rows[bounds[p] : bounds[p + 1]].tofile(self._files[p])

    def __iter__(self) -> Iterator[np.ndarray]:
        """Each non-empty partition's rows, in partition order (rows in the order added)."""
        for fh in self._files:
            fh.flush()
        for path in self._paths:
            rows = np.fromfile(path, dtype=self._dtype)
            if len(rows):
                yield rows


def keyed_rows(
    keys: np.ndarray, owners: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    rows = np.empty(len(keys), dtype=_KEYED if weights is None else _WEIGHED)
    rows["key"], rows["owner"] = keys, owners
    if weights is not None:
        rows["weight"] = weights
    return rows


def partition_of(keys: np.ndarray) -> np.ndarray:
    """A key's hash partition (of 16): a multiplicative hash's top bits, so that keys that
    are themselves hashes, or tagged in their high bits, spread evenly."""
    return (keys.view(np.uint64) * _BAND_SALT) >> np.uint64(60)


# -- 1. lines and boilerplate ------------------------------------------------------------

_LINE = np.dtype([("key", "<i8"), ("tokens", "<u2")])


@dataclass
class Lines:
    """Every record's lines (each key once): by record in a spill, by key in partitions."""

    by_record: ArraySpill  # _LINE rows
    by_key: Partitions  # _KEYED rows

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.by_record.close()
        self.by_key.close()

    def record(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Record ``i``'s line keys and token counts."""
        rows = self.by_record[i]
        return rows["key"].copy(), rows["tokens"].astype(np.int64)


def record_lines(text: str) -> tuple[np.ndarray, np.ndarray]:
    """One record's line keys (each once, in text order) and their token counts (uint16,
    capped)."""
    u = units_of(text)
    first = first_lines(u)
    return u.keys[first], np.minimum(u.ntok[first], 65535).astype(np.uint16)


def read_lines(texts: Iterable[str], batch: int = _BATCH) -> Lines:
    lines = Lines(ArraySpill(_LINE, "newsdedup-lines-"), Partitions(_KEYED))
    keys: list[np.ndarray] = []
    owners: list[np.ndarray] = []

    def flush() -> None:
        if keys:
            k = np.concatenate(keys)
            lines.by_key.add(keyed_rows(k, np.concatenate(owners)), k)
            keys.clear()
            owners.clear()

    for i, text in enumerate(texts):
        k, n = record_lines(text)
        rows = np.empty(len(k), dtype=_LINE)
        rows["key"], rows["tokens"] = k, n
        lines.by_record.append(rows)
        keys.append(k)
        owners.append(np.full(len(k), i, dtype=np.int64))
        if len(keys) >= batch:
            flush()
    flush()
    return lines


def learn_boilerplate(
    units: Sequence[Unit],
    lines: Lines,
    rules: BoilerplateRules,
) -> dict[str, frozenset[int]]:
    """Every scope's boilerplate line keys (``_boilerplate.decide`` on each line held by
    ``min_records`` records of a scope), a key partition at a time."""
    table = as_table(units)
    scopes, record_scope, samples = table.scope_names, table.scope_ids, table.samples
    learned: dict[str, set[int]] = {x: set() for x in scopes}
    for rows in lines.by_key:
        keys, owner = rows["key"], rows["owner"].astype(np.int64)
        scope = record_scope[owner]
        order = np.lexsort((keys, scope))
        k, sc, own = keys[order], scope[order], owner[order]
        starts = np.flatnonzero(np.r_[True, (k[1:] != k[:-1]) | (sc[1:] != sc[:-1])])
        sizes = np.diff(np.r_[starts, len(k)])
        distinct, totals = np.unique(k, return_counts=True)  # holders in any scope
        big = sizes >= rules.min_records
        for start, size in zip(starts[big].tolist(), sizes[big].tolist(), strict=True):
            key, scope_name = int(k[start]), scopes[int(sc[start])]
            elsewhere = int(totals[np.searchsorted(distinct, k[start])]) - size
            if scope_name and elsewhere * 2 > size:
                continue  # decide() would say no without reading the holders
            holders = own[start : start + size]
            holders = holders[np.argsort(samples[holders], kind="stable")][: rules.sample]
            sample = [
                RecordLines(scope_name, int(samples[i]), *lines.record(int(i)))
                for i in holders.tolist()
            ]
            if decide(scope_name, sample, size, elsewhere, rules):
                learned[scope_name].add(key)
    return {x: frozenset(v) for x, v in learned.items()}


def ignored_lines(text: str, unit: Unit, learned: dict[str, frozenset[int]]) -> list[str]:
    """The lines of a record left out as its scope's boilerplate (``--explain``)."""
    return content_of(text, learned.get(unit.scope, frozenset())).ignored


def record_content(
    text: str,
    boilerplate: Collection[int],
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(verify 3-grams, n-gram shingles, anchors, digest) of a text less its lines in
    ``boilerplate`` (only the text's own lines are looked up)."""
    c = content_of(text, boilerplate, n)
    return c.verify, c.shingles, c.anchors, c.digest


# -- 2. signatures and candidates ------------------------------------------------------


@dataclass
class Signed:
    """Per record: its content's shingle count, digest and 3-gram set (spilled to disk);
    the candidate pairs' rows (``_graph.weighted_pair_codes``), partitioned on disk by code."""

    shingles: np.ndarray  # int64
    digests: np.ndarray  # uint64
    candidates: Partitions  # _CANDIDATE rows: a pair's row per shared key, in one partition
    sets: ArraySpill

    def close(self) -> None:
        self.candidates.close()
        self.sets.close()


def band_keys(
    owners: Sequence[int], shingles: Sequence[np.ndarray], hasher: MinHasher, cfg: DedupConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, owners, weights): the LSH band buckets of signed records, salted with the
    band number and untagged (anchors are tagged), so that bands and anchors share one key
    space where equal keys make candidates; a bucket weighs enough alone. A record's keys
    depend on it alone, not on its batch."""
    buckets = band_buckets(hasher.signatures(list(shingles)), cfg.lsh)
    bands = buckets.shape[1]
    salted = buckets.view(np.uint64) ^ (np.arange(bands, dtype=np.uint64) * _BAND_SALT)
    keys = salted.ravel().view(np.int64) & ~_ANCHOR_TAG
    return (
        keys,
        np.repeat(np.array(owners, dtype=np.int64), bands),
        np.full(len(keys), STRONG, dtype=np.uint8),
    )


def anchor_keys(owner: int, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, owners, weights): a signed record's anchors, tagged apart from band buckets,
    each weighing what a record with this many anchors gives (``_graph.anchor_weights``)."""
    return (
        anchors.astype(np.int64) | _ANCHOR_TAG,
        np.full(len(anchors), owner, dtype=np.int64),
        np.full(len(anchors), anchor_weights(len(anchors)), dtype=np.uint8),
    )


def sign_all(
    texts: Iterable[str],
    units: Sequence[Unit],
    learned: dict[str, frozenset[int]],
    cfg: DedupConfig,
) -> Signed:
    """Content, signature, bands and anchors of every record, in batches; candidates from
    the keys, a partition at a time."""
    t = cfg.thresholds
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    counts = np.zeros(len(units), dtype=np.int64)
    digests = np.zeros(len(units), dtype=np.uint64)
    table = as_table(units)
    scopes, record_scope = table.scope_names, table.scope_ids
    owners: list[int] = []
    shingles: list[np.ndarray] = []
    with ExitStack() as on_error:  # the spills outlive this call unless it fails
        sets = on_error.enter_context(ArraySpill(np.uint32, "newsdedup-sets-"))
        candidates = on_error.enter_context(candidate_partitions())
        with Partitions(_WEIGHED) as keyed:

            def add(keys: np.ndarray, holders: np.ndarray, weights: np.ndarray) -> None:
                keyed.add(keyed_rows(keys, holders, weights), keys)

            def flush() -> None:
                if owners:
                    add(*band_keys(owners, shingles, hasher, cfg))
                    owners.clear()
                    shingles.clear()

            for i, text in enumerate(texts):
                verify, sh, anchors, digest = record_content(
                    text, learned.get(scopes[record_scope[i]], frozenset()), cfg.shingle_size
                )
                sets.append(verify)
                counts[i], digests[i] = len(sh), digest
                if len(sh) >= t.min_shingles:
                    owners.append(i)
                    shingles.append(sh)
                    if len(anchors):
                        add(*anchor_keys(i, anchors))
                    if len(owners) >= _BATCH:
                        flush()
            flush()
            for rows in keyed:
                codes, weights = weighted_pair_codes(
                    rows["key"], rows["owner"].astype(np.int64), rows["weight"]
                )
                candidates.add(candidate_rows(codes, weights), codes)
        on_error.pop_all()
    return Signed(counts, digests, candidates, sets)


# -- 3-5. verification and clusters, one copy component at a time ------------------------


def place_all(
    texts: Sequence[str],
    units: Sequence[Unit],
    cfg: DedupConfig | None = None,
) -> tuple[Placement, dict[str, frozenset[int]]]:
    """Every record's place, and the boilerplate learned.

    ``texts`` is read in order twice, then by index one copy component at a time.
    """
    cfg = cfg or DedupConfig()
    units = as_table(units)
    with read_lines(texts) as lines:
        learned = learn_boilerplate(units, lines, cfg.boilerplate)
    signed = sign_all(texts, units, learned, cfg)
    return place_signed(units, signed, cfg), learned


def linked(jac: np.ndarray, a_in: np.ndarray, b_in: np.ndarray, t: Thresholds) -> np.ndarray:
    """Which compared candidate pairs are kept: a copy, or a reuse link."""
    return (jac >= t.jaccard) | (np.maximum(a_in, b_in) >= min(t.reuse, t.containment))


def copies(
    jac: np.ndarray,
    a_in: np.ndarray,
    b_in: np.ndarray,
    t: Thresholds,
) -> tuple[np.ndarray, np.ndarray]:
    """(copy, soft) masks of linked pairs: soft ones are decided by ``soft_copies``, given
    the part's neighbours."""
    cover = np.maximum(a_in, b_in)
    copy = (jac >= t.jaccard) | (cover >= t.containment)
    return copy, ~copy & (cover >= t.soft)


def part_whole(a: int, b: int, a_in: float, b_in: float) -> tuple[int, int]:
    """A soft pair as (part, whole): the record more of which is found in the other first."""
    return (a, b) if a_in >= b_in else (b, a)


def copy_pairs(
    n: int,
    pairs: np.ndarray,
    jac: np.ndarray,
    a_in: np.ndarray,
    b_in: np.ndarray,
    verify: Callable[[int], np.ndarray],
    t: Thresholds,
) -> tuple[np.ndarray, set[frozenset[int]]]:
    """Which of ``n`` records' linked pairs are copies: a mask over ``pairs``, and the soft
    pairs accepted (``place_component`` reads them). A soft pair is decided from its part's
    neighbours among all ``pairs``, so the answer is the same in any arrival order."""
    copy, soft = copies(jac, a_in, b_in, t)
    soft_rows = np.flatnonzero(soft).tolist()
    soft_pairs = [
        part_whole(int(pairs[k, 0]), int(pairs[k, 1]), a_in[k], b_in[k]) for k in soft_rows
    ]
    accepted = soft_copies(soft_pairs, _Adjacency(n, pairs), verify, t)
    for k in soft_rows:
        copy[k] = frozenset((int(pairs[k, 0]), int(pairs[k, 1]))) in accepted
    return copy, accepted


def place_signed(units: Sequence[Unit], s: Signed, cfg: DedupConfig) -> Placement:
    t = cfg.thresholds
    sets = s.sets
    try:
        pairs, jac, a_in, b_in = _verified(s.candidates, sets, t)
        copy, accepted = copy_pairs(len(units), pairs, jac, a_in, b_in, sets.__getitem__, t)
        placed = Placement.alone(len(units))
        for members in component_members(len(units), pairs[copy]):
            items = [
                Item(i, sets[i], int(s.shingles[i]), units[i].first_seen, int(s.digests[i]))
                for i in members.tolist()
            ]
            for i, (lead, origin, similarity, containment) in place_component(
                items, units, accepted, t
            ).items():
                placed.leader[i], placed.origin[i] = lead, origin
                placed.similarity[i], placed.containment[i] = similarity, containment
    finally:
        s.close()
    _reuse_links(placed, units, pairs[~copy], a_in[~copy], b_in[~copy], t)
    return placed


def _reuse_links(
    placed: Placement,
    units: Sequence[Unit],
    pairs: np.ndarray,
    a_in: np.ndarray,
    b_in: np.ndarray,
    t: Thresholds,
) -> None:
    leader = placed.leader
    for (a, b), x, y in zip(pairs.tolist(), a_in.tolist(), b_in.tolist(), strict=True):
        for me, other, share in ((a, b, x), (b, a, y)):
            add_reuse(
                placed.reuses,
                me,
                int(leader[me]),
                units[me],
                int(leader[other]),
                units[other],
                share,
                t,
            )


def add_reuse(
    reuses: dict[int, dict[int, float]],
    me: int,
    my_leader: int,
    my_unit: Unit,
    other_leader: int,
    other_unit: Unit,
    share: float,
    t: Thresholds,
) -> None:
    """A reuse link seen from one side: ``share`` of record ``me`` is found in a record of
    another cluster, which it then partly reuses if it is the later of the two."""
    if my_leader != other_leader and share >= t.reuse and _later(my_unit, other_unit):
        mine = reuses.setdefault(me, {})
        mine[other_leader] = max(share, mine.get(other_leader, 0.0))


class _Adjacency:
    """Each record's partners in verified pairs, as sorted flat arrays (not a dict of
    lists: a million records' pairs are tens of millions of Python ints otherwise)."""

    def __init__(self, n: int, pairs: np.ndarray) -> None:
        ends = np.concatenate([pairs[:, 0], pairs[:, 1]])
        order = np.argsort(ends, kind="stable")
        self._partners = np.concatenate([pairs[:, 1], pairs[:, 0]])[order]
        self._offsets = np.searchsorted(ends[order], np.arange(n + 1))

    def __call__(self, i: int) -> list[int]:
        return self._partners[self._offsets[i] : self._offsets[i + 1]].tolist()


def _verified(
    candidates: Iterable[np.ndarray], sets: ArraySpill, t: Thresholds, chunk: int = 20_000
) -> tuple[np.ndarray, ...]:
    """The candidate pairs worth keeping (a copy, or a reuse link), with their figures:
    (pairs, jaccard, a_in_b, b_in_a), ordered by pair. Candidates are verified a partition
    and a chunk at a time, each chunk's sets read back from the spill, so memory follows
    the pairs kept, not the candidates."""
    kept: list[tuple[np.ndarray, ...]] = []
    for rows in candidates:
        pairs = decode_pairs(candidate_codes(rows["code"], rows["weight"]))
        for lo in range(0, len(pairs), chunk):
            part = pairs[lo : lo + chunk]
            ids, local = np.unique(part, return_inverse=True)
            values, offsets = sets.gather(ids.tolist())
            jac, a_in, b_in = compare_pairs(values, offsets, local.reshape(-1, 2))
            keep = linked(jac, a_in, b_in, t)
            kept.append((part[keep], jac[keep], a_in[keep], b_in[keep]))
    if not kept:
        empty = np.empty(0, dtype=np.float64)
        return np.empty((0, 2), dtype=np.int64), empty, empty, empty
    pairs, jac, a_in, b_in = (np.concatenate(x) for x in zip(*kept, strict=True))
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return pairs[order], jac[order], a_in[order], b_in[order]


def place_component(
    items: Sequence[Item],
    units: Mapping[int, Unit] | Sequence[Unit],
    accepted: Collection[frozenset[int]],
    t: Thresholds,
) -> dict[int, tuple[int, int, float, float]]:
    """(leader, origin, similarity, containment) of each record of one component of copy
    pairs (``items`` in index order, ``units`` by index): its clusters in canonical order,
    their origins, each record's figures against its origin. Nothing outside it is read."""
    leaders = cluster_component(items, t, accepted)
    sets = {item.handle: item.verify for item in items}
    groups: dict[int, list[int]] = defaultdict(list)
    for item in items:
        groups[leaders[item.handle]].append(item.handle)
    out: dict[int, tuple[int, int, float, float]] = {}
    for lead, group in groups.items():
        origin = min(group, key=lambda i: _origin_rank(units, i, lead))
        for i in group:
            if i == origin:
                out[i] = (lead, origin, 1.0, 1.0)
            else:
                m = compare(sets[origin], sets[i])
                out[i] = (lead, origin, m.jaccard, m.a_in_b)
    return out


def _origin_rank(
    units: Mapping[int, Unit] | Sequence[Unit],
    i: int,
    lead: int,
) -> tuple[str, bool, int]:
    """A cluster's probable origin is its earliest record (stated publication time), the
    leader on a tie, then the smallest key — never the order of arrival."""
    return (units[i].first_seen, i != lead, units[i].sample)


def _later(a: Unit, b: Unit) -> bool:
    """Does ``a`` come after ``b`` (or at the same or an unknown time)? Only the later of
    two stories can have reused the other; undated pairs are reported both ways."""
    if a.first_seen == "~" or b.first_seen == "~":
        return True
    return a.first_seen >= b.first_seen
