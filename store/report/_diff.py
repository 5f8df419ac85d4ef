"""Side-by-side comparison of a copy with its origin: what was copied, added and cut.

Paragraphs are aligned first and words compared only inside paragraphs that differ,
because republishers mostly keep the wire paragraphs whole and wrap their own around
them; a word diff over the whole text would instead splice unrelated paragraphs together
on common words like "the". difflib is enough here: it is exact, in the standard library,
and a story is at most a few thousand words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from store._text import canonical

SAME, CUT, ADDED = "same", "cut", "added"
_BREAK = "\x00¶"  # paragraph boundary inside a word stream; never a word itself


@dataclass
class Segment:
    kind: str  # SAME (copied), CUT (origin only), ADDED (copy only)
    text: str


Paragraph = list[Segment]


@dataclass
class DiffRow:
    """One aligned step: origin paragraphs on the left, the copy's on the right."""

    left: list[Paragraph] = field(default_factory=list)
    right: list[Paragraph] = field(default_factory=list)

    @property
    def kind(self) -> str:
        kinds = {s.kind for side in (self.left, self.right) for p in side for s in p}
        return kinds.pop() if len(kinds) == 1 else "changed"


@dataclass
class TextDiff:
    rows: list[DiffRow]
    copied_words: int  # words of the copy that come from the origin
    added_words: int  # words only the copy has
    cut_words: int  # words of the origin the copy left out


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


class _Side:
    """Collects (kind, word) pairs into paragraphs of merged segments."""

    def __init__(self) -> None:
        self.paras: list[Paragraph] = []
        self._open: Paragraph | None = None

    def add(self, kind: str, word: str) -> None:
        if word == _BREAK:
            self._open = None
            return
        if self._open is None:
            self._open = []
            self.paras.append(self._open)
        if self._open and self._open[-1].kind == kind:
            self._open[-1].text += " " + word
        else:
            self._open.append(Segment(kind, word))


def _words(paras: Iterable[str]) -> list[str]:
    out: list[str] = []
    for p in paras:
        if out:
            out.append(_BREAK)
        out.extend(p.split())
    return out


def _word_diff(a: list[str], b: list[str]) -> tuple[DiffRow, int, int, int]:
    left, right = _Side(), _Side()
    wa, wb = _words(a), _words(b)
    ka = [w if w == _BREAK else canonical(w) for w in wa]
    kb = [w if w == _BREAK else canonical(w) for w in wb]
    copied = added = cut = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if op == "equal":  # each side keeps its own typography
            for w in wa[i1:i2]:
                left.add(SAME, w)
            for w in wb[j1:j2]:
                right.add(SAME, w)
            copied += sum(w != _BREAK for w in wb[j1:j2])
            continue
        for w in wa[i1:i2]:
            left.add(CUT, w)
        for w in wb[j1:j2]:
            right.add(ADDED, w)
        cut += sum(w != _BREAK for w in wa[i1:i2])
        added += sum(w != _BREAK for w in wb[j1:j2])
    return DiffRow(left.paras, right.paras), copied, added, cut


def diff_texts(origin: str, copy: str) -> TextDiff:
    """Align ``copy`` against ``origin`` paragraph by paragraph, then word by word."""
    a, b = paragraphs(origin), paragraphs(copy)
    ka, kb = [canonical(p) for p in a], [canonical(p) for p in b]
    rows: list[DiffRow] = []
    copied = added = cut = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if op == "equal":
            for p, q in zip(a[i1:i2], b[j1:j2], strict=True):
                rows.append(DiffRow([[Segment(SAME, p)]], [[Segment(SAME, q)]]))
                copied += len(q.split())
            continue
        row, c, ad, cu = _word_diff(a[i1:i2], b[j1:j2])
        rows.append(row)
        copied, added, cut = copied + c, added + ad, cut + cu
    return TextDiff(rows, copied, added, cut)
