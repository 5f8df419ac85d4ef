"""Candidate pairs from shared keys, and connected components of verified pairs.

Records that share an LSH bucket in some band, or an anchor, are candidates. Both are
"records with an equal key" problems, solved with one sort of (key, record) rows instead
of a hash table per key: a million records' rows fit in a few numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from store._jit import jit

# A key held by more records than this is too common to mean "same story" (a stock phrase,
# an outlet's standing line that boilerplate learning did not catch): it yields no pairs.
MAX_KEY_RECORDS = 1000

# What a shared key weighs, and what a pair's shared keys must weigh to be a candidate. An
# LSH bucket is enough alone. A sentence anchor is enough alone only when one of the two
# records has at most FEW_ANCHORS anchors: one sentence can be a fifth of such a record,
# which is the default reuse threshold, so it may be a copy or a link (a lede-only copy,
# a brief). Two longer records must share two sentences. One shared sentence between long
# texts is a quote or a stock phrase ("did not immediately respond to a request for
# comment"), and such phrases' holders grow with the store: in the incremental benchmark's
# million-article store, pairs sharing one anchor were 48 times those sharing two, and at
# most 77 of its 302,860 verified pairs (all copies) were found by nothing else.
STRONG = 2
WEAK = 1
# Stores keep the anchors of the records holding this many or fewer apart (``few_anchors``):
# changing it changes the candidates, so it goes with a new ``_config.ENGINE``, whose
# re-signing pass writes that table again.
FEW_ANCHORS = 5


def pair_codes(
    keys: np.ndarray, owners: np.ndarray, max_records: int = MAX_KEY_RECORDS
) -> np.ndarray:
    """Unique pairs (i, j), i < j, of owners that share a key, as sorted codes
    ``i << 32 | j``: one int64 a pair, so that a million records' pairs are deduplicated by
    a flat sort, not a row-wise one. What :func:`weighted_pair_codes` gives where every
    key weighs enough alone (LSH bands)."""
    strong = np.full(len(keys), STRONG, dtype=np.uint8)
    return np.unique(weighted_pair_codes(keys, owners, strong, max_records)[0])


def holds_few_anchors(counts: int | np.ndarray) -> bool | np.ndarray:
    """Whether a record with this many anchors is one a single shared anchor may pair."""
    return np.asarray(counts) <= FEW_ANCHORS


def anchor_weights(counts: np.ndarray) -> np.ndarray:
    """The weight of each anchor a record holds, by the record's anchor count."""
    return np.where(holds_few_anchors(counts), STRONG, WEAK).astype(np.uint8)


def weighted_pair_codes(
    keys: np.ndarray,
    owners: np.ndarray,
    weights: np.ndarray,
    max_records: int = MAX_KEY_RECORDS,
) -> tuple[np.ndarray, np.ndarray]:
    """(codes, weights) of the pairs of owners sharing each key, one row per pair and key:
    a pair sharing three keys has three rows. ``keys``, ``owners`` and ``weights`` are
    parallel 1-D arrays (one row per key a record holds); a key held by more than
    ``max_records`` records yields no pairs. A pair's weight on a key is the larger of its
    two rows' ``weights``. Sum them with :func:`candidate_codes`, in any grouping: the rows
    of one pair may come from different calls (different key partitions)."""
    if not len(keys):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8)
    order = np.lexsort((owners, keys))
    keys, owners, weights = keys[order], owners[order], weights[order]
    distinct = np.r_[True, (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])]
    keys, owners, weights = keys[distinct], owners[distinct], weights[distinct]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    take = (sizes > 1) & (sizes <= max_records)
    starts, sizes = starts[take], sizes[take]
    if not len(starts):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8)
    return _all_weighted_pairs(
        owners.astype(np.int64),
        np.ascontiguousarray(weights, dtype=np.uint8),
        starts.astype(np.int64),
        sizes.astype(np.int64),
        int((sizes * (sizes - 1) // 2).sum()),
    )


def summed_codes(codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique codes, their rows' weights summed, at most :data:`STRONG`): what a
    part of the rows says, to be summed again with the other parts."""
    if not len(codes):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8)
    unique, inverse = np.unique(codes, return_inverse=True)
    total = np.bincount(inverse.reshape(-1), weights=weights, minlength=len(unique))
    return unique, np.minimum(total, STRONG).astype(np.uint8)


def candidate_codes(codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sorted unique codes whose rows' weights sum to :data:`STRONG` or more."""
    unique, total = summed_codes(codes, weights)
    return unique[total >= STRONG]


def decode_pairs(codes: np.ndarray) -> np.ndarray:
    """(n, 2) int64 pairs from :func:`pair_codes`' codes."""
    out = np.empty((len(codes), 2), dtype=np.int64)
    out[:, 0] = codes >> 32
    out[:, 1] = codes & 0xFFFFFFFF
    return out


@jit
def _all_weighted_pairs(owners, weights, starts, sizes, total):  # noqa: ANN001, ANN202
    out = np.empty(total, dtype=np.int64)
    weight = np.empty(total, dtype=np.uint8)
    k = 0
    for g in range(starts.shape[0]):
        s, n = starts[g], sizes[g]
        for a in range(s, s + n):
            for b in range(a + 1, s + n):
                out[k] = (owners[a] << 32) | owners[b]  # owners ascend within a key
                weight[k] = max(weights[a], weights[b])
                k += 1
    return out, weight


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Component label (the smallest member index) of each of ``n`` nodes."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return _union_find(n, np.ascontiguousarray(edges[:, 0]), np.ascontiguousarray(edges[:, 1]))


def component_members(n: int, edges: np.ndarray) -> Iterator[np.ndarray]:
    """The members (ascending) of each component of two or more of ``n`` nodes, in the
    order of their smallest member."""
    label = components(n, edges)
    order = np.argsort(label, kind="stable")
    bounds = np.flatnonzero(np.r_[True, label[order][1:] != label[order][:-1], True])
    big = np.flatnonzero(np.diff(bounds) >= 2)
    for lo, hi in zip(bounds[big].tolist(), bounds[big + 1].tolist(), strict=True):
        yield order[lo:hi]


@jit
def _union_find(n, a, b):  # noqa: ANN001, ANN202
    parent = np.arange(n, dtype=np.int64)
    for k in range(a.shape[0]):
        ra = a[k]
        while parent[ra] != ra:
            parent[ra] = parent[parent[ra]]  # path halving
            ra = parent[ra]
        rb = b[k]
        while parent[rb] != rb:
            parent[rb] = parent[parent[rb]]
            rb = parent[rb]
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    for i in range(n):  # a root is its component's smallest index; parents point lower
        parent[i] = parent[parent[i]]
    return parent
