"""The incremental dedup pass: sign new articles, find LSH candidates, verify, place.

Work is proportional to the new articles: their signatures are computed in one vectorized
batch, their bands are looked up with indexed point queries, and only the candidates'
texts are read back. Each batch commits signatures, bands and memberships together, so a
killed run leaves either a whole batch or none of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ._base import Store
from ._clusters import Thresholds, compare, mergeable, place, share_carried
from ._exceptions import StoreError
from ._lsh import LSHParams, band_buckets, optimal_params
from ._minhash import MinHasher, signature_to_bytes
from ._shingles import shingle_hashes

# Shingle sets kept per pass: about 200 MiB of news-length articles.
_CACHE_LIMIT = 100_000

# Rows the write tier of the LSH index (``lsh_recent``) takes before a pass folds it into
# ``lsh_bands``: about 40 runs of 1,000 articles at 37 bands. Larger means rarer, longer
# compactions (at 1M articles: every 40 runs, about 15 s) and a bigger table to look up.
RECENT_BAND_ROWS = 1_500_000


@dataclass(frozen=True)
class DedupConfig:
    """Signature and clustering parameters; the defaults are what the evaluation chose."""

    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 5
    lsh_threshold: float = 0.3
    minhash_scheme: str = "affine32"  # datasketch >= 2.0's default permutation scheme
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def scheme(self) -> str:
        """Recorded with every signature so that a parameter change is caught, not mixed."""
        lsh = self.lsh
        return (f"minhash-v1;{self.minhash_scheme};n={self.shingle_size};perm={self.num_perm};"
                f"seed={self.seed};lsh={lsh.bands}x{lsh.rows}")

    @property
    def lsh(self) -> LSHParams:
        return optimal_params(self.lsh_threshold, self.num_perm)


@dataclass
class DedupResult:
    signed: int = 0
    new_clusters: int = 0
    joined: int = 0
    too_short: int = 0
    merged: int = 0  # clusters found to be one story and folded into the older one
    compactions: int = 0  # LSH write tier folded into the main index
    resigned: int = 0  # updated articles signed again (store._resign)
    moved: int = 0  # articles whose cluster an update changed (store._resign)


class _HasText(Protocol):
    id: int
    text: str


class DedupIndex(Protocol):
    """What the sequential placement core needs from where articles and clusters live.

    The :class:`Store` is one implementation; ``store._inmemory.MemoryIndex`` (dicts) is the
    other, which lets a Spark job replay this exact algorithm on one connected component of
    the LSH-candidate graph at a time instead of keeping a second copy of the rules.
    """

    def articles(self, ids: Sequence[int]) -> Sequence[_HasText]: ...
    def band_matches(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        ...
    def clusters_of(self, ids: Sequence[int]) -> dict[int, int]: ...
    def cluster_member_ids(self, cluster_id: int) -> list[int]: ...
    def put_signatures(self, rows: Iterable[tuple[int, str, int, bytes]]) -> None: ...
    def put_bands(self, rows: Iterable[tuple[int, int, int]]) -> None: ...
    def set_membership(self, article_id: int, cluster_id: int, similarity: float,
                       containment: float) -> None: ...
    def move_membership(self, article_id: int, cluster_id: int, similarity: float,
                        containment: float) -> None: ...


class _ShingleCache:
    """Shingle sets of stored articles, computed once per run from their stored text.

    With ``limit``, the oldest entries are dropped past that many: a ``dedup --rebuild``
    of a million-article store would otherwise hold every shingle set of the run (GBs).
    News copies follow their story within days, so the recent entries are the ones asked
    for again; an evicted one is only re-read from its stored text. Without a limit (the
    in-memory replay of one component) nothing is dropped, and nothing can be re-read.
    """

    def __init__(self, store: DedupIndex, n: int, limit: int | None = None) -> None:
        self._store, self._n, self._limit = store, n, limit
        self._sets: dict[int, np.ndarray] = {}

    def put(self, article_id: int, shingles: np.ndarray) -> None:
        self._sets[article_id] = shingles
        if self._limit is not None and len(self._sets) > self._limit:
            for old in list(itertools.islice(self._sets, len(self._sets) - self._limit)):
                del self._sets[old]

    def get(self, article_id: int) -> np.ndarray:
        found = self._sets.get(article_id)
        if found is None:
            self.prefetch([article_id])
            found = self._sets[article_id]
        return found

    def prefetch(self, ids: Sequence[int]) -> None:
        missing = [i for i in dict.fromkeys(ids) if i not in self._sets]
        for art in self._store.articles(missing):
            self.put(art.id, shingle_hashes(art.text, self._n))
        for i in missing:  # an id with no row (should not happen) still gets an answer
            if i not in self._sets:
                self.put(i, np.empty(0, dtype=np.uint32))


def _check_scheme(store: Store, cfg: DedupConfig) -> None:
    # Schemes are never mixed (this check, and --rebuild clears them all), so the first
    # and last signatures speak for the table without scanning it.
    rows = store._query(
        "SELECT scheme FROM signatures WHERE article_id IN ((SELECT MIN(article_id) FROM"
        " signatures), (SELECT MAX(article_id) FROM signatures))")
    other = [r[0] for r in rows if r[0] != cfg.scheme]
    if other:
        raise StoreError(
            f"{store.location}: stored signatures use {other[0]!r} but the config asks for "
            f"{cfg.scheme!r}; run `newsdedup dedup --rebuild` to re-sign everything"
        )


def dedup(store: Store, cfg: DedupConfig | None = None, *, rebuild: bool = False,
          batch_size: int = 1000) -> DedupResult:
    """Sign and cluster every article that has no signature yet (all of them on rebuild).

    The whole pass runs under the store's dedup lock: two passes that both read the same
    unsigned articles would found two clusters for one story.
    """
    cfg = cfg or DedupConfig()
    with store.dedup_lock():
        return _dedup_pass(store, cfg, rebuild=rebuild, batch_size=batch_size)


def _dedup_pass(store: Store, cfg: DedupConfig, *, rebuild: bool,
                batch_size: int) -> DedupResult:
    if rebuild:
        with store.transaction():
            store.clear_dedup()
    else:
        _check_scheme(store, cfg)
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    cache = _ShingleCache(store, cfg.shingle_size, limit=_CACHE_LIMIT)
    result = DedupResult()
    # Updated articles first, so that new ones meet their current bands. Imported here
    # because store._resign builds on this module's cache, signing and batch bands.
    from ._resign import resign_updated

    resign_updated(store, cfg, hasher, cache, result, batch_size)
    recent = store.recent_band_rows()
    pending = store.article_ids(unsigned_only=True)
    for start in range(0, len(pending), batch_size):
        if recent >= RECENT_BAND_ROWS:
            _compact(store, result)
            recent = 0
        batch = store.articles(pending[start : start + batch_size])
        sets, sigs, buckets = sign_texts([a.text for a in batch], cfg, hasher)
        bands = _BatchBands(store, buckets)
        with store.transaction():
            for art, shingles, sig, keys in zip(batch, sets, sigs, buckets, strict=True):
                cache.put(art.id, shingles)
                _place_one(store, cfg, cache, art.id, shingles, sig, keys, result, bands)
            recent += bands.flush()
    if recent >= RECENT_BAND_ROWS:
        _compact(store, result)
    return result


def _compact(store: Store, result: DedupResult) -> None:
    """Fold the recent LSH bands into the main index; its own transaction, all or none."""
    with store.transaction():
        store.compact_bands()
    result.compactions += 1


class _BatchBands:
    """One batch's view of the persistent LSH index: a read before, a write after.

    Looking up every band of the batch in one sorted sweep, and writing the batch's bands
    in one sorted insert at the end, visits each index page once per batch instead of
    once per article. At a million articles the index is far larger than the page cache,
    and the per-article order was what made a pass cost 2.4x the 10k-article pass.
    Articles of the same batch still find each other through the in-memory part.
    """

    def __init__(self, store: Store, buckets: np.ndarray) -> None:
        self._store = store
        keys = sorted({(band, int(key)) for row in buckets for band, key in enumerate(row)})
        self._stored = store.band_matches(keys)
        self._looked = set(keys)
        self._added: dict[tuple[int, int], list[int]] = {}

    def band_matches(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        # Keys outside the batch (an article the re-sign pass moves) are read on demand.
        missing = sorted(k for k in dict.fromkeys(keys) if k not in self._looked)
        if missing:
            self._stored.update(self._store.band_matches(missing))
            self._looked.update(missing)
        found: dict[tuple[int, int], list[int]] = {}
        for key in keys:
            ids = self._stored.get(key, []) + self._added.get(key, [])
            if ids:
                found[key] = ids
        return found

    def put_bands(self, rows: Iterable[tuple[int, int, int]]) -> None:
        for band, bucket, article_id in rows:
            self._added.setdefault((band, bucket), []).append(article_id)

    def flush(self) -> int:
        rows = sorted((band, bucket, article_id)
                      for (band, bucket), ids in self._added.items() for article_id in ids)
        self._store.put_bands(rows)
        self._added.clear()
        return len(rows)


def sign_texts(texts: Sequence[str], cfg: DedupConfig, hasher: MinHasher,
               ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Shingle sets, MinHash signatures and LSH bucket keys of a batch of texts.

    The one place texts become signatures, shared by the store pass and the Spark job.
    """
    sets = [shingle_hashes(t, cfg.shingle_size) for t in texts]
    sigs = hasher.signatures(sets)
    return sets, sigs, band_buckets(sigs, cfg.lsh)


