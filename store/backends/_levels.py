"""The tables of each index the dedup pass writes in cron-sized batches, and how a fold
moves rows down them.

The LSH bands, the anchors and the article lines are each kept in three tables: a write
tier (``*_recent``) that a run's new rows go to, small enough to live in the page cache;
a middle level (``*_mid``) the tier is folded into when it fills; and the main table, as
large as the store, that the middle level is folded into every few folds
(``store.dedup._pass.MID_FOLDS``). Readers see each index's three tables as one, through
a view (``all_lsh_bands``, ``all_anchors``, ``all_article_lines``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    """A write tier (``recent``), the middle level it is folded into (``mid``), and the
    main table the middle level is folded into."""

    main: str
    mid: str
    recent: str
    columns: str
    order: str  # the tables' random-keyed index, which a fold writes in order
    by: str  # the first column of ``order``: a fold moves ranges of it

    @property
    def levels(self) -> tuple[str, str, str]:
        return (self.main, self.mid, self.recent)


ANCHORS = Tier(
    "anchors",
    "anchors_mid",
    "anchors_recent",
    "anchor, article_id",
    "anchor, article_id",
    "anchor",
)
LINES = Tier(
    "article_lines",
    "article_lines_mid",
    "article_lines_recent",
    "article_id, scope, key, tokens, sample_key",
    "key, scope, sample_key",
    "key",
)
TIERS = (ANCHORS, LINES)
# The LSH index's tables, main first (``all_lsh_bands`` reads them as one).
BAND_LEVELS = ("lsh_bands", "lsh_mid", "lsh_recent")


def fold_steps(levels: tuple[str, ...], deep: bool, mid_has_rows: bool) -> list[tuple[str, str]]:
    """(source, target) of each move a fold makes of an index's (main, mid, recent)
    tables: the tier into the middle level, then that into the main table where
    ``deep``; straight into the main table where ``deep`` finds the middle level empty,
    one rewrite of it and none of the middle level."""
    main, mid, recent = levels
    if not deep:
        return [(recent, mid)]
    return [(recent, mid), (mid, main)] if mid_has_rows else [(recent, main)]
