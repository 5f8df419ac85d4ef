"""The figures at the top of every report, and the bundle every renderer takes.

One :class:`Report` is built per invocation and handed to whichever renderer the user
asked for, so the terminal table, the Markdown summary and the HTML page can never
disagree about how many stories were syndicated or who copied most.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from store._models import Cluster, StoredArticle
from store._time import as_utc, utcnow
from store.backends import Store
from store.dedup import load_clusters

from ._select import Selection, select_clusters


def publisher_of(a: StoredArticle) -> str:
    return a.publisher or a.host


def spread_hours(c: Cluster) -> float:
    """Hours from the origin to the last copy: how long the story kept travelling."""
    times = [as_utc(m.article.first_seen) for m in c.members]
    return (max(times) - min(times)).total_seconds() / 3600


@dataclass
class Republisher:
    name: str
    copies: int
    mean_copied: float  # mean share of the origin's text its copies carried


@dataclass
class Overview:
    articles: int  # every article in the store, selected or not
    clusters: int  # selected clusters
    syndicated: int  # articles in the selected clusters
    top_origins: list[tuple[str, int]]  # publisher, clusters it originated
    top_republishers: list[Republisher]
    first_seen: datetime | None
    last_seen: datetime | None
    selection: str
    generated: datetime
    # Clusters at the selection's size floor before its other filters: what an empty
    # selection left out, so that "nothing matches" is not read as "nothing there".
    available: int = 0

    @property
    def share_syndicated(self) -> float:
        return self.syndicated / self.articles if self.articles else 0.0


@dataclass
class Report:
    overview: Overview
    clusters: list[Cluster]
    dropped: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def make_overview(
    articles: int,
    clusters: Sequence[Cluster],
    *,
    selection: str = "",
    generated: datetime | None = None,
    top: int = 10,
    available: int | None = None,
) -> Overview:
    origins: Counter[str] = Counter()
    copies: dict[str, list[float]] = defaultdict(list)
    times = []
    for c in clusters:
        origins[publisher_of(c.origin.article)] += 1
        for m in c.members:
            times.append(as_utc(m.article.first_seen))
            if m.article.id != c.origin_id:
                copies[publisher_of(m.article)].append(m.containment)
    repub = [Republisher(name, len(v), sum(v) / len(v)) for name, v in copies.items()]
    repub.sort(key=lambda r: (-r.copies, -r.mean_copied, r.name))
    return Overview(
        articles=articles,
        clusters=len(clusters),
        syndicated=sum(c.size for c in clusters),
        top_origins=sorted(origins.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
        top_republishers=repub[:top],
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        selection=selection,
        generated=generated or utcnow(),
        available=len(clusters) if available is None else available,
    )


def build_report(
    store: Store,
    selection: Selection | None = None,
    *,
    shingle_size: int = 5,
    with_dropped: bool = False,
    generated: datetime | None = None,
) -> Report:
    """Load, select and summarize once; ``with_dropped`` adds removed boilerplate (HTML)."""
    sel = selection or Selection()
    loaded = load_clusters(store, min_size=sel.min_size, shingle_size=shingle_size)
    clusters = select_clusters(loaded, sel)
    dropped = {}
    if with_dropped:
        dropped = store.dropped_lines([m.article.id for c in clusters for m in c.members])
    return Report(
        make_overview(
            store.article_count(),
            clusters,
            selection=sel.describe(),
            generated=generated,
            available=len(loaded),
        ),
        clusters,
        dropped,
    )
