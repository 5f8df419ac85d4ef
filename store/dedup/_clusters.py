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

from ._shingles import shingle_hashes
from ._verify import compare, share_carried


def _origin_key(a: StoredArticle) -> tuple[datetime, int, int]:
    """Earliest first; on a tie, the agency's own copy (publisher named as the agency)."""
    own = int(not (a.agency and a.publisher and a.agency.casefold() in a.publisher.casefold()))
    return (a.first_seen, own, a.id)


def probable_origin(articles: Sequence[StoredArticle]) -> StoredArticle:
    return min(articles, key=_origin_key)


def load_clusters(store: Store, *, min_size: int = 2, shingle_size: int = 5) -> list[Cluster]:
    """Clusters of ``min_size`` or more, members in time order, figures against the origin."""
    rows = store.membership_rows(min_size)
    by_cluster: dict[int, list[int]] = {}
    for article_id, cluster_id, _, _ in rows:
        by_cluster.setdefault(cluster_id, []).append(article_id)
    articles = {a.id: a for a in store.articles([r[0] for r in rows])}
    clusters = []
    for cluster_id, ids in by_cluster.items():
        members = sorted((articles[i] for i in ids if i in articles), key=_origin_key)
        if not members:
            continue
        origin = members[0]
        origin_set = shingle_hashes(origin.text, shingle_size)
        out = []
        for art in members:
            own = origin_set if art is origin else shingle_hashes(art.text, shingle_size)
            out.append(Member(art, cluster_id, compare(origin_set, own).jaccard,
                              share_carried(origin_set, own)))
        clusters.append(Cluster(cluster_id, out, origin.id))
    clusters.sort(key=lambda c: (-c.size, c.origin.article.first_seen, c.id))
    return clusters
