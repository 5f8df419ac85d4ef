"""Site-learned template lines.

Some chrome is specific to one site ("Download the XYZ app for breaking news") and no
shipped rule knows it. Such a line shows up on most of that host's pages while story text
does not, so counting line keys over a host's recent pages finds it. This module only
holds the pure parts (the key and the decision); the store persists the per-host counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

import xxhash

from store import canonical


def line_key(text: str) -> str:
    """A short stable key for a line, blind to typography, case and spacing."""
    return xxhash.xxh64_hexdigest(canonical(text).encode("utf-8"))[:16]


def learn_template_lines(
    pages_lines: Sequence[Collection[str]], *, min_share: float = 0.5, min_pages: int = 5
) -> set[str]:
    """Keys of lines seen on more than `min_share` of the given pages of one host.

    `pages_lines` holds, per page, its line keys (or raw lines; both are keyed the same way
    only if the caller passes keys consistently). Too few pages say nothing about a
    template, so fewer than `min_pages` pages yield an empty set.
    """
    counts: Counter[str] = Counter()
    for lines in pages_lines:
        counts.update(set(lines))
    return template_keys(counts, len(pages_lines), min_share=min_share, min_pages=min_pages)


def template_keys(
    counts: Mapping[str, int], pages: int, *, min_share: float = 0.5, min_pages: int = 5
) -> set[str]:
    """`learn_template_lines` from running counts (pages holding each key, and pages seen),
    for callers that count a whole archive without keeping every page's lines."""
    if pages < max(1, min_pages):
        return set()
    return {key for key, c in counts.items() if c > min_share * pages}
