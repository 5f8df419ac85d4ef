"""Verification of a candidate pair on exact shingle sets.

LSH and anchors only nominate candidates; whether two records tell the same story is
decided on their actual content shingles (``_content``: word 3-grams of the text less its
boilerplate), so a cluster never rests on a lucky band collision. Syndication has two
shapes, and coverage sees both: a full copy covers its source and is covered by it; a
republication that keeps the first 400 words of an 800-word story is covered by it almost
wholly (its own coverage is high), while it covers only half of the story. A story that
quotes a paragraph of another, or reuses its background paragraphs, is covered by it only
in part — a *partial reuse*, reported as a link, never a reason to cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    jaccard: float = 0.5  # a pair this similar is a copy whatever its sizes
    containment: float = 0.6  # a record whose content is this much in another is a copy of it
    reuse: float = 0.2  # below a copy, this share found in another story is a reuse link
    min_shingles: int = 20  # shorter contents are never clustered: too little to tell


@dataclass(frozen=True)
class Match:
    jaccard: float
    containment: float  # of the smaller set in the larger one
    a_in_b: float = 0.0  # share of the first record's content found in the second
    b_in_a: float = 0.0

    def verified(self, t: Thresholds) -> bool:
        """A copy relation: one record is (almost) wholly in the other."""
        return self.jaccard >= t.jaccard or self.containment >= t.containment


def compare(a: np.ndarray, b: np.ndarray) -> Match:
    """Exact Jaccard and coverage of two sorted unique shingle-hash arrays."""
    if not len(a) or not len(b):
        return Match(0.0, 0.0)
    shared = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - shared
    return Match(shared / union, shared / min(len(a), len(b)), shared / len(a), shared / len(b))


def coverage(part: np.ndarray, whole: np.ndarray) -> float:
    """The share of ``part``'s shingles found in ``whole``."""
    if not len(part):
        return 0.0
    return len(np.intersect1d(part, whole, assume_unique=True)) / len(part)


def share_carried(origin: np.ndarray, member: np.ndarray) -> float:
    """The share of the origin's shingles that a member carries (Churnalism's "% copied")."""
    return coverage(origin, member)
