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

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from store._jit import jit


@dataclass(frozen=True)
class Thresholds:
    jaccard: float = 0.5  # a pair this similar is a copy whatever its sizes
    containment: float = 0.6  # a record whose content is this much in another is a copy of it
    reuse: float = 0.2  # below a copy, this share found in another story is a reuse link
    min_shingles: int = 20  # shorter contents are never clustered: too little to tell
    # From here up to ``containment``, a pair is a copy when the rest of the smaller record
    # is new text, and not when it is another story (see ``rest_is_another_story``): a trim
    # with a local intro and an update's added paragraphs fall here, and so does a roundup.
    soft: float = 0.45


@dataclass(frozen=True)
class Match:
    jaccard: float
    containment: float  # of the smaller set in the larger one
    a_in_b: float = 0.0  # share of the first record's content found in the second
    b_in_a: float = 0.0

    def verified(self, t: Thresholds) -> bool:
        """A copy relation: one record is (almost) wholly in the other."""
        return self.jaccard >= t.jaccard or self.containment >= t.containment

    def soft(self, t: Thresholds) -> bool:
        """Between a reuse and a copy: decided by what the rest of the smaller record is."""
        return not self.verified(t) and self.containment >= t.soft


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


def rest_is_another_story(
    part: np.ndarray, whole: np.ndarray, others: list[np.ndarray], t: Thresholds
) -> bool:
    """Is what ``part`` has beyond ``whole`` mostly the text of another story?

    ``others`` are the contents of the records ``part`` shares text with (its verified
    pairs). A roundup of two stories is half one and half the other: its rest is the second
    story, so it is no copy of the first. A trim of a story with a local intro, or an update
    with added paragraphs, has a rest found nowhere else: it is a copy. The other story must
    itself be no copy of ``whole``, or a second copy of the same story would count.
    """
    rest = np.setdiff1d(part, whole, assume_unique=True)
    if not len(rest):
        return False
    for other in others:
        if coverage(rest, other) >= 0.5 and not compare(other, whole).verified(t):
            return True
    return False


def soft_copies(
    soft_pairs: Iterable[tuple[int, int]],
    neighbours: Callable[[int], Iterable[int]],
    verify: Callable[[int], np.ndarray],
    t: Thresholds,
) -> set[frozenset[int]]:
    """Which soft pairs ``(part, whole)`` are copies: those whose part's rest is new text.

    ``neighbours(part)`` are the records the part has a verified pair with (reuse or copy).
    The answer depends only on those records, so it is the same in any arrival order.
    """
    accepted: set[frozenset[int]] = set()
    for part, whole in soft_pairs:
        others = [verify(o) for o in sorted(neighbours(part)) if o not in (part, whole)]
        if not rest_is_another_story(verify(part), verify(whole), others, t):
            accepted.add(frozenset((part, whole)))
    return accepted


def compare_pairs(
    values: np.ndarray,
    offsets: np.ndarray,
    pairs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``compare`` for many pairs at once: (jaccard, a_in_b, b_in_a) arrays.

    The sets are one concatenated sorted-per-record array ``values`` with record ``i`` at
    ``values[offsets[i]:offsets[i + 1]]``; a merge count per pair, no temporary arrays.
    """
    if not len(pairs):
        empty = np.empty(0, dtype=np.float64)
        return empty, empty, empty
    return _compare_pairs(values, offsets, pairs)


@jit
def _compare_pairs(values, offsets, pairs):  # noqa: ANN001, ANN202
    n = pairs.shape[0]
    jac = np.empty(n, dtype=np.float64)
    a_in = np.empty(n, dtype=np.float64)
    b_in = np.empty(n, dtype=np.float64)
    for k in range(n):
        a, b = pairs[k, 0], pairs[k, 1]
        i, ie = offsets[a], offsets[a + 1]
        j, je = offsets[b], offsets[b + 1]
        na, nb = ie - i, je - j
        shared = 0
        while i < ie and j < je:
            x, y = values[i], values[j]
            if x == y:
                shared += 1
                i += 1
                j += 1
            elif x < y:
                i += 1
            else:
                j += 1
        if na == 0 or nb == 0:
            jac[k] = 0.0
            a_in[k] = 0.0
            b_in[k] = 0.0
        else:
            jac[k] = shared / (na + nb - shared)
            a_in[k] = shared / na
            b_in[k] = shared / nb
    return jac, a_in, b_in
