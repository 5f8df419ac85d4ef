"""The clustering of a whole corpus at once: the reference that every other path equals.

``dedup --input``, ``store.dedup_texts`` and the Spark job compute this; the store's
incremental pass computes the same partition one run at a time. The steps are functions of
the set of records, never of their order:

1. learn each scope's boilerplate lines (``_boilerplate``) and take each record's content;
2. sign the content (MinHash), band it (LSH) and take its sentence anchors (``_content``);
3. candidates: records sharing an LSH bucket or an anchor (``_graph.pairs_sharing``);
4. verify every candidate pair on content 3-grams (``_verify``); copy-level pairs connect
   components, weaker ones (``reuse`` and up) become partial-reuse links, and soft pairs
   are copies unless the rest of the smaller record is another story;
5. cluster each component in its canonical order (``_leaders``).

A corpus is held as compact arrays, not objects: per record its content's 3-gram set (in
one concatenated array), its shingle count, its anchors and LSH bands until candidates are
found, and a digest. Texts are read twice (once to learn boilerplate, once for content) and
never kept; the caller's records hold them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import xxhash

from ._boilerplate import RecordLines, learn
from ._config import DedupConfig
from ._content import content_of
from ._graph import components, pairs_sharing
from ._leaders import Item, cluster_component
from ._lines import first_lines
from ._lsh import band_buckets
from ._minhash import MinHasher
from ._units import Units, content_arrays, units_of
from ._verify import compare_pairs, soft_copies

_BATCH = 2000  # records signed per MinHash call
_BAND_SALT = np.uint64(0x9E3779B97F4A7C15)
_ANCHOR_TAG = np.int64(1 << 62)  # anchors and band buckets share one key space


@dataclass
class Unit:
    """One record as the engine needs it; ``key`` is stable across runs and orders."""

    key: str  # the url, else "corpus:" + the record id
    text: str
    scope: str  # host, else publisher, else ""
    first_seen: str  # sortable ISO time; "~" when unknown


@dataclass
class Placed:
    """One record's place: its cluster's leader and origin, how much of the origin it
    carries, and the stories it partly reuses."""

    leader: int
    origin: int
    similarity: float  # Jaccard of content shingles with the origin
    containment: float  # share of the origin's content this record carries
    reuses: dict[int, float] = field(default_factory=dict)  # other leader -> share


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


def record_lines(unit: Unit, u: Units) -> RecordLines:
    first = first_lines(u)
    return RecordLines(unit.scope, sample_key(unit.key), u.keys[first], u.ntok[first])


def learn_boilerplate(units: Sequence[Unit], cfg: DedupConfig) -> dict[str, frozenset[int]]:
    """Every scope's boilerplate line keys, learned from all the records."""
    return learn([record_lines(unit, units_of(unit.text)) for unit in units], cfg.boilerplate)


def ignored_lines(unit: Unit, learned: dict[str, frozenset[int]]) -> list[str]:
    """The lines of a record left out as its scope's boilerplate (``--explain``)."""
    return content_of(unit.text, learned.get(unit.scope, frozenset())).ignored


@dataclass
class Signed:
    """The corpus's contents as arrays: the 3-gram sets concatenated (``offsets``), the
    5-gram shingle counts, digests, and the candidate keys (bands and anchors)."""

    values: np.ndarray
    offsets: np.ndarray
    shingles: np.ndarray  # int64 per record
    digests: list[int]
    keys: np.ndarray  # int64 candidate keys ...
    owners: np.ndarray  # ... and the record holding each

    def verify(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]


def sign_all(units: Sequence[Unit], learned: dict[str, frozenset[int]],
             cfg: DedupConfig) -> Signed:
    """Content, signature, bands and anchors of every record, in batches."""
    t = cfg.thresholds
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    sets: list[np.ndarray] = []
    counts: list[int] = []
    digests: list[int] = []
    keys: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for start in range(0, len(units), _BATCH):
        shingles: list[np.ndarray] = []
        signed: list[int] = []
        for i in range(start, min(start + _BATCH, len(units))):
            unit = units[i]
            u = units_of(unit.text)
            bp = learned.get(unit.scope, frozenset())
            keep = first_lines(u)
            if bp:
                keep &= np.fromiter((k not in bp for k in u.keys.tolist()), dtype=bool,
                                    count=len(u.keys))
            verify, sh, anchors, digest = content_arrays(u, keep, cfg.shingle_size)
            sets.append(verify)
            counts.append(len(sh))
            digests.append(digest)
            if len(sh) >= t.min_shingles:
                shingles.append(sh)
                signed.append(i)
                if len(anchors):
                    keys.append(anchors.astype(np.int64) | _ANCHOR_TAG)
                    owners.append(np.full(len(anchors), i, dtype=np.int64))
        if signed:
            buckets = band_buckets(hasher.signatures(shingles), cfg.lsh)
            bands = buckets.shape[1]
            salted = buckets.view(np.uint64) ^ (np.arange(bands, dtype=np.uint64) * _BAND_SALT)
            keys.append(salted.ravel().view(np.int64) & ~_ANCHOR_TAG)
            owners.append(np.repeat(np.array(signed, dtype=np.int64), bands))
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sets], out=offsets[1:])
    values = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32)
    return Signed(values, offsets, np.array(counts, dtype=np.int64), digests,
                  np.concatenate(keys) if keys else np.empty(0, dtype=np.int64),
                  np.concatenate(owners) if owners else np.empty(0, dtype=np.int64))


