"""Token n-gram shingles of an article's canonical text, as a sorted set of 32-bit hashes.

The hash set is the one representation of a text that both stages of deduplication see:
MinHash signs it for candidate search, and verification computes exact Jaccard and
containment on it with ``np.intersect1d``. So it must be a true set (sorted, unique), and
its hashes must be stable across processes, interpreters and platforms -- which rules out
Python's salted ``hash()``. xxHash64 is used per token, and the n token hashes of each
window are folded together, because hashing every joined n-gram string costs an n-times
larger amount of hashed bytes.

Two implementations produce the same values. The per-token path (:func:`tokenize`, then
:func:`hashes_from_tokens`: ``xxhash`` per distinct token, numpy for the windows) spends
most of its time on a Python object per token. The compiled pass (numba) goes from the
folded text's UTF-8 bytes to the hash set without any, 5-9x faster; it costs a process
~0.3 s to load, so :func:`shingle_hashes` switches to it only once the per-token path has
cost that much (see _COMPILE_SECONDS). The per-token path also serves callers that already
hold a token list, and is the reference the compiled pass is tested against.
"""

from __future__ import annotations

import re
import sys
import time
import unicodedata

import numpy as np
import xxhash

from store._jit import Kernels
from store._text import FOLD_TABLE, canonical

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


def window_hashes(tokens: list[str], n: int) -> np.ndarray:
    """The hash of every n-token window of ``tokens`` in text order (one per position; a
    text shorter than n gives one window of all of it): the unsorted form of
    :func:`hashes_from_tokens`, for callers that need to know where a shingle sits."""
    if not tokens:
        return _EMPTY.copy()
    with np.errstate(over="ignore"):
        return _fold_windows(_token_hashes(tokens), min(n, len(tokens)))


def sorted_set(values: np.ndarray) -> np.ndarray:
    """Sorted unique values of a small array (the shingle-set form)."""
    return _sorted_unique(values)


def shingle_hashes(text: str, n: int = 5) -> np.ndarray:
    """Sorted unique uint32 hashes of the token n-grams of ``tokenize(text)``.

    Always equal to ``hashes_from_tokens(tokenize(text), n)``; computed that way until this
    process has spent _COMPILE_SECONDS on it, by the compiled pass below from then on.
    """
    if n < 1:
        raise ValueError("n must be positive")
    if (
        not KERNELS.compiled
        and "numba" not in sys.modules
        and _per_token_seconds <= _COMPILE_SECONDS
    ):
        return _per_token_shingle_hashes(text, n)
    KERNELS.compile()
    buf, classes = _folded_utf8(text)
    return _shingle_set(buf, classes, n)


def _per_token_shingle_hashes(text: str, n: int) -> np.ndarray:
    """The per-token path, timed: see _COMPILE_SECONDS."""
    global _per_token_seconds
    t0 = time.perf_counter()
    hashes = hashes_from_tokens(tokenize(text), n)
    _per_token_seconds += time.perf_counter() - t0
    return hashes


# --------------------------------------------------------------------------- compiled path
#
# The functions below are plain Python until KERNELS.compile() hands them to numba: it rebinds
# each name in this module to its compiled dispatcher, in order, so that the kernels' calls
# to each other resolve to compiled code. cache=True keeps the machine code in __pycache__,
# so only the first run after an install compiles (~6 s). Importing numba and loading the
# cached code still costs a process ~0.3 s once -- the price of shingling ~2,000 English
# news texts on the per-token path, or ~600 in other languages. So a process shingles on
# the per-token path until that path has cost it _COMPILE_SECONDS (or numba is loaded
# anyway), then compiles: a cron run adding a few hundred articles never pays for numba,
# and a long run pays at most twice what it would have paid knowing its length up front.
_COMPILE_SECONDS = 0.3
_per_token_seconds = 0.0

# Token class of a code point, as the regex _TOKEN sees it after folding.
_SEP, _WORD, _SINGLE, _DROP = 0, 1, 2, 3  # _DROP: deleted by FOLD_TABLE (zero-width, soft hyphen)

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = np.uint64(0x27D4EB2F165667C5)
_U0 = np.uint64(0)
_M32 = np.uint64(0xFFFFFFFF)


def _char_classes(chars: str) -> np.ndarray:
    """The token class of each character of ``chars``, derived from the regex itself."""
    cls = np.zeros(len(chars), dtype=np.uint8)
    for m in re.finditer(f"[^\\W{_NOSPACE}]+", chars):
        cls[m.start() : m.end()] = _WORD
    for m in re.finditer(f"[{_NOSPACE}]+", chars):
        cls[m.start() : m.end()] = _SINGLE
    for src, dst in FOLD_TABLE.items():  # str.maketrans keys are code points
        if not dst and src < len(chars):
            cls[src] = _DROP
    return cls


