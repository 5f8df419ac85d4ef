"""What of a record is compared: its lines less the learned boilerplate, in three forms.

- ``shingles``: word 5-gram hashes, the MinHash input (datasketch-compatible signatures and
  LSH bands find near-full copies);
- ``verify``: word 3-gram hashes, on which a candidate pair is decided. Three words rather
  than five because a copy desk's substitutions are a word here and there: each one breaks
  three shingles instead of five, which keeps a lightly edited copy above the threshold
  while a story that merely shares names and a quote stays far below it;
- ``anchors``: for each sentence of eight tokens or more, the smallest of its 4-gram hashes.
  A headline-and-lede copy, a trim or a follow-up that quotes a paragraph shares whole
  sentences with its source but too little of it for LSH on the whole text to see, so
  records sharing an anchor are candidates too.

All three come from one compiled pass over the text (``_units``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from ._lines import first_lines
from ._units import Units, content_arrays, units_of

_EMPTY = np.empty(0, dtype=np.uint32)


@dataclass
class Content:
    shingles: np.ndarray = field(default_factory=lambda: _EMPTY)
    verify: np.ndarray = field(default_factory=lambda: _EMPTY)
    anchors: np.ndarray = field(default_factory=lambda: _EMPTY)
    digest: int = 0  # a hash of the content's tokens: equal digests, equal contents
    kept: list[int] = field(default_factory=list)  # raw line numbers kept
    dropped: list[int] = field(default_factory=list)  # raw line numbers left out
    source: str = ""  # the text it was taken from

    @property
    def text(self) -> str:
        raw = self.source.split("\n")
        return "\n\n".join(raw[r].strip() for r in self.kept)

    @property
    def ignored(self) -> list[str]:
        """The lines left out as the scope's boilerplate."""
        raw = self.source.split("\n")
        return [raw[r].strip() for r in self.dropped]


def content_of(
    text: str, boilerplate: Collection[int], shingle_size: int = 5, units: Units | None = None
) -> Content:
    """The comparable content of ``text``, given its scope's boilerplate line keys."""
    u = units or units_of(text)
    first = first_lines(u)
    # a set lookup per line: np.isin built and sorted the scope's keys for every text, 30 us
    # of the 150 a store pass spends on each of tens of thousands of candidates' texts
    bp = boilerplate if isinstance(boilerplate, (set, frozenset)) else frozenset(boilerplate)
    learned = (
        np.fromiter((k in bp for k in u.keys.tolist()), dtype=bool, count=len(u.keys))
        if bp
        else np.zeros(len(u.keys), dtype=bool)
    )
    keep = first & ~learned
    verify, shingles, anchors, digest = content_arrays(u, keep, shingle_size)
    return Content(
        shingles,
        verify,
        anchors,
        digest,
        u.line_raw[keep].tolist(),
        u.line_raw[first & learned].tolist(),
        text,
    )


def text_content(text: str, boilerplate: Collection[int] = (), shingle_size: int = 5) -> Content:
    """The content of one text, given the boilerplate keys of its scope (none by default)."""
    return content_of(text, boilerplate, shingle_size)
