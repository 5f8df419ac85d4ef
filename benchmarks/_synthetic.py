"""A synthetic news corpus of any size, with near-duplicates and (optionally) their labels.

News-length texts drawn from a Zipf vocabulary; about 45 % of the records are copies of
another story (trimmed, lightly edited, re-topped and re-tailed, copies of copies),
scattered over the file, and a few are too short to cluster. Deterministic per seed, so
that every benchmark that sizes the engine (Spark, corpus dedup) reads the same records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHUNK = 2_000  # records generated per chunk; copies land anywhere in their chunk
VOCAB_SIZE = 30_000
_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _vocabulary(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnoprstuvwy"))
    lengths = np.clip(rng.poisson(5, size), 2, 12)
    words = {"".join(rng.choice(letters, n)) for n in lengths.tolist()}
    return np.array(sorted(words, key=lambda w: (len(w), w)), dtype=object)


class _Words:
    """Zipf-distributed word ids and their rendering as text."""

    def __init__(self, seed: int) -> None:
        self.vocab = _vocabulary(VOCAB_SIZE, seed)
        p = 1.0 / np.arange(1, len(self.vocab) + 1)
        self.cdf = np.cumsum(p / p.sum())

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.vocab) - 1)

    def text(self, ids: np.ndarray) -> str:
        words = self.vocab[ids].tolist()
        paras = [" ".join(words[i : i + 60]) for i in range(0, len(words), 60)]
        return "\n\n".join(paras)


def _copy(rng: np.random.Generator, words: _Words, ids: np.ndarray) -> np.ndarray:
    """What a republisher does: trim, touch some words, add its own top and tail."""
    out = ids.copy()
    kind = rng.random()
    if kind < 0.25:  # keeps the first part only: a containment match
        out = out[: max(25, int(len(out) * rng.uniform(0.35, 0.8)))]
    edits = rng.integers(0, len(out), int(len(out) * rng.uniform(0.0, 0.06)))
    out[edits] = words.draw(rng, len(edits))
    if rng.random() < 0.4:
        out = np.concatenate([words.draw(rng, int(rng.integers(5, 40))), out])
    if rng.random() < 0.4:
        out = np.concatenate([out, words.draw(rng, int(rng.integers(5, 30)))])
    return out


def corpus_rows(n: int, seed: int = 8, *, labels: bool = False) -> Iterator[dict]:
    """``n`` records ``{id, text, published}`` in file order; the same for the same seed.

    About 45% of the records are copies of another story: most of their own chunk, some of
    a story from an earlier chunk (so clusters span the file), some copies of copies. With
    ``labels``, each record also carries ``cluster``: the story it was made from (a copy's
    label is its source story's), for ``newsdedup eval`` and pairwise scores.
    """
    words = _Words(seed)
    rng = np.random.default_rng(seed)
    older: list[tuple[np.ndarray, int]] = []  # stories of earlier chunks that later copy
    made = 0
    story = 0
    while made < n:
        size = min(CHUNK, n - made)
        texts: list[tuple[np.ndarray, int]] = []
        while len(texts) < size:
            roll = rng.random()
            if roll < 0.03:  # a brief: too short to cluster
                story += 1
                texts.append((words.draw(rng, int(rng.integers(1, 18))), story))
                continue
            if roll < 0.05 and older:
                base, label = older[int(rng.integers(len(older)))]
            else:
                story += 1
                base, label = words.draw(rng, int(rng.integers(120, 700))), story
                texts.append((base, label))
            copies = int(rng.geometric(0.4)) if rng.random() < 0.45 else 0
            last = base
            for _ in range(copies):
                src = last if rng.random() < 0.3 else base  # sometimes a copy of a copy
                last = _copy(rng, words, src)
                texts.append((last, label))
        texts = texts[:size]
        if rng.random() < 0.5 and texts:
            older.append(texts[0])
            older = older[-50:]
        order = rng.permutation(size)
        minutes = rng.integers(0, 60 * 24 * 30, size)
        for k, j in enumerate(order.tolist()):
            row: dict = {"id": f"doc-{made + k:07d}", "text": words.text(texts[j][0])}
            if minutes[k] % 17:  # about 6% undated
                when = _EPOCH + dt.timedelta(minutes=int(minutes[k]) // 3 * 3)
                row["published"] = when.isoformat()
            if labels:
                row["cluster"] = f"s{texts[j][1]}"
            yield row
        made += size


def write_corpus(path: Path, n: int, seed: int = 8, *, labels: bool = False) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in corpus_rows(n, seed, labels=labels):
            fh.write(json.dumps(row) + "\n")
    return path
