"""Clusters read back from the store: each story, its probable origin, and every copy.

Figures are measured against the probable origin, not against the cluster's
representative (which is merely the first member the store happened to fetch), because
"how much of the original did this outlet carry" is the question readers ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from store._models import Cluster, Member, StoredArticle
from store.backends import Store

from ._verify import Thresholds


def _origin_key(a: StoredArticle) -> tuple[datetime, int, int]:
    """Earliest first; on a tie, the agency's own copy (publisher named as the agency)."""
    own = int(not (a.agency and a.publisher and a.agency.casefold() in a.publisher.casefold()))
    return (a.first_seen, own, a.id)


def probable_origin(articles: Sequence[StoredArticle]) -> StoredArticle:
    return min(articles, key=_origin_key)


def load_clusters(
    store: Store, *, min_size: int = 2, shingle_size: int = 5, reuse: float = Thresholds().reuse
) -> list[Cluster]:
    """Clusters of ``min_size`` or more, members in time order, figures against the origin.

    The figures are the ones the dedup pass stored (on the articles' content, boilerplate
    left out), so reading a report never shingles a text again. ``shingle_size`` is kept
    for callers of the earlier signature and no longer used.
    """
    del shingle_size
    rows = store.membership_rows(min_size)
    by_cluster: dict[int, list[tuple[int, float, float]]] = {}
    for article_id, cluster_id, similarity, containment in rows:
        by_cluster.setdefault(cluster_id, []).append((article_id, similarity, containment))
    articles = {a.id: a for a in store.articles([r[0] for r in rows])}
    clusters = []
    for cluster_id, placed in by_cluster.items():
        members = sorted(
            ((articles[i], sim, share) for i, sim, share in placed if i in articles),
            key=lambda m: _origin_key(m[0]),
        )
        if not members:
            continue
        origin = members[0][0]
        out = [Member(art, cluster_id, sim, share) for art, sim, share in members]
        clusters.append(Cluster(cluster_id, out, origin.id))
    _attach_reuse(store, clusters, reuse)
    clusters.sort(key=lambda c: (-c.size, c.origin.article.first_seen, c.id))
    return clusters


def _attach_reuse(store: Store, clusters: list[Cluster], min_share: float) -> None:
    """Partial-reuse links of the listed members, both ways: what each member reuses of
    other stories, and which articles of other stories reuse each cluster. Of two linked
    articles only the later one (by first seen) reuses the other; at the same time, both."""
    by_id = {m.article.id: m for c in clusters for m in c.members}
    cluster_by_id = {c.id: c for c in clusters}
    links = [e for e in store.edges_of(sorted(by_id)) if not e[4]]
    others = sorted({x for a, b, *_ in links for x in (a, b)} - set(by_id))
    arts = {a.id: a for a in store.articles(others)} | {i: m.article for i, m in by_id.items()}
    cluster_of = store.clusters_of(sorted(arts))
    for a, b, a_in_b, b_in_a, _ in links:
        for me, other, share in ((a, b, a_in_b), (b, a, b_in_a)):
            if (
                share < min_share
                or me not in arts
                or other not in arts
                or cluster_of.get(me) == cluster_of.get(other)
            ):
                continue
            if arts[me].first_seen < arts[other].first_seen:
                continue  # the earlier article cannot have reused the later one
            target = cluster_of.get(other)
            if me in by_id and target is not None:
                m = by_id[me]
                m.reuses[target] = max(share, m.reuses.get(target, 0.0))
            if other in by_id and cluster_of.get(other) in cluster_by_id:
                cluster_by_id[cluster_of[other]].reused_by.append(
                    (arts[me], cluster_of.get(me, me), share)
                )
    for c in clusters:  # one line per reusing article, its largest share
        best: dict[int, tuple[StoredArticle, int, float]] = {}
        for art, cid, share in c.reused_by:
            if art.id not in best or share > best[art.id][2]:
                best[art.id] = (art, cid, share)
        c.reused_by = sorted(best.values(), key=lambda x: (-x[2], x[0].id))
