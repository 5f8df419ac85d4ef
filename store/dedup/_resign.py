"""Re-signing articles a revisit updated in place, and what that may move.

The dedup pass finds new articles by id (SQLite: everything past the highest signed id),
which an article changed in place never matches again; ``Store.revise_article`` queues it
in ``resign`` instead, and this pass drains the queue, a batch per transaction, before
new articles are placed, so they meet its current LSH bands.

What moves is kept to the changed article's own cluster: other clusters keep their ids
and representatives, and no merge is made (a re-placed article may verify against two
clusters, but that is no news about the two of them). The cluster id is its
representative's id (``store.dedup._placement``), so:

* a representative stays, and its cluster keeps its id. A member stays if it verifies
  against the corrected text, or against a strict majority of the representative and the
  members that do (the join rule, applied to the cluster the correction defines); the
  others are detached and placed again like new articles, in id order.
* a plain member stays, figures updated, if it still passes the join rule against its
  own cluster; else it is detached and placed like a new article.
* a singleton is placed like a new article: it may join a cluster, and its own cluster
  id then disappears, because it had no other members.

``dedup --rebuild`` replays every article in id order on its current text, so it may draw
the lines differently from this history, as it would for any other order of arrival.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.backends import Store

from ._config import DedupConfig, DedupResult
from ._core import BatchBands, ShingleCache, candidates_of, sign_texts
from ._lsh import band_buckets
from ._minhash import MinHasher, signature_from_bytes, signature_to_bytes
from ._placement import place
from ._verify import Thresholds, compare, share_carried


def resign_updated(store: Store, cfg: DedupConfig, hasher: MinHasher, cache: ShingleCache,
                   result: DedupResult, batch_size: int) -> None:
    """Drain the resign queue: sign each updated article again and settle its cluster.

    An article with no signature yet is only dequeued: the new-article path signs it, and
    signing it here could put it past SQLite's highest-signed-id mark ahead of others.
    """
    queued = store.resign_queue()
    for start in range(0, len(queued), batch_size):
        ids = queued[start : start + batch_size]
        batch = store.articles(sorted(store.signed_ids(ids)))
        sets, sigs, buckets = sign_texts([a.text for a in batch], cfg, hasher)
        bands = BatchBands(store, buckets)
        with store.transaction():
            for art, shingles, sig, keys in zip(batch, sets, sigs, buckets, strict=True):
                cache.put(art.id, shingles)
                store.drop_signature(art.id, _old_band_keys(store, cfg, art.id))
                store.put_signatures(
                    [(art.id, cfg.scheme, len(shingles), signature_to_bytes(sig))])
                if len(shingles) >= cfg.thresholds.min_shingles:
                    bands.put_bands([(band, int(key), art.id) for band, key in enumerate(keys)])
                result.resigned += 1
                _settle(store, cfg, hasher, cache, bands, art.id, result)
            bands.flush()
            store.resign_done(ids)


def _old_band_keys(store: Store, cfg: DedupConfig, article_id: int) -> list[tuple[int, int]]:
    """The (band, bucket) keys the article's stored signature was filed under."""
    stored = store.stored_signature(article_id)
    if stored is None:
        return []
    keys = band_buckets(signature_from_bytes(stored)[None, :], cfg.lsh)[0]
    return [(band, int(key)) for band, key in enumerate(keys)]


def _settle(store: Store, cfg: DedupConfig, hasher: MinHasher, cache: ShingleCache,
            bands: BatchBands, article_id: int, result: DedupResult) -> None:
    t = cfg.thresholds
    cluster = store.clusters_of([article_id]).get(article_id, article_id)
    others = [m for m in store.cluster_member_ids(cluster) if m != article_id]
    if cluster != article_id:  # a plain member
        if _passes_join_rule(cache, t, article_id, cluster, others):
            _measure(store, cache, article_id, cluster)
        else:
            _replace(store, cfg, hasher, cache, bands, [article_id], result)
        return
    if not others:  # a singleton
        _replace(store, cfg, hasher, cache, bands, [article_id], result)
        return
    rep = cache.get(article_id)
    cache.prefetch(others)
    verified = ([m for m in others if compare(cache.get(m), rep).verified(t)]
                if len(rep) >= t.min_shingles else [])
    anchors = [article_id, *verified]
    stay = set(verified) | {
        m for m in others if m not in verified and len(rep) >= t.min_shingles
        and 2 * sum(compare(cache.get(m), cache.get(a)).verified(t) for a in anchors)
        > len(anchors)}
    for m in others:
        if m in stay:
            _measure(store, cache, m, cluster)
    _replace(store, cfg, hasher, cache, bands, [m for m in others if m not in stay], result)


def _passes_join_rule(cache: ShingleCache, t: Thresholds, article_id: int, cluster: int,
                      others: Sequence[int]) -> bool:
    """Would this article join its own cluster, the other members being as they are?"""
    cache.prefetch(others)
    placement = place(article_id, cache.get(article_id), others,
                      dict.fromkeys(others, cluster), lambda _c: others, cache.get, t)
    return placement.cluster_id == cluster


def _measure(store: Store, cache: ShingleCache, article_id: int, cluster: int) -> None:
    rep, own = cache.get(cluster), cache.get(article_id)
    store.move_membership(article_id, cluster, compare(own, rep).jaccard,
                          share_carried(rep, own))


def _replace(store: Store, cfg: DedupConfig, hasher: MinHasher, cache: ShingleCache,
             bands: BatchBands, ids: Sequence[int], result: DedupResult) -> None:
    """Place these articles again like new ones, in id order.

    Like new ones, each sees only what is already placed: the others of ``ids`` still
    waiting are no candidates and no members, or detached copies of one story would
    outvote the correction and drag each other back into the cluster they just left.
    """
    if not ids:
        return
    waiting = set(ids)
    sets = [cache.get(i) for i in sorted(ids)]
    keys = band_buckets(hasher.signatures(sets), cfg.lsh)
    for article_id, shingles, row in zip(sorted(ids), sets, keys, strict=True):
        waiting.discard(article_id)
        before = store.clusters_of([article_id]).get(article_id)
        band_keys = ([(band, int(key)) for band, key in enumerate(row)]
                     if len(shingles) >= cfg.thresholds.min_shingles else [])
        candidates, cluster_of = candidates_of(store, bands, cache, band_keys, waiting)

        def members(cluster: int, me: int = article_id) -> list[int]:
            return [m for m in store.cluster_member_ids(cluster)
                    if m != me and m not in waiting]

        placement = place(article_id, shingles, candidates, cluster_of, members, cache.get,
                          cfg.thresholds)
        # A signed article always has a membership (``newsdedup check``); set one anyway.
        write = store.set_membership if before is None else store.move_membership
        write(article_id, placement.cluster_id, placement.similarity, placement.containment)
        if before is not None and placement.cluster_id != before:
            result.moved += 1