_ASCII_CLASSES = _char_classes("".join(map(chr, range(128))))
_ALL_CLASSES: list[np.ndarray] = []


def _all_classes() -> np.ndarray:
    """Classes of every code point (1.1 MB), built on the first non-ASCII text (~50 ms).

    Built from the running interpreter's regex engine rather than shipped, because ``\\w``
    follows the interpreter's Unicode version, and the tokens must stay what ``_TOKEN``
    finds on this interpreter.
    """
    if not _ALL_CLASSES:
        every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
        _ALL_CLASSES.append(_char_classes(every))
    return _ALL_CLASSES[0]


def _rotl(x, r):  # noqa: ANN001, ANN202 -- numba kernels are typed by their arguments
    return (x << r) | (x >> (np.uint64(64) - r))


def _read64(buf, p):  # noqa: ANN001, ANN202
    v = _U0
    for k in range(7, -1, -1):
        v = (v << np.uint64(8)) | np.uint64(buf[p + k])
    return v


def _read32(buf, p):  # noqa: ANN001, ANN202
    v = _U0
    for k in range(3, -1, -1):
        v = (v << np.uint64(8)) | np.uint64(buf[p + k])
    return v


def _xxh_round(acc, lane):  # noqa: ANN001, ANN202
    return _rotl(acc + lane * _P2, np.uint64(31)) * _P1


def _xxh64(buf, start, length):  # noqa: ANN001, ANN202
    """XXH64 (seed 0) of ``buf[start:start + length]``: ``xxhash.xxh64_intdigest``'s value."""
    p = start
    end = start + length
    if length >= 32:
        v1 = _P1 + _P2
        v2 = _P2
        v3 = _U0
        v4 = _U0 - _P1
        while p + 32 <= end:
            v1 = _xxh_round(v1, _read64(buf, p))
            v2 = _xxh_round(v2, _read64(buf, p + 8))
            v3 = _xxh_round(v3, _read64(buf, p + 16))
            v4 = _xxh_round(v4, _read64(buf, p + 24))
            p += 32
        h = (
            _rotl(v1, np.uint64(1))
            + _rotl(v2, np.uint64(7))
            + _rotl(v3, np.uint64(12))
            + _rotl(v4, np.uint64(18))
        )
        for v in (v1, v2, v3, v4):
            h = (h ^ _xxh_round(_U0, v)) * _P1 + _P4
    else:
        h = _P5
    h += np.uint64(length)
    while p + 8 <= end:
        h ^= _xxh_round(_U0, _read64(buf, p))
        h = _rotl(h, np.uint64(27)) * _P1 + _P4
        p += 8
    if p + 4 <= end:
        h ^= _read32(buf, p) * _P1
        h = _rotl(h, np.uint64(23)) * _P2 + _P3
        p += 4
    while p < end:
        h ^= np.uint64(buf[p]) * _P5
        h = _rotl(h, np.uint64(11)) * _P1
        p += 1
    h ^= h >> np.uint64(33)
    h *= _P2
    h ^= h >> np.uint64(29)
    h *= _P3
    h ^= h >> np.uint64(32)
    return h


def _decode(buf, i):  # noqa: ANN001, ANN202
    """Code point and byte width of the UTF-8 sequence at ``buf[i]`` (input is valid UTF-8)."""
    b0 = np.int64(buf[i])
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F), 2
    if b0 < 0xF0:
        return (
            ((b0 & 0x0F) << 12)
            | ((np.int64(buf[i + 1]) & 0x3F) << 6)
            | (np.int64(buf[i + 2]) & 0x3F)
        ), 3
    return (
        ((b0 & 0x07) << 18)
        | ((np.int64(buf[i + 1]) & 0x3F) << 12)
        | ((np.int64(buf[i + 2]) & 0x3F) << 6)
        | (np.int64(buf[i + 3]) & 0x3F)
    ), 4


def _token_hash_array(buf, classes):  # noqa: ANN001, ANN202
    """xxh64 of every token of the folded UTF-8 text ``buf``, in text order.

    The regex ``_TOKEN`` as a state machine over code points: a token is a maximal run of
    word characters, or one character of a script written without spaces. Characters that
    ``FOLD_TABLE`` deletes are skipped without ending a run, and a run holding one is hashed
    without them. Token bounds are found first and hashed after: ASCII bytes update the
    bounds without a branch on the word/separator change (a mispredicted branch at every
    token boundary cost a third of the time), other characters take the general path.
    """
    nb = buf.shape[0]
    starts = np.empty(nb + 1, dtype=np.int64)
    ends = np.empty(nb + 1, dtype=np.int64)
    dropped = np.zeros(nb + 1, dtype=np.bool_)
    n_cls = classes.shape[0]
    ns = 0
    ne = 0
    in_run = 0
    i = 0
    while i < nb:
        b0 = buf[i]
        if b0 < 0x80:
            w = np.int64(classes[b0] == _WORD)
            starts[ns] = i
            ns += w & (1 - in_run)
            ends[ne] = i
            ne += in_run & (1 - w)
            in_run = w
            i += 1
            continue
        cp, width = _decode(buf, i)
        c = classes[cp] if cp < n_cls else _SEP
        if c == _WORD:
            if not in_run:
                starts[ns] = i
                ns += 1
                in_run = 1
        elif c == _DROP:
            if in_run:
                dropped[ns - 1] = True
        else:
            if in_run:
                ends[ne] = i
                ne += 1
                in_run = 0
            if c == _SINGLE:
                starts[ns] = i
                ends[ne] = i + width
                ns += 1
                ne += 1
        i += width
    ends[ne] = nb
    ne += in_run
    out = np.empty(ns, dtype=np.uint64)
    for k in range(ns):
        if dropped[k]:
            out[k] = _hash_without_dropped(buf, starts[k], ends[k], classes)
        else:
            out[k] = _xxh64(buf, starts[k], ends[k] - starts[k])
    return out


