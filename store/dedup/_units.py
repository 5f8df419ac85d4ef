"""A record's text cut into tokens, sentences and lines in one compiled pass.

Everything the engine compares is derived from the token hashes of the folded text (the
same tokens and xxh64 hashes as ``_shingles``, so signatures stay datasketch's): the
line a token is on, whether it starts a sentence, and each line's *key*, a hash of its
tokens with every all-digit token masked (an outlet's byline differs from page to page
only in its date). ``content_arrays`` then takes the tokens of the lines to keep and
produces the content's shingle sets and sentence anchors.

Definitions, shared by every path (batch, store, Spark):

- a *line* is a run of text between newlines that holds at least one token;
- a *sentence* starts at a line's first token, and at the first token after ``.``, ``!``
  or ``?`` followed by whitespace (closing quotes and brackets may come between), or after
  a CJK full stop, exclamation or question mark;
- an *anchor* is the smallest 4-gram hash of a sentence of at least ``ANCHOR_MIN_TOKENS``
  tokens (windows wholly inside the sentence). Four words rather than three: common
  three-word phrases ("one of the") make a stock anchor of many sentences (on a Zipf
  corpus of 20k records, 708k candidate pairs against 34k), and five would lose more
  lightly edited sentences (recall 0.965 against 0.969 on the development corpora).

The kernels are numba-compiled on first use (``_shingles._compile`` first, whose kernels
they call), and cached beside the module like ``_shingles``' own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from store._jit import Kernels

from . import _shingles as S

ANCHOR_MIN_TOKENS = 8
ANCHOR_SHINGLE = 4
VERIFY_SHINGLE = 3

_WORD, _SINGLE, _DROP = S._WORD, S._SINGLE, S._DROP  # noqa: SLF001 - one package's tables
_MUL = S._MUL  # noqa: SLF001
_DIGITS = np.uint64(0x5BD1E9955BD1E995)  # what an all-digit token hashes to in line keys


def _scan(buf, classes):  # noqa: ANN001, ANN202
    """Token bounds, raw line numbers, sentence starts and all-digit flags of ``buf``."""
    nb = buf.shape[0]
    n_cls = classes.shape[0]
    starts = np.empty(nb + 1, dtype=np.int64)
    ends = np.empty(nb + 1, dtype=np.int64)
    lines = np.empty(nb + 1, dtype=np.int64)
    sent = np.zeros(nb + 1, dtype=np.bool_)
    digits = np.zeros(nb + 1, dtype=np.bool_)
    dropped = np.zeros(nb + 1, dtype=np.bool_)
    ns = 0
    in_run = False
    line = 0
    boundary = True  # the text's first token starts a sentence
    pending = False  # an end mark seen, waiting for the whitespace that confirms it
    i = 0
    while i < nb:
        b0 = buf[i]
        if b0 < 0x80:
            cp = np.int64(b0)
            width = 1
        else:
            cp, width = S._decode(buf, i)  # noqa: SLF001
        c = classes[cp] if cp < n_cls else 0
        if c == _WORD:
            if not in_run:
                starts[ns] = i
                lines[ns] = line
                sent[ns] = boundary
                digits[ns] = True
                dropped[ns] = False
                boundary = False
                pending = False
                ns += 1
                in_run = True
            if cp < 48 or cp > 57:
                digits[ns - 1] = False
        elif c == _DROP:
            if in_run:
                dropped[ns - 1] = True
        else:
            if in_run:
                ends[ns - 1] = i
                in_run = False
            if c == _SINGLE:
                starts[ns] = i
                ends[ns] = i + width
                lines[ns] = line
                sent[ns] = boundary
                digits[ns] = False
                dropped[ns] = False
                boundary = False
                pending = False
                ns += 1
            elif cp == 10:  # a new line: a new sentence
                line += 1
                boundary = True
            elif cp == 46 or cp == 33 or cp == 63:  # . ! ?
                pending = True
            elif cp == 0x3002 or cp == 0xFF01 or cp == 0xFF1F or cp == 0xFF61:
                boundary = True  # CJK ends need no space after them
            elif pending and (cp == 32 or cp == 9 or cp == 13 or cp == 0xA0 or cp == 0x3000):
                boundary = True
        i += width
    if in_run:
        ends[ns - 1] = nb
    return starts[:ns], ends[:ns], lines[:ns], sent[:ns], digits[:ns], dropped[:ns]


def _units_kernel(buf, classes):  # noqa: ANN001, ANN202
    """Token hashes, each token's line (compact: lines without tokens skipped), sentence
    starts, and per line its raw line number, key and token count."""
    starts, ends, raw, sent, digits, dropped = _scan(buf, classes)
    n = starts.shape[0]
    th = np.empty(n, dtype=np.uint64)
    for k in range(n):
        if dropped[k]:
            th[k] = S._hash_without_dropped(buf, starts[k], ends[k], classes)  # noqa: SLF001
        else:
            th[k] = S._xxh64(buf, starts[k], ends[k] - starts[k])  # noqa: SLF001
    tline = np.empty(n, dtype=np.int64)
    line_raw = np.empty(n, dtype=np.int64)
    keys = np.empty(n, dtype=np.uint64)
    ntok = np.empty(n, dtype=np.int64)
    nl = -1
    acc = np.uint64(0)
    for k in range(n):
        if nl < 0 or raw[k] != line_raw[nl]:
            if nl >= 0:
                keys[nl] = S._fmix(acc)
            nl += 1
            line_raw[nl] = raw[k]
            ntok[nl] = 0
            acc = np.uint64(0x27D4EB2F165667C5)
        acc = acc * _MUL + (_DIGITS if digits[k] else th[k])
        ntok[nl] += 1
        tline[k] = nl
    if nl >= 0:
        keys[nl] = S._fmix(acc)
    nl += 1
    return th, tline, sent, line_raw[:nl], keys[:nl], ntok[:nl]


def _content_kernel(th, tline, sent, keep, n, min_anchor, anchor_n):  # noqa: ANN001, ANN202
    """Shingle sets (3-grams, n-grams), anchors and a hash of the kept lines' tokens."""
    total = 0
    for k in range(th.shape[0]):
        if keep[tline[k]]:
            total += 1
    ct = np.empty(total, dtype=np.uint64)
    cs = np.empty(total, dtype=np.bool_)
    j = 0
    last_line = -1
    chash = np.uint64(0x165667B19E3779F9)
    for k in range(th.shape[0]):
        if keep[tline[k]]:
            ct[j] = th[k]
            cs[j] = sent[k] or tline[k] != last_line
            last_line = tline[k]
            chash = chash * _MUL + th[k]
            j += 1
    if total == 0:
        empty = np.empty(0, dtype=np.uint32)
        return empty, empty, empty, S._fmix(chash)
    w3 = S._windows(ct, 3)
    wn = S._windows(ct, n)
    wa = wn if anchor_n == n else (w3 if anchor_n == 3 else S._windows(ct, anchor_n))
    verify = S._sort_unique_u32(w3)  # noqa: SLF001
    shingles = S._sort_unique_u32(wn)  # noqa: SLF001
    anchors = np.empty(total, dtype=np.uint32)
    na = 0
    s = 0
    for e in range(1, total + 1):
        if e == total or cs[e]:
            if e - s >= min_anchor and e - s >= anchor_n:
                best = wa[s]
                for p in range(s + 1, e - anchor_n + 1):
                    if wa[p] < best:
                        best = wa[p]
                anchors[na] = best
                na += 1
            s = e
    return verify, shingles, S._sort_unique_u32(anchors[:na]), S._fmix(chash)  # noqa: SLF001


