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


def _origin_key(a: StoredArticle) -> tuple[datetime, int, int]:
    """Earliest first; on a tie, the agency's own copy (publisher named as the agency)."""
    own = int(not (a.agency and a.publisher and a.agency.casefold() in a.publisher.casefold()))
    return (a.first_seen, own, a.id)


def probable_origin(articles: Sequence[StoredArticle]) -> StoredArticle:
    return min(articles, key=_origin_key)


def load_clusters(store: Store, *, min_size: int = 2, shingle_size: int = 5) -> list[Cluster]:
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
        members = sorted(((articles[i], sim, share) for i, sim, share in placed
                          if i in articles), key=lambda m: _origin_key(m[0]))
        if not members:
            continue
        origin = members[0][0]
        out = [Member(art, cluster_id, sim, share) for art, sim, share in members]
        clusters.append(Cluster(cluster_id, out, origin.id))
    clusters.sort(key=lambda c: (-c.size, c.origin.article.first_seen, c.id))
    return clusters
