"""A text as the engine reads it: lines with a key each, and sentences inside the lines.

Republishers change a story's chrome, not its paragraphs, so the line (one paragraph of a
stored body, one line of a corpus record) is the unit boilerplate is learned on: a line is
recognised again by its *key*, the hash of its canonical form with every digit run written
as ``0``, because an outlet's byline or footer differs from page to page only in its date
("By Desk staff | 2026-03-21 04:22"). Sentences are the unit of anchors (``_content``):
long enough to be specific to a story, short enough to survive a trim or a copy edit
elsewhere in the paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import xxhash

from store._text import canonical

from ._shingles import tokenize

_DIGITS = re.compile(r"\d+")
# A sentence ends at . ! ? (and their CJK forms), optionally closed by a quote or bracket,
# before whitespace; CJK full stops end one even without the space their scripts omit.
_SENTENCE_END = re.compile(r"(?<=[.!?…][\"'”’»)\]])\s+|(?<=[.!?…])\s+|(?<=[。！？])")


@dataclass(frozen=True)
class Line:
    text: str
    key: int  # signed 64-bit, so that SQL engines store it as an INTEGER
    tokens: int  # its number of tokens: how much of a record it is


def line_key(text: str) -> int:
    """The digit-masked canonical hash of a line, as a signed 64-bit integer."""
    folded = _DIGITS.sub("0", canonical(text))
    return xxhash.xxh64_intdigest(folded.encode("utf-8")) - (1 << 63)


def lines_of(text: str) -> list[Line]:
    """The non-empty lines of a text; a line repeated in the same text counts once.

    A record's repeated line (a pull quote printed twice) is one line of content, not two:
    the second copy adds no text a republisher could have taken.
    """
    out: list[Line] = []
    seen: set[int] = set()
    for raw in text.split("\n"):
        raw = raw.strip()
        if not raw:
            continue
        key = line_key(raw)
        if key in seen:
            continue
        seen.add(key)
        out.append(Line(raw, key, max(1, len(tokenize(raw)))))
    return out


def sentences(line: str) -> list[str]:
    """The sentences of one line, by end punctuation; a line without any is one sentence."""
    return [s for s in _SENTENCE_END.split(line) if s.strip()]
