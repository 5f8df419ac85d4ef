"""The tables of each index the dedup pass writes in cron-sized batches, and which of
them a run writes to.

The LSH bands, the anchors and the article lines are each kept in a main table, as
large as the store, and TIERS write tiers in front of it, each small enough to live in
the page cache: a run's new rows go to one tier (``Index.tier``), at random keys of a
small B-tree instead of a large one. Where the store is large enough to have tiers, they
fill one after another, and a fold moves all of them into the main table in key order
(``Store.compact_tiers``). Readers see each index's tables as one, through a view.
"""

from __future__ import annotations

from dataclasses import dataclass

# Write tiers per index (schema 13). Six were measured at 10M articles: the fold of
# twice the rows cost 1.8 times the CPU (471 s against 262 s), and each full tier a run
# read through cost it about 0.3 s (benchmarks/RESULTS.md, ``tiers_per_fold``), before
# full tiers had key filters (schema 17). With them, six of half the rows, folded as
# often as three, cost a 10M run the same CPU (5.666 s against 5.687 s a run over a
# period) and the fold 8% more: measured and reverted (ca7cdeb, 3ef9e34).
TIERS = 3


@dataclass(frozen=True)
class Index:
    """An index's main table, its write tiers, and the view over them all."""

    main: str
    first_tier: str  # the others are numbered: ``{first_tier}_1``, ...
    view: str
    columns: str
    order: str  # the tables' random-keyed index, which a fold writes in order
    by: str  # the first column of ``order``: a fold moves ranges of it
    # The tiers' index a fold may drop while it moves their rows, as (name suffix,
    # columns): one on other columns than ``by``, which each row a range deletes costs a
    # random seek (``Store._fold``).
    loose: tuple[str, str] | None = None

    def tier(self, slot: int) -> str:
        return self.first_tier if slot == 0 else f"{self.first_tier}_{slot}"

    def table(self, slot: int | None) -> str:
        """Where rows filed into write tier ``slot`` go (None: the main table)."""
        return self.main if slot is None else self.tier(slot)

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(self.tier(slot) for slot in range(TIERS))

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.main, *self.tiers)

    @property
    def loose_indexes(self) -> list[tuple[str, str]]:
        """(name, CREATE statement) of each tier's ``loose`` index."""
        if self.loose is None:
            return []
        suffix, columns = self.loose
        return [
            (f"{tier}{suffix}", f"CREATE INDEX IF NOT EXISTS {tier}{suffix} ON {tier} ({columns})")
            for tier in self.tiers
        ]


LSH = Index(
    "lsh_bands",
    "lsh_recent",
    "all_lsh_bands",
    "band, bucket, article_id",
    "band, bucket, article_id",
    "band",
)
ANCHORS = Index(
    "anchors",
    "anchors_recent",
    "all_anchors",
    "anchor, article_id",
    "anchor, article_id",
    "anchor",
    ("_article", "article_id"),
)
LINES = Index(
    "article_lines",
    "article_lines_recent",
    "all_article_lines",
    "article_id, scope, key, tokens, sample_key",
    "key, scope, sample_key",
    "key",
    ("_article", "article_id"),
)
