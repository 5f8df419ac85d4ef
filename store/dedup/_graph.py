"""Candidate pairs from shared keys, and connected components of verified pairs.

Records that share an LSH bucket in some band, or an anchor, are candidates. Both are
"records with an equal key" problems, solved with one sort of (key, record) rows instead
of a hash table per key: a million records' rows fit in a few numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._jit import jit

# A key held by more records than this is too common to mean "same story" (a stock phrase,
# an outlet's standing line that boilerplate learning did not catch): it yields no pairs.
MAX_KEY_RECORDS = 1000


def pairs_sharing(
    keys: np.ndarray, owners: np.ndarray, max_records: int = MAX_KEY_RECORDS
) -> np.ndarray:
    """Unique (i, j), i < j, of owners that share a key: an (n, 2) int64 array.

    ``keys`` and ``owners`` are parallel 1-D arrays (one row per key a record holds). A key
    held by more than ``max_records`` records yields no pairs.
    """
    return decode_pairs(pair_codes(keys, owners, max_records))


def pair_codes(
    keys: np.ndarray, owners: np.ndarray, max_records: int = MAX_KEY_RECORDS
) -> np.ndarray:
    """:func:`pairs_sharing` as sorted unique codes ``i << 32 | j``: one int64 a pair, so
    that a million records' pairs are deduplicated by a flat sort, not a row-wise one."""
    if not len(keys):
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((owners, keys))
    keys, owners = keys[order], owners[order]
    distinct = np.r_[True, (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])]
    keys, owners = keys[distinct], owners[distinct]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    take = (sizes > 1) & (sizes <= max_records)
    starts, sizes = starts[take], sizes[take]
    if not len(starts):
        return np.empty(0, dtype=np.int64)
    codes = _all_pairs(
        owners.astype(np.int64),
        starts.astype(np.int64),
        sizes.astype(np.int64),
        int((sizes * (sizes - 1) // 2).sum()),
    )
    return np.unique(codes)


def decode_pairs(codes: np.ndarray) -> np.ndarray:
    """(n, 2) int64 pairs from :func:`pair_codes`' codes."""
    out = np.empty((len(codes), 2), dtype=np.int64)
    out[:, 0] = codes >> 32
    out[:, 1] = codes & 0xFFFFFFFF
    return out


@jit
def _all_pairs(owners, starts, sizes, total):  # noqa: ANN001, ANN202
    out = np.empty(total, dtype=np.int64)
    k = 0
    for g in range(starts.shape[0]):
        s, n = starts[g], sizes[g]
        for a in range(s, s + n):
            for b in range(a + 1, s + n):
                out[k] = (owners[a] << 32) | owners[b]  # owners ascend within a key
                k += 1
    return out


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