# After _shingles' kernels, which ours call through the module ``S``.
KERNELS = Kernels(globals(), ("_scan", "_units_kernel", "_content_kernel"), then=(S.KERNELS,))


@dataclass
class Units:
    """A record's tokens and lines. ``line_raw`` maps a line to its index in
    ``text.split("\\n")``; keys are signed 64-bit (what SQL engines store)."""

    th: np.ndarray  # uint64 token hashes, in text order
    tline: np.ndarray  # int64: each token's line
    sent: np.ndarray  # bool: the token starts a sentence
    line_raw: np.ndarray  # int64
    keys: np.ndarray  # int64 line keys
    ntok: np.ndarray  # int64 tokens per line


def units_of(text: str) -> Units:
    KERNELS.compile()
    buf, classes = S._folded_utf8(text)  # noqa: SLF001
    th, tline, sent, line_raw, keys, ntok = _units_kernel(buf, classes)
    return Units(th, tline, sent, line_raw, keys.view(np.int64), ntok)


def content_arrays(
    u: Units,
    keep: np.ndarray,
    n: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(verify 3-grams, n-gram shingles, anchors, content hash) of the kept lines."""
    KERNELS.compile()
    verify, shingles, anchors, chash = _content_kernel(
        u.th, u.tline, u.sent, keep, n, ANCHOR_MIN_TOKENS, ANCHOR_SHINGLE
    )
    return verify, shingles, anchors, int(chash)
