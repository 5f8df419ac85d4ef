"""Candidate pairs from shared keys, and connected components of verified pairs.

Records that share an LSH bucket in some band, or an anchor, are candidates. Both are
"records with an equal key" problems, solved with one sort of (key, record) rows instead
of a hash table per key: a million records' rows fit in a few numpy arrays.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# A key held by more records than this is too common to mean "same story" (a stock phrase,
# an outlet's standing line that boilerplate learning did not catch): it yields no pairs.
MAX_KEY_RECORDS = 1000


def pairs_sharing(keys: np.ndarray, owners: np.ndarray,
                  max_records: int = MAX_KEY_RECORDS) -> np.ndarray:
    """Unique (i, j), i < j, of owners that share a key: an (n, 2) int64 array.

    ``keys`` and ``owners`` are parallel 1-D arrays (one row per key a record holds). A key
    held by more than ``max_records`` records yields no pairs.
    """
    if not len(keys):
        return np.empty((0, 2), dtype=np.int64)
    order = np.lexsort((owners, keys))
    keys, owners = keys[order], owners[order]
    distinct = np.r_[True, (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])]
    keys, owners = keys[distinct], owners[distinct]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    take = (sizes > 1) & (sizes <= max_records)
    starts, sizes = starts[take], sizes[take]
    if not len(starts):
        return np.empty((0, 2), dtype=np.int64)
    pairs = _all_pairs(owners.astype(np.int64), starts.astype(np.int64), sizes.astype(np.int64),
                       int((sizes * (sizes - 1) // 2).sum()))
    return np.unique(pairs, axis=0)


@jit
def _all_pairs(owners, starts, sizes, total):  # noqa: ANN001, ANN202
    out = np.empty((total, 2), dtype=np.int64)
    k = 0
    for g in range(starts.shape[0]):
        s, n = starts[g], sizes[g]
        for a in range(s, s + n):
            for b in range(a + 1, s + n):
                out[k, 0] = owners[a]
                out[k, 1] = owners[b]
                k += 1
    return out


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Component label (the smallest member index) of each of ``n`` nodes."""
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in edges.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)
