"""Dedup reports: each story, its probable origin, and every copy with how much it took.

Figures in a report are measured against the probable origin, not against the cluster's
representative (which is merely the first member the store happened to fetch), because
"how much of the original did this outlet carry" is the question readers ask.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._base import Store, to_db_time
from ._clusters import compare, share_carried
from ._models import Cluster, Member, StoredArticle
from ._shingles import shingle_hashes

REPORT_VERSION = 2  # docs/report-schema.md: bump on any change to a column or field
MEMBER_COLUMNS = (
    "cluster_id", "article_id", "is_origin", "publisher", "host", "url", "title", "published",
    "fetched", "similarity", "copied", "report_version",
)


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


@dataclass
class ReportSummary:
    articles: int
    clusters: int  # clusters with two or more members
    syndicated: int  # articles in such clusters


def summarize(store: Store, clusters: Sequence[Cluster]) -> ReportSummary:
    return ReportSummary(store.article_count(), len(clusters), sum(c.size for c in clusters))


def member_row(c: Cluster, m: Member) -> dict[str, Any]:
    a = m.article
    return {
        "cluster_id": c.id,
        "article_id": a.id,
        "is_origin": a.id == c.origin_id,
        "publisher": a.publisher or a.host,
        "host": a.host,
        "url": a.url,
        "title": a.title,
        "published": to_db_time(a.published),
        "fetched": to_db_time(a.fetched),
        "similarity": round(m.similarity, 4),
        "copied": round(m.containment, 4),
        "report_version": REPORT_VERSION,
    }


def render_json(summary: ReportSummary, clusters: Sequence[Cluster]) -> str:
    doc = {
        "version": REPORT_VERSION,
        "articles": summary.articles,
        "clusters": [
            {"id": c.id, "size": c.size, "origin_id": c.origin_id,
             "members": [member_row(c, m) for m in c.members]}
            for c in clusters
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def render_csv(clusters: Sequence[Cluster]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MEMBER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for c in clusters:
        for m in c.members:
            writer.writerow(member_row(c, m))
    return buf.getvalue()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "?"


def render_text(summary: ReportSummary, clusters: Sequence[Cluster]) -> str:
    lines = [
        f"{summary.articles} articles, {summary.clusters} stories published more than once "
        f"({summary.syndicated} articles)",
    ]
    if not clusters:
        lines.append("No story was found in more than one place.")
    for c in clusters:
        origin = c.origin.article
        lines.append("")
        lines.append(f"Cluster {c.id} · {c.size} articles · origin: "
                     f"{origin.publisher or origin.host}, {_when(origin.first_seen)}")
        lines.append(f"  {origin.title or '(untitled)'}")
        for m in c.members:
            a = m.article
            mark = "origin" if a.id == c.origin_id else f"{m.containment:5.0%} copied"
            lines.append(f"  - {mark:>12}  {_when(a.first_seen)}  {a.publisher or a.host}: "
                         f"{a.title or '(untitled)'}")
            lines.append(f"{'':18}{a.url}")
    return "\n".join(lines) + "\n"
