"""Scoring clusters against ground truth: pairwise precision, recall and F1, and ARI.

Pairwise scores count, over every pair of labelled items, whether the prediction puts
them together when the truth does. They punish both a merged pair of hard negatives and a
copy left out of its story, which is exactly the trade-off the thresholds make.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from math import comb


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    f1: float
    ari: float
    true_pairs: int
    predicted_pairs: int


def pairwise_scores(predicted: Mapping[str, Hashable], truth: Mapping[str, Hashable]) -> PairScores:
    """Scores over the items both mappings label (item -> cluster label)."""
    items = [k for k in truth if k in predicted]
    contingency = Counter((predicted[k], truth[k]) for k in items)
    both = sum(comb(n, 2) for n in contingency.values())
    pred = sum(comb(n, 2) for n in Counter(predicted[k] for k in items).values())
    true = sum(comb(n, 2) for n in Counter(truth[k] for k in items).values())
    precision = both / pred if pred else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = comb(len(items), 2)
    expected = pred * true / total if total else 0.0
    top = (pred + true) / 2 - expected
    ari = (both - expected) / top if top else 1.0
    return PairScores(precision, recall, f1, ari, true, pred)
