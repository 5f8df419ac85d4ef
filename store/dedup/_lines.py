"""A text as the engine reads it: lines with a key each (``_units`` cuts them).

Republishers change a story's chrome, not its paragraphs, so the line (one paragraph of a
stored body, one line of a corpus record) is the unit boilerplate is learned on: a line is
recognised again by its *key*, a hash of its tokens with every all-digit token masked,
because an outlet's byline or footer differs from page to page only in its date ("By Desk
staff | 2026-03-21 04:22"). A line repeated in the same text counts once: the second copy
of a pull quote adds no text a republisher could have taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._units import Units, units_of


@dataclass(frozen=True)
class Line:
    text: str
    key: int  # signed 64-bit, so that SQL engines store it as an INTEGER
    tokens: int  # its number of tokens: how much of a record it is


def first_lines(u: Units) -> np.ndarray:
    """Which lines are the first with their key in the text (the rest are repeats)."""
    _, first = np.unique(u.keys, return_index=True)
    keep = np.zeros(len(u.keys), dtype=bool)
    keep[first] = True
    return keep


def lines_of(text: str, u: Units | None = None) -> list[Line]:
    """The lines of a text that hold tokens, each key once, in text order."""
    u = u or units_of(text)
    raw = text.split("\n")
    first = first_lines(u)
    return [
        Line(raw[r].strip(), int(k), int(n))
        for r, k, n, f in zip(
            u.line_raw.tolist(), u.keys.tolist(), u.ntok.tolist(), first.tolist(), strict=True
        )
        if f
    ]


def line_key(text: str) -> int:
    """The key of one line of text."""
    keys = units_of(" ".join(text.split())).keys
    return int(keys[0]) if len(keys) else 0
