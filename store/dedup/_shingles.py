"""Token n-gram shingles of an article's canonical text, as a sorted set of 32-bit hashes.

The hash set is the one representation of a text that both stages of deduplication see:
MinHash signs it for candidate search, and verification computes exact Jaccard and
containment on it with ``np.intersect1d``. So it must be a true set (sorted, unique), and
its hashes must be stable across processes, interpreters and platforms -- which rules out
Python's salted ``hash()``. xxHash64 is used per distinct token, and the n token hashes of
each window are folded together in numpy, because hashing every joined n-gram string costs
a Python call per position and an n-times larger amount of hashed bytes.
"""

from __future__ import annotations

import re

import numpy as np
import xxhash

from store._text import canonical

# Scripts written without spaces between words. In them every character is a token, so that
# token n-grams become character n-grams -- the usual shingle for Chinese, Japanese or Thai.
_NOSPACE = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3005-\u3007"  # CJK iteration mark, closing mark, ideographic zero
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana (NFKC maps most of it already)
    "\U00020000-\U0003134f"  # CJK extensions B..G
)
_TOKEN = re.compile(f"[^\\W{_NOSPACE}]+|[{_NOSPACE}]")
# ASCII characters that are not word characters become spaces, so that splitting on
# whitespace does most of the tokenizing; only non-ASCII pieces still need the regex.
_ASCII_BREAKS = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "_")}
)

# Token hashes shared across documents: news vocabulary repeats, and a dict lookup is about
# half the cost of encoding and hashing a token. Bounded by clearing when it fills up.
_TOKEN_CACHE: dict[str, int] = {}
_TOKEN_CACHE_MAX = 1 << 18

# Odd 64-bit multipliers for folding a window of token hashes; position-dependent so that
# reordered windows ("a b" vs "b a") hash differently.
_MUL = np.uint64(0x9E3779B97F4A7C15)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S32 = np.uint64(32)
_EMPTY = np.empty(0, dtype=np.uint32)


def tokenize(text: str) -> list[str]:
    """Word tokens of the canonical text; single characters in scripts without spaces.

    Equivalent to ``_TOKEN.findall(canonical(text))``: no token spans whitespace or ASCII
    punctuation, so the text is first cut there with fast ``str`` methods (3x faster on
    English), and only the pieces holding non-ASCII characters go through the regex.
    """
    folded = canonical(text)
    pieces = folded.translate(_ASCII_BREAKS).split()
    if folded.isascii():
        return pieces
    tokens: list[str] = []
    for p in pieces:
        if p.isascii():
            tokens.append(p)
        else:
            tokens += _TOKEN.findall(p)
    return tokens


def _token_hashes(tokens: list[str]) -> np.ndarray:
    """xxh64 of each token's UTF-8 bytes, each distinct token hashed at most once."""
    cache = _TOKEN_CACHE
    try:  # the common case once the cache is warm: every token seen before
        return np.fromiter(map(cache.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    except KeyError:
        pass
    if len(cache) > _TOKEN_CACHE_MAX:
        cache.clear()
    h64 = xxhash.xxh64_intdigest
    out = []
    for tok in tokens:
        hv = cache.get(tok)
        if hv is None:
            hv = cache[tok] = h64(tok.encode("utf-8"))
        out.append(hv)
    return np.array(out, dtype=np.uint64)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` for a small 1-D array without its per-call overhead (6x faster here)."""
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _fold_windows(th: np.ndarray, n: int) -> np.ndarray:
    """Combine every run of n consecutive token hashes into one 32-bit hash.

    Polynomial accumulation modulo 2**64 keeps order information; the MurmurHash3 64-bit
    finalizer then spreads it over all bits before the top and bottom halves are folded
    into 32. Overflow wrap-around is intended here.
    """
    m = len(th) - n + 1
    acc = th[:m].copy()
    for k in range(1, n):
        acc *= _MUL
        acc += th[k : k + m]
    acc ^= acc >> _S33
    acc *= _FMIX1
    acc ^= acc >> _S33
    acc *= _FMIX2
    acc ^= acc >> _S33
    return ((acc >> _S32) ^ acc).astype(np.uint32)


def hashes_from_tokens(tokens: list[str], n: int = 5) -> np.ndarray:
    """Shingle hash set of an already tokenized text (see :func:`shingle_hashes`)."""
    if n < 1:
        raise ValueError("n must be positive")
    if not tokens:
        return _EMPTY.copy()
    th = _token_hashes(tokens)
    # A text shorter than one window still deserves a fingerprint: one shingle of all of it.
    width = min(n, len(th))
    with np.errstate(over="ignore"):
        return _sorted_unique(_fold_windows(th, width))


def shingle_hashes(text: str, n: int = 5) -> np.ndarray:
    """Sorted unique uint32 hashes of the token n-grams of ``tokenize(text)``."""
    return hashes_from_tokens(tokenize(text), n)
