"""Recurring boilerplate learned from the corpus itself: the lines that are not the story.

Every article of an outlet can end with the same 60-80-word footer ("Subscribe to our
morning briefing…", "This article was produced by the … newsroom"), start with the same
breadcrumb, carry the same byline pattern. Left in, such a footer makes two unrelated
stories of one outlet look alike, and splits a story from its verbatim copy under another
outlet's footer. Rules written in advance cannot know every outlet's chrome, so it is
learned from what recurs.

A line (``_lines.Line``, keyed with digits masked) is boilerplate in a *scope* — the
record's host, else its publisher, else the whole corpus — when:

1. at least ``min_records`` records of the scope hold it;
2. for a host or publisher scope, it is that outlet's line: no more than half as many
   records elsewhere hold it (a wire story's paragraph is on many hosts; a footer on one);
3. it is a minor part of the records that hold it: take the lines that at least half of
   those records share (the line's *block*: a three-paragraph footer is one block); in
   the median record the block is under ``host_share`` (outlet scope) or
   ``corpus_share`` (no scope) of its tokens. Copies of one story share most of their
   text, so their common lines are the story itself and stay; an outlet's unrelated
   stories share only the chrome.

The decision for a line depends only on the records that hold it, read in a fixed order
(the ``sample`` with the smallest stable record keys), so the same records give the same
boilerplate whatever order they arrived in: a cron history of many small runs learns
what one batch run over all of them learns.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class BoilerplateRules:
    min_records: int = 3
    host_share: float = 0.8
    corpus_share: float = 0.5
    sample: int = 64  # records read to decide one line; a function of the set, not order


@dataclass
class RecordLines:
    """What learning needs of one record: where it was published, a stable key, its lines
    (each key once: ``keys`` and their ``tokens``, parallel arrays)."""

    scope: str  # host, else publisher, else "" (the whole corpus)
    sample_key: int  # stable across runs and arrival orders (a hash of url or corpus id)
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    tokens: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def decide(
    scope: str,
    holders: Sequence[RecordLines],
    held_here: int,
    held_elsewhere: int,
    rules: BoilerplateRules,
) -> bool:
    """Is a line boilerplate in ``scope``? ``holders`` are the sample of the scope's records
    that hold it (smallest ``sample_key`` first), ``held_here`` how many records of the
    scope hold it in all, ``held_elsewhere`` how many records of other scopes do."""
    if held_here < rules.min_records:
        return False
    if scope and held_elsewhere * 2 > held_here:
        return False
    every = np.concatenate([r.keys for r in holders])
    keys, counts = np.unique(every, return_counts=True)
    common = keys[counts * 2 >= len(holders)]
    # one membership test for all holders' lines, summed per holder (integer sums, exact)
    n = len(holders)
    tokens = np.concatenate([r.tokens for r in holders]).astype(np.int64)
    owner = np.repeat(np.arange(n), [len(r.keys) for r in holders])
    total = np.bincount(owner, weights=tokens, minlength=n).astype(np.int64)
    shared = np.bincount(owner, weights=tokens * np.isin(every, common), minlength=n)
    shares = [int(c) / (int(t) or 1) for c, t in zip(shared.tolist(), total.tolist(), strict=True)]
    limit = rules.host_share if scope else rules.corpus_share
    return statistics.median(shares) < limit
