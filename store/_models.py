"""Records that cross the store boundary.

Plain dataclasses rather than ORM objects: the crawler builds them, the store persists
them, the reports read them back, and none of those steps should need a database session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class ArticleRecord:
    """One extracted, normalized article as the crawler hands it to the store."""

    url: str  # canonical URL: the unique key of an article
    host: str
    text: str  # normalized body, paragraphs joined by blank lines
    fetched: datetime
    publisher: str | None = None
    title: str | None = None
    byline: str | None = None
    agency: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None
    fetched_url: str | None = None
    html_sha256: str | None = None
    line_keys: list[str] = field(default_factory=list)  # site-template learning input
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (rule, text) removed


@dataclass
class StoredArticle:
    """An article as read back from the store."""

    id: int
    url: str
    host: str
    publisher: str | None
    title: str | None
    byline: str | None
    agency: str | None
    published: datetime | None
    fetched: datetime
    text: str

    @property
    def first_seen(self) -> datetime:
        """When the story demonstrably existed: its stated publish time, else our fetch time."""
        return self.published or self.fetched


@dataclass
class Member:
    """An article's place in a cluster."""

    article: StoredArticle
    cluster_id: int
    similarity: float  # Jaccard of content shingles with the cluster's probable origin
    containment: float  # share of the origin's content this member carries
    # Stories this member partly reuses (a quoted paragraph, background, half a roundup):
    # other cluster id -> the share of this member's content found in that story.
    reuses: dict[int, float] = field(default_factory=dict)


@dataclass
class Cluster:
    """A story and every copy of it that the store holds."""

    id: int
    members: list[Member]
    origin_id: int  # probable origin: see store.dedup.probable_origin
    # Articles of other stories that partly reuse this one:
    # (article, its cluster id, the share of that article found in this story)
    reused_by: list[tuple[StoredArticle, int, float]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def origin(self) -> Member:
        return next(m for m in self.members if m.article.id == self.origin_id)


@dataclass
class FrontierItem:
    """A URL the crawler has found and not yet finished with."""

    url: str
    host: str
    source: str
    attempts: int = 0
    published: datetime | None = None
    # Set on a revisit (a URL fetched before and queued again by ``revisit_after``): the
    # validators its last answer carried, sent back as a conditional GET.
    revisit: bool = False
    etag: str | None = None
    last_modified: str | None = None
