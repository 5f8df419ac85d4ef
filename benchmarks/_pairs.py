"""Pairwise clustering scores that can be restricted to some pairs and summed over corpora.

``store.pairwise_scores`` scores one whole partition (and gives ARI); a benchmark also needs
the same counts for a subset of the pairs (those that involve a record of one variation
kind) and summed over several seeds before precision and recall are taken, so that a seed
with more copies weighs more, as in ``bench_accuracy``. Both come from the set of pairs a
labelling puts together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

Pair = tuple[str, str]


def label_pairs(labels: Mapping[str, Hashable]) -> set[Pair]:
    """Every unordered pair of items with the same label, each as (smaller id, larger id)."""
    groups: dict[Hashable, list[str]] = defaultdict(list)
    for item, label in labels.items():
        groups[label].append(item)
    return {pair for items in groups.values() for pair in combinations(sorted(items), 2)}


@dataclass(frozen=True)
class PairCounts:
    both: int = 0  # pairs predicted together that truly belong together
    predicted: int = 0
    true: int = 0

    def __add__(self, other: PairCounts) -> PairCounts:
        return PairCounts(
            self.both + other.both, self.predicted + other.predicted, self.true + other.true
        )

    @property
    def false_links(self) -> int:
        return self.predicted - self.both

    @property
    def missed(self) -> int:
        return self.true - self.both

    @property
    def precision(self) -> float:
        return self.both / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.both / self.true if self.true else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pair_counts(
    predicted: set[Pair], true: set[Pair], keep: Callable[[Pair], bool] | None = None
) -> PairCounts:
    """Counts over the pairs ``keep`` accepts (all pairs when None)."""
    if keep is not None:
        predicted = {p for p in predicted if keep(p)}
        true = {p for p in true if keep(p)}
    return PairCounts(len(predicted & true), len(predicted), len(true))


def involving(items: Iterable[str]) -> Callable[[Pair], bool]:
    """A ``keep`` for the pairs with at least one of ``items`` in them."""
    chosen = set(items)
    return lambda pair: pair[0] in chosen or pair[1] in chosen
