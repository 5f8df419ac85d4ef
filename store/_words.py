"""Counts with nouns that agree ("1 story", "2 stories") in every line a person reads.

"1 stories" in a cron mail reads as a bug and makes the reader doubt the figures beside it.
"""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the form ``n`` takes; ``plural`` for irregular nouns."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
