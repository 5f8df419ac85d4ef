"""Candidate pairs from shared keys, and connected components of verified pairs.

Records that share an LSH bucket in some band, or an anchor, are candidates. Both are
"records with an equal key" problems, solved with one sort of (key, record) rows instead
of a hash table per key: a million records' rows fit in a few numpy arrays.
"""

from __future__ import annotations

import numpy as np

# A key held by more records than this is too common to mean "same story" (a stock phrase,
# an outlet's standing line that boilerplate learning did not catch): it yields no pairs.
MAX_KEY_RECORDS = 1000


def pairs_sharing(keys: np.ndarray, owners: np.ndarray,
                  max_records: int = MAX_KEY_RECORDS) -> np.ndarray:
    """Unique (i, j), i < j, of owners that share a key: an (n, 2) int64 array.

    ``keys`` and ``owners`` are parallel 1-D arrays (one row per key a record holds).
    """
    if not len(keys):
        return np.empty((0, 2), dtype=np.int64)
    order = np.lexsort((owners, keys))
    keys, owners = keys[order], owners[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    chunks = []
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        if size > max_records:
            continue
        group = np.unique(owners[start : start + size])
        if len(group) < 2:
            continue
        a, b = np.triu_indices(len(group), k=1)
        chunks.append(np.stack([group[a], group[b]], axis=1))
    if not chunks:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(chunks).astype(np.int64)
    return np.unique(pairs, axis=0)


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