def _hash_without_dropped(buf, start, end, classes):  # noqa: ANN001, ANN202
    """xxh64 of ``buf[start:end]`` with the characters of class _DROP taken out."""
    scratch = np.empty(end - start, dtype=np.uint8)
    k = 0
    j = start
    while j < end:
        cp, width = _decode(buf, j)
        if classes[cp] != _DROP:
            scratch[k : k + width] = buf[j : j + width]
            k += width
        j += width
    return _xxh64(scratch, 0, k)


def _sort_unique_u32(values):  # noqa: ANN001, ANN202
    """Sorted unique copy of a uint32 array: LSD radix sort, 8 bits a pass, then a sweep."""
    m = values.shape[0]
    src = values.copy()
    dst = np.empty_like(src)
    counts = np.empty(256, dtype=np.int64)
    for shift in range(0, 32, 8):
        counts[:] = 0
        for v in src:
            counts[(v >> shift) & 0xFF] += 1
        total = 0
        for d in range(256):
            c = counts[d]
            counts[d] = total
            total += c
        for v in src:
            d = (v >> shift) & 0xFF
            dst[counts[d]] = v
            counts[d] += 1
        src, dst = dst, src
    k = 0
    for j in range(m):
        if k == 0 or src[j] != src[k - 1]:
            src[k] = src[j]
            k += 1
    return src[:k].copy()


def _fmix(acc):  # noqa: ANN001, ANN202
    acc ^= acc >> _S33
    acc *= _FMIX1
    acc ^= acc >> _S33
    acc *= _FMIX2
    acc ^= acc >> _S33
    return acc


def _windows(th, n):  # noqa: ANN001, ANN202
    """The 32-bit hash of every n-token window (one window of all of a shorter text)."""
    ntok = th.shape[0]
    width = min(n, ntok)
    m = ntok - width + 1
    win = np.empty(m, dtype=np.uint32)
    for i in range(m):
        acc = th[i]
        for k in range(1, width):
            acc = acc * _MUL + th[i + k]
        acc = _fmix(acc)
        win[i] = np.uint32(((acc >> _S32) ^ acc) & _M32)
    return win


def _shingle_set(buf, classes, n):  # noqa: ANN001, ANN202
    """Sorted unique window hashes of a folded text: ``hashes_from_tokens`` in one pass."""
    th = _token_hash_array(buf, classes)
    if th.shape[0] == 0:
        return np.empty(0, dtype=np.uint32)
    return _sort_unique_u32(_windows(th, n))


# Compiled in this order, so that each kernel's calls resolve to already compiled callees.
KERNELS = Kernels(
    globals(),
    (
        "_rotl",
        "_read64",
        "_read32",
        "_xxh_round",
        "_xxh64",
        "_decode",
        "_hash_without_dropped",
        "_token_hash_array",
        "_sort_unique_u32",
        "_fmix",
        "_windows",
        "_shingle_set",
    ),
)


def _folded_utf8(text: str) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes that tokenize like ``fold(text)``, and the class table to read them with.

    ``fold`` is NFKC, then ``FOLD_TABLE``, then casefold. casefold works character by character,
    and ``FOLD_TABLE`` only swaps separators for separators (which casefold leaves separators)
    or deletes characters (which casefold leaves alone), so the kernel can apply the
    deletions itself and Python skips ``str.translate``, the slowest of the three on
    non-ASCII text. On ASCII text NFKC is the identity and casefold is ``lower``.
    (tests/test_signing_paths.py checks these properties of the table.)
    """
    if text.isascii():
        return np.frombuffer(text.lower().encode("ascii"), dtype=np.uint8), _ASCII_CLASSES
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return np.frombuffer(folded.encode("ascii"), dtype=np.uint8), _ASCII_CLASSES
    data = folded.encode("utf-8", "surrogatepass")
    return np.frombuffer(data, dtype=np.uint8), _all_classes()
