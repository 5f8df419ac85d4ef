"""The rule that places an article in a cluster, and the rule that merges two clusters.

The cluster id is the id of the cluster's representative: its first stored member. Ids
therefore never change when later runs add members, and ``dedup --rebuild``, which replays
articles in id order, reproduces them exactly, as long as no revisit has changed an article
since it was placed (``store.dedup._resign`` says what an update moves).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._verify import Thresholds, compare, share_carried


@dataclass(frozen=True)
class Placement:
    cluster_id: int
    similarity: float  # Jaccard with the representative
    containment: float  # share of the representative's text this article carries
    also_verified: tuple[int, ...] = ()  # other clusters this article verified against


def place(
    article_id: int,
    shingles: np.ndarray,
    candidates: Sequence[int],
    cluster_of: Mapping[int, int],
    members_of: Callable[[int], Sequence[int]],
    shingles_of: Callable[[int], np.ndarray],
    t: Thresholds,
) -> Placement:
    """Put one article into the best verified cluster, or found a new one.

    An article joins a cluster only if it verifies against the representative, or against
    a strict majority of the members: one weak link to one member is not enough, which is
    what stops chaining (A~B, B~C, so A~C) from gluing unrelated stories together.
    """
    if len(shingles) < t.min_shingles:
        return Placement(article_id, 1.0, 1.0)
    by_cluster: dict[int, list[int]] = {}
    for cand in candidates:
        if cand != article_id and cand in cluster_of:
            by_cluster.setdefault(cluster_of[cand], []).append(cand)
    ranked: list[tuple[tuple[int, float], Placement]] = []
    for cluster_id, cands in sorted(by_cluster.items()):
        rep = shingles_of(cluster_id)
        if len(rep) < t.min_shingles:
            continue
        to_rep = compare(shingles, rep)
        if to_rep.verified(t):
            rank = (1, to_rep.jaccard)
        else:
            members = members_of(cluster_id)
            agree = sum(1 for m in cands if compare(shingles, shingles_of(m)).verified(t))
            if agree * 2 <= len(members):
                continue
            rank = (0, to_rep.jaccard)
        ranked.append((rank, Placement(cluster_id, to_rep.jaccard, share_carried(rep, shingles))))
    if not ranked:
        return Placement(article_id, 1.0, 1.0)
    ranked.sort(key=lambda item: item[0], reverse=True)
    best = ranked[0][1]
    others = tuple(sorted(p.cluster_id for _, p in ranked[1:]))
    return Placement(best.cluster_id, best.similarity, best.containment, others)


def mergeable(rep_a: np.ndarray, rep_b: np.ndarray, t: Thresholds) -> bool:
    """Two clusters are one story only if their representatives verify each other directly.

    A new article that matches both is what brings the pair to our attention (LSH can miss
    a pair near the threshold, and a later copy can reveal it), but it is never the proof:
    that would be exactly the chaining the placement rule refuses.
    """
    return min(len(rep_a), len(rep_b)) >= t.min_shingles and compare(rep_a, rep_b).verified(t)
