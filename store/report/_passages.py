"""The passages two texts share, word for word, with where each sits in both.

What ``newsdedup compare`` shows beside the figures: a reader checking why two articles
clustered (or why one is said to reuse the other) wants the text they share, not only a
percentage. Words are compared in canonical form (typography and case folded), so a
passage survives curly quotes and a changed dash; a passage ends where the two texts part.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from store._text import canonical


@dataclass(frozen=True)
class Passage:
    text: str  # as the first text prints it
    other: str  # as the second text prints it
    first_word: int  # position in the first text, in words
    other_word: int  # position in the second text
    words: int


def shared_passages(a: str, b: str, *, min_words: int = 8) -> list[Passage]:
    """Runs of at least ``min_words`` words that appear in both texts, in the first's order."""
    words_a, words_b = a.split(), b.split()
    folded_a = [canonical(w) for w in words_a]
    folded_b = [canonical(w) for w in words_b]
    matcher = SequenceMatcher(None, folded_a, folded_b, autojunk=False)
    return [
        Passage(
            " ".join(words_a[m.a : m.a + m.size]),
            " ".join(words_b[m.b : m.b + m.size]),
            m.a,
            m.b,
            m.size,
        )
        for m in matcher.get_matching_blocks()
        if m.size >= min_words
    ]