def place_all(units: Sequence[Unit], cfg: DedupConfig | None = None) -> list[Placed]:
    """Every record's place, in input order."""
    cfg = cfg or DedupConfig()
    return place_signed(units, sign_all(units, learn_boilerplate(units, cfg), cfg), cfg)


def place_signed(units: Sequence[Unit], s: Signed, cfg: DedupConfig) -> list[Placed]:
    t = cfg.thresholds
    pairs = pairs_sharing(s.keys, s.owners)
    jac, a_in, b_in = compare_pairs(s.values, s.offsets, pairs)
    cover = np.maximum(a_in, b_in)
    copy = (jac >= t.jaccard) | (cover >= t.containment)
    linked = copy | (cover >= t.reuse)
    pairs, jac, a_in, b_in, cover, copy = (x[linked] for x in (pairs, jac, a_in, b_in, cover,
                                                               copy))
    neighbours: dict[int, list[int]] = defaultdict(list)
    for a, b in pairs.tolist():
        neighbours[a].append(b)
        neighbours[b].append(a)
    soft_rows = np.flatnonzero(~copy & (cover >= t.soft))
    soft = [(int(pairs[k, 0]), int(pairs[k, 1])) if a_in[k] >= b_in[k]
            else (int(pairs[k, 1]), int(pairs[k, 0])) for k in soft_rows.tolist()]
    accepted = soft_copies(soft, neighbours.__getitem__, s.verify, t)
    for k in soft_rows.tolist():
        copy[k] = frozenset((int(pairs[k, 0]), int(pairs[k, 1]))) in accepted
    leader = cluster_components(units, s, pairs[copy], accepted, cfg)
    return _placed(units, s, leader, pairs[~copy], a_in[~copy], b_in[~copy], t.reuse)


def cluster_components(units: Sequence[Unit], s: Signed, copy_pairs: np.ndarray,
                       accepted: set[frozenset[int]], cfg: DedupConfig) -> list[int]:
    """Each record's leader: the components of the copy pairs, each in canonical order."""
    comp = components(len(units), copy_pairs.reshape(-1, 2))
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.r_[True, comp[order][1:] != comp[order][:-1], True])
    leader = list(range(len(units)))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if hi - lo < 2:
            continue
        members = order[lo:hi].tolist()
        items = [Item(i, s.verify(i), int(s.shingles[i]), units[i].first_seen, s.digests[i])
                 for i in members]
        for i, lead in cluster_component(items, cfg.thresholds, accepted).items():
            leader[i] = lead
    return leader


def _placed(units: Sequence[Unit], s: Signed, leader: list[int], links: np.ndarray,
            a_in: np.ndarray, b_in: np.ndarray, reuse: float) -> list[Placed]:
    origin = origins(units, leader)
    others = [i for i in range(len(units)) if origin[i] != i]
    jac, carried, _ = compare_pairs(s.values, s.offsets,
                                    np.array([(origin[i], i) for i in others],
                                             dtype=np.int64).reshape(-1, 2))
    figures = dict(zip(others, zip(jac.tolist(), carried.tolist(), strict=True), strict=True))
    reuses: dict[int, dict[int, float]] = defaultdict(dict)
    for (a, b), x, y in zip(links.tolist(), a_in.tolist(), b_in.tolist(), strict=True):
        for me, other, share in ((a, b, x), (b, a, y)):
            if leader[me] != leader[other] and share >= reuse and _later(units[me],
                                                                       units[other]):
                mine = reuses[me]
                mine[leader[other]] = max(share, mine.get(leader[other], 0.0))
    return [Placed(leader[i], origin[i], *figures.get(i, (1.0, 1.0)), reuses.get(i, {}))
            for i in range(len(units))]


def origins(units: Sequence[Unit], leader: Sequence[int]) -> list[int]:
    """Each record's probable origin: its cluster's earliest record (stated publication
    time), the leader on a tie, then the smallest key — never the order of arrival."""
    best: dict[int, tuple[str, bool, str, int]] = {}
    for i, lead in enumerate(leader):
        rank = (units[i].first_seen, i != lead, units[i].key, i)
        if lead not in best or rank < best[lead]:
            best[lead] = rank
    return [best[lead][3] for lead in leader]


def _later(a: Unit, b: Unit) -> bool:
    """Does ``a`` come after ``b`` (or at the same or an unknown time)? Only the later of
    two stories can have reused the other; undated pairs are reported both ways."""
    if a.first_seen == "~" or b.first_seen == "~":
        return True
    return a.first_seen >= b.first_seen

