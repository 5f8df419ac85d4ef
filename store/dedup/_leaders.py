"""Clusters of one connected component, the same whatever order its records arrived in.

A sequential "first record founds the cluster, later ones join it" rule makes the clusters
depend on arrival order: a trimmed copy that arrives first becomes the representative,
and an edited copy or a trim of another part does not verify against it. Here the order
is the records' own: the fullest content first (most shingles), then the earliest stated
publication, then a hash of the content. Walking the component in that order:

- a record joins the cluster of an earlier *leader* whose content covers at least
  ``containment`` of its own; with several such leaders, the one most of whose members
  agree (the record is a copy of them, or they of it), then the one covering it most,
  then the fuller one;
- a record that no leader covers becomes a leader: the representative of a new cluster.

Leaders are always fuller than the records that join them, so the representative of a
story is its fullest version (the original, or the write-through update that added to
it), and it is re-chosen when a fuller one arrives. A record joins only by its own match
to the leader, so chaining (A~B, B~C, therefore A~C) cannot glue stories: a story that
quotes a paragraph of another is covered by it far below the threshold and leads its own
cluster. A roundup of two stories is covered by neither and leads its own; copies of one
of its halves join the half's story, whose copies agree with them, not the roundup.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from ._verify import Thresholds, coverage


@dataclass(frozen=True)
class Item:
    """One record as the clustering sees it; ``handle`` is the caller's."""

    handle: int
    verify: np.ndarray  # sorted unique content 3-gram hashes
    signed_shingles: int  # content 5-gram count: below min_shingles, never clustered
    first_seen: str  # sortable ISO time, "~" when unknown (after every time)
    tiebreak: int  # a hash of the content: equal keys mean equal texts


def canonical_order(items: Sequence[Item]) -> list[Item]:
    return sorted(items, key=lambda i: (-len(i.verify), i.first_seen, i.tiebreak, i.handle))


def cluster_component(
    items: Sequence[Item], t: Thresholds, accepted: Collection[frozenset[int]] = frozenset()
) -> dict[int, int]:
    """handle -> the handle of its cluster's leader (its own when it leads).

    ``accepted`` are soft pairs (``_verify.soft_copies``) that count as copies although
    their coverage is under the threshold."""
    leader_of: dict[int, int] = {}
    members: dict[int, list[Item]] = {}
    for item in canonical_order(items):
        if item.signed_shingles < t.min_shingles:
            leader_of[item.handle] = item.handle
            continue
        best: Item | None = None
        best_rank: tuple[int, float, int] | None = None
        for group in members.values():
            lead = group[0]
            covered = coverage(item.verify, lead.verify)
            if covered < t.containment and frozenset((item.handle, lead.handle)) not in accepted:
                continue
            votes = sum(1 for m in group if _copies(item, m, t, accepted))
            rank = (votes, covered, len(lead.verify))
            if best_rank is None or rank > best_rank:
                best, best_rank = lead, rank
        if best is None:
            members[item.handle] = [item]
            leader_of[item.handle] = item.handle
        else:
            members[best.handle].append(item)
            leader_of[item.handle] = best.handle
    return leader_of


def _copies(a: Item, b: Item, t: Thresholds, accepted: Collection[frozenset[int]]) -> bool:
    return (
        a is b
        or coverage(a.verify, b.verify) >= t.containment
        or coverage(b.verify, a.verify) >= t.containment
        or frozenset((a.handle, b.handle)) in accepted
    )
