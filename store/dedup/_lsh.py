"""Banded LSH over MinHash signatures, with parameters derived from a stated threshold.

The signature of ``num_perm`` values is cut into ``bands`` bands of ``rows`` values; two
articles become candidates when any band is identical. The chance of that for Jaccard
similarity ``s`` is ``1 - (1 - s**rows) ** bands``. As in datasketch's ``MinHashLSH``, the
(bands, rows) pair is the one that minimises the weighted area of false positives below the
threshold plus false negatives above it, so users state a threshold, not magic numbers.

Each band is reduced to one signed 64-bit bucket key, so the persistent index is a plain
``(band, bucket, article_id)`` table that any SQL engine indexes well.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_GRID = 1001  # integration points on [0, 1]; the error is far below what changes the choice


@dataclass(frozen=True)
class LSHParams:
    bands: int
    rows: int

    def candidate_probability(self, similarity: float) -> float:
        return 1.0 - (1.0 - similarity**self.rows) ** self.bands


def _area(b: int, r: int, lo: float, hi: float, false_negative: bool) -> float:
    s = np.linspace(lo, hi, _GRID)
    p = 1.0 - (1.0 - s**r) ** b
    return float(np.trapezoid(1.0 - p if false_negative else p, s))


@lru_cache(maxsize=64)
def optimal_params(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
) -> LSHParams:
    """The (bands, rows) minimising weighted false-positive + false-negative probability."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"LSH threshold must be between 0 and 1, got {threshold}")
    best, best_error = LSHParams(1, 1), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            error = false_positive_weight * _area(
                b, r, 0.0, threshold, False
            ) + false_negative_weight * _area(b, r, threshold, 1.0, True)
            if error < best_error:
                best, best_error = LSHParams(b, r), error
    return best


_MIX = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * _MUL1
    x = x ^ (x >> np.uint64(27))
    x = x * _MUL2
    return x ^ (x >> np.uint64(31))


def band_buckets(signatures: np.ndarray, params: LSHParams) -> np.ndarray:
    """(n, bands) int64 bucket keys; equal bands give equal keys, others almost never."""
    sigs = np.asarray(signatures, dtype=np.uint64)
    n = sigs.shape[0]
    used = params.bands * params.rows
    blocks = sigs[:, :used].reshape(n, params.bands, params.rows)
    with np.errstate(over="ignore"):
        h = np.full((n, params.bands), _MIX, dtype=np.uint64)
        for j in range(params.rows):
            h = _splitmix(h ^ blocks[:, :, j]) + _MIX
    return h.view(np.int64)
