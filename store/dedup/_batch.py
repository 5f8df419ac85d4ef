"""The clustering of a whole corpus at once: the reference that every other path equals.

``dedup --input``, ``store.dedup_texts`` and the Spark job compute this; the store's
incremental pass computes the same partition one run at a time. The steps are functions of
the set of records, never of their order:

1. learn each scope's boilerplate lines (``_boilerplate``) and take each record's content;
2. sign the content (MinHash), band it (LSH) and take its sentence anchors (``_content``);
3. candidates: records sharing an LSH bucket or an anchor (``_graph.pairs_sharing``);
4. verify every candidate pair on content 3-grams (``_verify``); copy-level pairs connect
   components, weaker ones (``reuse`` and up) become partial-reuse links;
5. cluster each component in its canonical order (``_leaders``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import xxhash

from ._boilerplate import BoilerplateRules, RecordLines, learn
from ._config import DedupConfig
from ._content import Content, content_of
from ._graph import components, pairs_sharing
from ._leaders import Item, cluster_component
from ._lines import lines_of
from ._lsh import band_buckets
from ._minhash import MinHasher
from ._verify import compare, soft_copies


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
    ignored: list[str] = field(default_factory=list)  # its lines learned as boilerplate


def scope_of(url: str | None, publisher: str | None) -> str:
    """Where a record's recurring chrome comes from: its host, else its publisher."""
    if url:
        host = urlsplit(url).hostname
        if host:
            return host.removeprefix("www.")
    return (publisher or "").strip().casefold()


def stable_hash(text: str) -> int:
    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def sample_key(key: str) -> int:
    """A record's place in boilerplate samples: its key's hash, shifted into the signed
    64-bit range that SQL engines store (order preserved)."""
    return stable_hash(key) - (1 << 63)


def contents(units: Sequence[Unit], rules: BoilerplateRules, shingle_size: int,
             ) -> list[Content]:
    lines = [lines_of(u.text) for u in units]
    learned = learn([RecordLines(u.scope, sample_key(u.key), ls)
                     for u, ls in zip(units, lines, strict=True)], rules)
    return [content_of(ls, learned.get(u.scope, frozenset()), shingle_size)
            for u, ls in zip(units, lines, strict=True)]


def candidate_pairs(cons: Sequence[Content], cfg: DedupConfig) -> np.ndarray:
    """Unique (i, j) pairs sharing an LSH bucket or an anchor."""
    t = cfg.thresholds
    signed = [i for i, c in enumerate(cons) if len(c.shingles) >= t.min_shingles]
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    keys: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    if signed:
        buckets = band_buckets(hasher.signatures([cons[i].shingles for i in signed]), cfg.lsh)
        bands = buckets.shape[1]
        # one key space: a band's bucket keys are salted with the band number
        salted = buckets.view(np.uint64) ^ (np.arange(bands, dtype=np.uint64)
                                            * np.uint64(0x9E3779B97F4A7C15))
        keys.append(salted.ravel().view(np.int64))
        owners.append(np.repeat(np.array(signed, dtype=np.int64), bands))
    for i in signed:
        a = cons[i].anchors
        if len(a):
            keys.append(a.astype(np.int64) | np.int64(1 << 62))  # apart from band keys
            owners.append(np.full(len(a), i, dtype=np.int64))
    if not keys:
        return np.empty((0, 2), dtype=np.int64)
    return pairs_sharing(np.concatenate(keys), np.concatenate(owners))


def place_all(units: Sequence[Unit], cfg: DedupConfig | None = None) -> list[Placed]:
    """Every record's place, in input order."""
    cfg = cfg or DedupConfig()
    t = cfg.thresholds
    cons = contents(units, cfg.boilerplate, cfg.shingle_size)
    pairs = candidate_pairs(cons, cfg)
    copy_edges: list[tuple[int, int]] = []
    soft: list[tuple[int, int]] = []
    links: dict[int, dict[int, float]] = defaultdict(dict)
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in pairs.tolist():
        m = compare(cons[a].verify, cons[b].verify)
        if not m.verified(t) and max(m.a_in_b, m.b_in_a) < t.reuse:
            continue
        neighbours[a].add(b)
        neighbours[b].add(a)
        if m.verified(t):
            copy_edges.append((a, b))
            continue
        links[a][b], links[b][a] = m.a_in_b, m.b_in_a
        if m.soft(t):
            soft.append((a, b) if m.a_in_b >= m.b_in_a else (b, a))
    accepted = soft_copies(soft, neighbours.__getitem__, lambda i: cons[i].verify, t)
    for pair in accepted:
        a, b = sorted(pair)
        copy_edges.append((a, b))
        del links[a][b], links[b][a]
    comp = components(len(units), np.array(copy_edges, dtype=np.int64).reshape(-1, 2))
    by_comp: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(comp.tolist()):
        by_comp[c].append(i)
    leader = list(range(len(units)))
    for members in by_comp.values():
        if len(members) < 2:
            continue
        items = [Item(i, cons[i].verify, len(cons[i].shingles), units[i].first_seen,
                      stable_hash(cons[i].text)) for i in members]
        leader_of = cluster_component(items, t, accepted)
        for i in members:
            leader[i] = leader_of[i]
    origin = origins(units, leader)
    out = []
    for i, c in enumerate(cons):
        m = compare(cons[origin[i]].verify, c.verify)
        reuses: dict[int, float] = {}
        for j, share in links.get(i, {}).items():
            if leader[j] != leader[i] and share >= t.reuse and _later(units[i], units[j]):
                reuses[leader[j]] = max(share, reuses.get(leader[j], 0.0))
        similarity = 1.0 if origin[i] == i else m.jaccard
        carried = 1.0 if origin[i] == i else m.a_in_b
        out.append(Placed(leader[i], origin[i], similarity, carried, reuses, c.ignored))
    return out


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
