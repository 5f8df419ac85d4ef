"""What of a record is compared: its lines less the learned boilerplate, in three forms.

- ``shingles``: word 5-gram hashes, the MinHash input (datasketch-compatible signatures and
  LSH bands find near-full copies);
- ``verify``: word 3-gram hashes, on which a candidate pair is decided. Three words rather
  than five because a copy desk's substitutions are a word here and there: each one breaks
  three shingles instead of five, which keeps a lightly edited copy above the threshold
  while a story that merely shares names and a quote stays far below it;
- ``anchors``: for each sentence of eight tokens or more, the smallest of its 3-gram hashes.
  A headline-and-lede copy, a trim or a follow-up that quotes a paragraph shares whole
  sentences with its source but too little of it for LSH on the whole text to see, so
  records sharing an anchor are candidates too.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._lines import Line, sentences
from ._shingles import sorted_set, tokenize, window_hashes

ANCHOR_MIN_TOKENS = 8
VERIFY_SHINGLE = 3
_EMPTY = np.empty(0, dtype=np.uint32)


@dataclass
class Content:
    lines: list[Line] = field(default_factory=list)  # the record's lines less boilerplate
    ignored: list[str] = field(default_factory=list)  # lines left out as boilerplate
    shingles: np.ndarray = field(default_factory=lambda: _EMPTY)
    verify: np.ndarray = field(default_factory=lambda: _EMPTY)
    anchors: np.ndarray = field(default_factory=lambda: _EMPTY)

    @property
    def text(self) -> str:
        return "\n\n".join(line.text for line in self.lines)


def content_of(lines: Sequence[Line], boilerplate: Collection[int],
               shingle_size: int = 5) -> Content:
    """The comparable content of a record whose lines are ``lines``."""
    kept = [line for line in lines if line.key not in boilerplate]
    tokens: list[str] = []
    bounds: list[tuple[int, int]] = []
    for line in kept:
        for sentence in sentences(line.text):
            words = tokenize(sentence)
            if words:
                bounds.append((len(tokens), len(tokens) + len(words)))
                tokens += words
    out = Content(kept, [line.text for line in lines if line.key in boilerplate])
    if not tokens:
        return out
    w3 = window_hashes(tokens, VERIFY_SHINGLE)
    out.verify = sorted_set(w3)
    out.shingles = sorted_set(window_hashes(tokens, shingle_size))
    starts = [s for s, e in bounds if e - s >= ANCHOR_MIN_TOKENS]
    if starts:
        # windows wholly inside each sentence: positions s .. e - VERIFY_SHINGLE
        ends = [e - VERIFY_SHINGLE + 1 for s, e in bounds if e - s >= ANCHOR_MIN_TOKENS]
        out.anchors = sorted_set(np.array([w3[s:e].min() for s, e in zip(starts, ends,
                                                                          strict=True)],
                                          dtype=np.uint32))
    return out


def text_content(text: str, boilerplate: Collection[int] = (), shingle_size: int = 5) -> Content:
    """The content of one text, given the boilerplate keys of its scope (none by default)."""
    from ._lines import lines_of

    return content_of(lines_of(text), boilerplate, shingle_size)
