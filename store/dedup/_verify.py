"""Verification of a candidate pair on exact shingle sets.

LSH only nominates candidates; membership is decided on the actual shingle sets, so a
cluster never rests on a lucky band collision. Two measures, because syndication has two
shapes: a full copy has high Jaccard similarity, while a republication that keeps the first
400 words of an 800-word wire story has Jaccard near 0.5 yet carries almost all of its own
text from the original, which containment (|A ∩ B| / |A| of the smaller side) sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    jaccard: float = 0.5
    containment: float = 0.7
    min_shingles: int = 20  # shorter bodies are never clustered: they are mostly chrome


@dataclass(frozen=True)
class Match:
    jaccard: float
    containment: float  # of the smaller set in the larger one

    def verified(self, t: Thresholds) -> bool:
        return self.jaccard >= t.jaccard or self.containment >= t.containment


def compare(a: np.ndarray, b: np.ndarray) -> Match:
    """Exact Jaccard and containment of two sorted unique shingle-hash arrays."""
    if not len(a) or not len(b):
        return Match(0.0, 0.0)
    shared = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - shared
    return Match(shared / union, shared / min(len(a), len(b)))


def share_carried(origin: np.ndarray, member: np.ndarray) -> float:
    """The share of the origin's shingles that a member carries (Churnalism's "% copied")."""
    if not len(origin):
        return 0.0
    return len(np.intersect1d(origin, member, assume_unique=True)) / len(origin)