def _merge(store: DedupIndex, cache: _ShingleCache, *, into: int, merged: int) -> int:
    """Fold the younger of two clusters into the older; returns the id that remains.

    Members are re-measured against the remaining representative. The older id survives,
    so the clusters users have already seen keep their ids.
    """
    keep, retire = min(into, merged), max(into, merged)
    rep = cache.get(keep)
    for member in store.cluster_member_ids(retire):
        own = cache.get(member)
        store.move_membership(member, keep, compare(own, rep).jaccard, share_carried(rep, own))
    return keep


class _BandIndex(Protocol):
    def band_matches(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        ...
    def put_bands(self, rows: Iterable[tuple[int, int, int]]) -> None: ...


def candidates_of(store: DedupIndex, bands: _BandIndex, cache: _ShingleCache,
                  band_keys: Sequence[tuple[int, int]], exclude: Collection[int] = (),
                  ) -> tuple[list[int], dict[int, int]]:
    """LSH candidates filed under ``band_keys`` (less ``exclude``) and their clusters,
    with the shingle sets placement will compare already in the cache."""
    candidates: list[int] = []
    if band_keys:
        matches = bands.band_matches(band_keys)
        candidates = sorted({i for ids in matches.values() for i in ids} - set(exclude))
        cache.prefetch(candidates)
    cluster_of = store.clusters_of(candidates)
    cache.prefetch(list(set(cluster_of.values())))
    return candidates, cluster_of


def _place_one(store: DedupIndex, cfg: DedupConfig, cache: _ShingleCache, article_id: int,
               shingles: np.ndarray, sig: np.ndarray, keys: np.ndarray,
               result: DedupResult, bands: _BandIndex | None = None) -> None:
    bands = bands or store
    band_keys = [(band, int(key)) for band, key in enumerate(keys)]
    long_enough = len(shingles) >= cfg.thresholds.min_shingles
    candidates, cluster_of = candidates_of(store, bands, cache,
                                           band_keys if long_enough else [])
    placement = place(article_id, shingles, candidates, cluster_of,
                      store.cluster_member_ids, cache.get, cfg.thresholds)
    store.put_signatures([(article_id, cfg.scheme, len(shingles), signature_to_bytes(sig))])
    if long_enough:
        bands.put_bands([(band, key, article_id) for band, key in band_keys])
    else:
        result.too_short += 1
    store.set_membership(article_id, placement.cluster_id, placement.similarity,
                         placement.containment)
    current = placement.cluster_id
    for other in placement.also_verified:
        if mergeable(cache.get(current), cache.get(other), cfg.thresholds):
            current = _merge(store, cache, into=current, merged=other)
            result.merged += 1
    result.signed += 1
    if placement.cluster_id == article_id:
        result.new_clusters += 1
    else:
        result.joined += 1
