"""The dedup pass on plain dicts: what a Spark task runs on one component of a corpus.

``store.dedup._pass`` places articles one at a time in id order, and each placement only looks
at earlier articles sharing an LSH band with the new one, at their clusters'
representatives and at those clusters' members. All of them lie in the new article's
connected component of the LSH-candidate graph, so replaying the same sequential core
(``place_one``, ``_merge``, ``place``) on one component with an in-memory index gives
exactly the clusters the store pass gives on the whole corpus. This module is that index
plus the corpus-output mapping of ``store.dedup._corpus.cluster_corpus`` (origin rule, figures
against the origin, rounding), so the local and the Spark paths share one algorithm.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from store._models import StoredArticle
from store._time import from_db_time, to_db_time

from ._clusters import probable_origin
from ._config import DedupConfig, DedupResult
from ._core import ShingleCache, place_one, sign_texts
from ._corpus import UNDATED, CorpusAssignment, CorpusRecord
from ._minhash import MinHasher
from ._verify import compare, share_carried

# The in-memory index keeps no signatures (nothing reads them back), so none are shipped.
_NO_SIGNATURE = np.empty(0, dtype=np.uint64)
_NO_KEYS = np.empty(0, dtype=np.int64)


class MemoryIndex:
    """LSH bands, memberships and clusters of one replay, as dicts (a ``DedupIndex``)."""

    def __init__(self) -> None:
        self._bands: dict[tuple[int, int], list[int]] = {}
        self._cluster_of: dict[int, int] = {}
        self._members: dict[int, list[int]] = {}  # cluster id -> member ids, ascending
        self.figures: dict[int, tuple[float, float]] = {}  # against the representative

    def articles(self, ids: Sequence[int]) -> list[StoredArticle]:
        # Every article is put in the shingle cache before it is placed, and placement
        # only reaches earlier articles, so a miss means the component cut was wrong.
        if ids:
            raise LookupError(f"articles {list(ids)[:5]} are outside this component")
        return []

    def band_matches(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        return {k: list(self._bands[k]) for k in dict.fromkeys(keys) if k in self._bands}

    def clusters_of(self, ids: Sequence[int]) -> dict[int, int]:
        return {i: self._cluster_of[i] for i in ids if i in self._cluster_of}

    def cluster_member_ids(self, cluster_id: int) -> list[int]:
        return list(self._members.get(cluster_id, ()))  # a copy: merges edit while iterating

    def put_signatures(self, rows: Iterable[tuple[int, str, int, bytes]]) -> None:
        pass

    def put_bands(self, rows: Iterable[tuple[int, int, int]]) -> None:
        for band, bucket, article_id in rows:
            ids = self._bands.setdefault((band, bucket), [])
            if article_id not in ids:
                ids.append(article_id)

    def set_membership(self, article_id: int, cluster_id: int, similarity: float,
                       containment: float) -> None:
        self._cluster_of[article_id] = cluster_id
        bisect.insort(self._members.setdefault(cluster_id, []), article_id)
        self.figures[article_id] = (similarity, containment)

    def move_membership(self, article_id: int, cluster_id: int, similarity: float,
                        containment: float) -> None:
        old = self._members[self._cluster_of[article_id]]
        old.remove(article_id)
        if not old:
            del self._members[self._cluster_of[article_id]]
        self.set_membership(article_id, cluster_id, similarity, containment)

    def clusters(self) -> dict[int, list[int]]:
        return {c: list(m) for c, m in self._members.items()}


@dataclass
class SignedRecord:
    """A corpus record reduced to what clustering needs; ``index`` is its file position."""

    index: int
    id: str
    published: datetime | None  # as the store would give it back: UTC, whole seconds
    shingles: np.ndarray  # sorted unique uint32
    keys: np.ndarray  # LSH bucket per band; empty when too short to be banded
    url: str | None = None  # carried to the output row


def sign_records(records: Sequence[CorpusRecord], cfg: DedupConfig, hasher: MinHasher,
                 start: int = 0) -> list[SignedRecord]:
    """Sign a batch of records whose file positions are ``start``, ``start + 1``, ..."""
    sets, _, buckets = sign_texts([r.text for r in records], cfg, hasher)
    out = []
    for n, (r, shingles, keys) in enumerate(zip(records, sets, buckets, strict=True)):
        banded = len(shingles) >= cfg.thresholds.min_shingles
        out.append(SignedRecord(start + n, r.id, from_db_time(to_db_time(r.published)),
                                shingles, keys if banded else _NO_KEYS, r.url))
    return out


def cluster_signed(records: Sequence[SignedRecord], cfg: DedupConfig) -> list[CorpusAssignment]:
    """Replay the store's dedup pass over these records in file order; rows in that order.

    Given a whole corpus this is ``cluster_corpus`` without SQLite; given one connected
    component of the LSH-candidate graph it is that corpus's rows for the component.
    """
    records = sorted(records, key=lambda r: r.index)
    index = MemoryIndex()
    cache = ShingleCache(index, cfg.shingle_size)
    result = DedupResult()
    for r in records:
        cache.put(r.index, r.shingles)
        place_one(index, cfg, cache, r.index, r.shingles, _NO_SIGNATURE, r.keys, result)
    by_index = {r.index: r for r in records}
    placed: dict[int, CorpusAssignment] = {}
    for cluster_id, member_ids in index.clusters().items():
        members = [_as_article(by_index[i]) for i in member_ids]
        origin = probable_origin(members)
        origin_set = by_index[origin.id].shingles
        for i in member_ids:
            own = by_index[i].shingles
            placed[i] = CorpusAssignment(
                by_index[i].id, by_index[cluster_id].id, by_index[origin.id].id,
                round(compare(origin_set, own).jaccard, 4),
                round(share_carried(origin_set, own), 4), by_index[i].url)
    return [placed[r.index] for r in records]


def _as_article(r: SignedRecord) -> StoredArticle:
    """The fields ``probable_origin`` ranks by, as ``cluster_corpus`` stores them."""
    return StoredArticle(id=r.index, url="", host="corpus", publisher=None, title=None,
                         byline=None, agency=None, published=r.published, fetched=UNDATED,
                         text="")


def cluster_in_memory(records: Sequence[CorpusRecord], cfg: DedupConfig | None = None,
                      batch_size: int = 1000) -> list[CorpusAssignment]:
    """``cluster_corpus`` without a database: the whole corpus as one replay."""
    cfg = cfg or DedupConfig()
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    signed: list[SignedRecord] = []
    for start in range(0, len(records), batch_size):
        signed += sign_records(records[start : start + batch_size], cfg, hasher, start)
    return cluster_signed(signed, cfg)
