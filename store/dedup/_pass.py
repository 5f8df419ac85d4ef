"""The incremental dedup pass: sign new articles, find LSH candidates, verify, place.

Work is proportional to the new articles: their signatures are computed in one vectorized
batch, their bands are looked up with indexed point queries, and only the candidates'
texts are read back. Each batch commits signatures, bands and memberships together, so a
killed run leaves either a whole batch or none of it.
"""

from __future__ import annotations

from store._exceptions import StoreError
from store.backends import Store

from ._config import DedupConfig, DedupResult
from ._core import BatchBands, ShingleCache, place_one, sign_texts
from ._minhash import MinHasher
from ._resign import resign_updated

# Shingle sets kept per pass: about 200 MiB of news-length articles.
_CACHE_LIMIT = 100_000

# Rows the write tier of the LSH index (``lsh_recent``) takes before a pass folds it into
# ``lsh_bands``: about 40 runs of 1,000 articles at 37 bands. Larger means rarer, longer
# compactions (at 1M articles: every 40 runs, about 15 s) and a bigger table to look up.
RECENT_BAND_ROWS = 1_500_000


def _check_scheme(store: Store, cfg: DedupConfig) -> None:
    other = sorted(store.signature_schemes() - {cfg.scheme})
    if other:
        raise StoreError(
            f"{store.location}: stored signatures use {other[0]!r} but the config asks for "
            f"{cfg.scheme!r}; run `newsdedup dedup --rebuild` to re-sign everything"
        )


def dedup_store(store: Store, cfg: DedupConfig | None = None, *, rebuild: bool = False,
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
    cache = ShingleCache(store, cfg.shingle_size, limit=_CACHE_LIMIT)
    result = DedupResult()
    # Updated articles first, so that new ones meet their current bands.
    resign_updated(store, cfg, hasher, cache, result, batch_size)
    recent = store.recent_band_rows()
    pending = store.article_ids(unsigned_only=True)
    for start in range(0, len(pending), batch_size):
        if recent >= RECENT_BAND_ROWS:
            _compact(store, result)
            recent = 0
        batch = store.articles(pending[start : start + batch_size])
        sets, sigs, buckets = sign_texts([a.text for a in batch], cfg, hasher)
        bands = BatchBands(store, buckets)
        with store.transaction():
            for art, shingles, sig, keys in zip(batch, sets, sigs, buckets, strict=True):
                cache.put(art.id, shingles)
                place_one(store, cfg, cache, art.id, shingles, sig, keys, result, bands)
            recent += bands.flush()
    if recent >= RECENT_BAND_ROWS:
        _compact(store, result)
    return result


def _compact(store: Store, result: DedupResult) -> None:
    """Fold the recent LSH bands into the main index; its own transaction, all or none."""
    with store.transaction():
        store.compact_bands()
    result.compactions += 1
