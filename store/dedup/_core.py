"""The placement core every dedup path shares: the store pass, re-signing and the replay.

One article at a time: its LSH candidates are looked up (:func:`candidates_of`), verified
on exact shingle sets and placed (:func:`place_one`), and two clusters that a new copy shows
to be one story are folded together (:func:`merge`). The incremental pass
(``store.dedup._pass``), the re-sign pass of updated articles (``_resign``) and the
in-memory replay Spark runs per component (``_inmemory``) all call these, so the rules
live in one place and the three paths cannot drift apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

import numpy as np

from store.backends import Store

from ._config import DedupConfig, DedupResult
from ._lsh import band_buckets
from ._minhash import MinHasher, signature_to_bytes
from ._placement import mergeable, place
from ._shingles import shingle_hashes
from ._verify import compare, share_carried


class _HasText(Protocol):
    id: int
    text: str


class DedupIndex(Protocol):
    """What the sequential placement core needs from where articles and clusters live.

    The :class:`Store` is one implementation; ``store.dedup._inmemory.MemoryIndex`` (dicts) is the
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


class ShingleCache:
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


class BatchBands:
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


def merge(store: DedupIndex, cache: ShingleCache, *, into: int, merged: int) -> int:
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


class BandIndex(Protocol):
    def band_matches(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        ...
    def put_bands(self, rows: Iterable[tuple[int, int, int]]) -> None: ...


def candidates_of(store: DedupIndex, bands: BandIndex, cache: ShingleCache,
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


def place_one(store: DedupIndex, cfg: DedupConfig, cache: ShingleCache, article_id: int,
               shingles: np.ndarray, sig: np.ndarray, keys: np.ndarray,
               result: DedupResult, bands: BandIndex | None = None) -> None:
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
            current = merge(store, cache, into=current, merged=other)
            result.merged += 1
    result.signed += 1
    if placement.cluster_id == article_id:
        result.new_clusters += 1
    else:
        result.joined += 1
