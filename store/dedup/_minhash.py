"""Batch MinHash signatures that are bit-for-bit datasketch signatures.

datasketch signs one document at a time: a Python object per document, a fresh
``RandomState`` per object and a Python call per shingle. A crawl signs hundreds of
thousands of articles, so this module signs a whole batch at once -- all shingles
concatenated, then either one compiled loop (numba, "affine32" only) that keeps each
document's minima in cache, or numpy: permuted in cache-sized chunks and min-reduced per
document with ``np.minimum.reduceat`` -- while producing exactly the hash values
``datasketch.MinHash(num_perm, seed, hashfunc=int, scheme=...)`` would for the same shingle
hashes. That identity is what lets stored signatures be rebuilt into ``LeanMinHash``
objects and mixed with datasketch's own LSH and estimators.

Two datasketch permutation schemes are reproduced:

* ``"affine32"`` (datasketch >= 2.0 default): ``h = fmix32(hv)``, then ``a*h + b`` mod 2**32.
* ``"legacy"`` (datasketch < 2.0): ``(a*hv + b) % (2**61 - 1) & (2**32 - 1)`` where the
  product and sum are computed in uint64 and wrap modulo 2**64 *before* the ``%`` --
  datasketch's arithmetic, wrap-around included, so the values match it exactly.

Both keep every value below 2**32, so a signature is stored as ``num_perm`` uint32s.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from store._jit import Kernels

if TYPE_CHECKING:
    from datasketch import LeanMinHash

MAX_HASH = (1 << 32) - 1
_MERSENNE = np.uint64((1 << 61) - 1)
_MAX64 = np.uint64(MAX_HASH)
SCHEMES = ("affine32", "legacy")

# Values permuted per chunk (chunk_rows * num_perm): 4 MiB of uint32 measured fastest on a
# 2 MiB-L2 machine; smaller chunks pay per-call overhead, larger ones spill the L3.
_CHUNK_VALUES = 1 << 20


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch pre-mixes inputs for "affine32"."""
    hv = hv ^ (hv >> np.uint32(16))
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    return hv


def _mix32(hv):  # noqa: ANN001, ANN202 -- numba kernels are typed by their arguments
    """:func:`_fmix32` of one value, for the compiled loop."""
    h = np.uint64(hv)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _MAX64
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _MAX64
    h ^= h >> np.uint64(16)
    return np.uint32(h)


def _sign_affine32(flat, offsets, a, b, out):  # noqa: ANN001, ANN202
    """Lower ``out[d]`` to the "affine32" minima of ``flat[offsets[d]:offsets[d + 1]]``.

    Eight input hashes per pass over the permutations: the document's running minima are
    loaded and stored once a pass, and the permutations run across SIMD lanes (the uint32
    multiply-add wraps modulo 2**32, as datasketch's does). 4x numpy's chunked passes.
    """
    num_perm = a.shape[0]
    for d in range(offsets.shape[0] - 1):
        row = out[d]
        i = offsets[d]
        end = offsets[d + 1]
        while i + 8 <= end:
            h0, h1 = _mix32(flat[i]), _mix32(flat[i + 1])
            h2, h3 = _mix32(flat[i + 2]), _mix32(flat[i + 3])
            h4, h5 = _mix32(flat[i + 4]), _mix32(flat[i + 5])
            h6, h7 = _mix32(flat[i + 6]), _mix32(flat[i + 7])
            for p in range(num_perm):
                ap, bp = a[p], b[p]
                v = min(np.uint32(ap * h0 + bp), np.uint32(ap * h1 + bp))
                v = min(v, np.uint32(ap * h2 + bp))
                v = min(v, np.uint32(ap * h3 + bp))
                v = min(v, np.uint32(ap * h4 + bp))
                v = min(v, np.uint32(ap * h5 + bp))
                v = min(v, np.uint32(ap * h6 + bp))
                v = min(v, np.uint32(ap * h7 + bp))
                row[p] = min(row[p], v)
            i += 8
        while i < end:
            h0 = _mix32(flat[i])
            for p in range(num_perm):
                row[p] = min(row[p], np.uint32(a[p] * h0 + b[p]))
            i += 1


# The compiled loop is numba's: importing it and loading the cached machine code costs a
# process ~0.3 s once (store.dedup._shingles' kernels pay the same and usually first). Until
# numba is loaded, numpy signs, and the loop is compiled once numpy has spent that long:
# a process signing a few hundred documents never pays for numba, a long one barely notices.
_COMPILE_SECONDS = 0.3
KERNELS = Kernels(globals(), ("_mix32", "_sign_affine32"))  # callees first
_numpy_seconds = 0.0


def _use_compiled() -> bool:
    if not KERNELS.compiled and ("numba" in sys.modules or _numpy_seconds > _COMPILE_SECONDS):
        KERNELS.compile()
    return KERNELS.compiled


def _permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) parameters datasketch draws from ``RandomState(seed)`` for this scheme."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        # datasketch draws a and b interleaved, one scalar pair per permutation.
        pairs = [
            (gen.randint(1, _MERSENNE, dtype=np.uint64), gen.randint(0, _MERSENNE, dtype=np.uint64))
            for _ in range(num_perm)
        ]
        ab = np.array(pairs, dtype=np.uint64).T
        return ab[0].copy(), ab[1].copy()
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class MinHasher:
    """Signs batches of shingle-hash sets with one fixed family of permutations."""

    def __init__(self, num_perm: int = 128, seed: int = 1, scheme: str = "affine32") -> None:
        if num_perm < 1:
            raise ValueError("num_perm must be positive")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.num_perm = num_perm
        self.seed = seed
        self.scheme = scheme
        self._a, self._b = _permutations(num_perm, seed, scheme)
        self._chunk_rows = max(256, _CHUNK_VALUES // num_perm)

    def _permute(self, hv: np.ndarray) -> np.ndarray:
        """(num_perm, rows) permuted values of one chunk of input hashes.

        Permutation-major layout: each permutation is one long contiguous row, so the
        multiply, add and per-document ``reduceat`` all run as long SIMD loops (about 5x
        faster than shingle-major rows of only num_perm values each).
        """
        a, b = self._a[:, None], self._b[:, None]
        if self.scheme == "affine32":
            phv = a * hv[None, :]
            phv += b
            return phv
        with np.errstate(over="ignore"):
            phv = a * hv[None, :]  # wraps mod 2**64 before the modulus, as in datasketch
            phv += b
        phv %= _MERSENNE
        phv &= _MAX64
        return phv

    def signatures(self, docs: Sequence[np.ndarray]) -> np.ndarray:
        """(len(docs), num_perm) uint64 signatures; an empty document gets all ``MAX_HASH``."""
        n_docs = len(docs)
        lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=n_docs)
        work_dtype = np.uint32 if self.scheme == "affine32" else np.uint64
        out = np.full((n_docs, self.num_perm), MAX_HASH, dtype=work_dtype)
        total = int(lens.sum())
        if total == 0:
            return out.astype(np.uint64, copy=False)
        flat = np.concatenate([np.asarray(d) for d in docs])
        if flat.size and (flat.dtype.kind not in "ui" or flat.min() < 0 or flat.max() > MAX_HASH):
            raise ValueError("shingle hashes must be unsigned 32-bit integers")
        if self.scheme == "affine32" and _use_compiled():
            offsets = np.zeros(n_docs + 1, dtype=np.int64)
            np.cumsum(lens, out=offsets[1:])
            _sign_affine32(flat.astype(np.uint32, copy=False), offsets, self._a, self._b, out)
            return out.astype(np.uint64)
        t0 = time.perf_counter()
        out = self._signatures_numpy(flat, lens, out)
        if self.scheme == "affine32":
            global _numpy_seconds
            _numpy_seconds += time.perf_counter() - t0
        return out.astype(np.uint64, copy=False)

    def _signatures_numpy(self, flat: np.ndarray, lens: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`signatures` in numpy, in cache-sized chunks of the concatenated hashes."""
        total = len(flat)
        if self.scheme == "affine32":
            flat = _fmix32(flat.astype(np.uint32))
        else:
            flat = flat.astype(np.uint64)

        nonempty = np.flatnonzero(lens)
        starts = (np.cumsum(lens) - lens)[nonempty]
        step = self._chunk_rows
        for r0 in range(0, total, step):
            r1 = min(r0 + step, total)
            # Documents overlapping [r0, r1): the one holding row r0, and all starting after it.
            i0 = int(np.searchsorted(starts, r0, side="right")) - 1
            i1 = int(np.searchsorted(starts, r1, side="left"))
            seg = starts[i0:i1] - r0
            seg[0] = 0
            mins = np.minimum.reduceat(self._permute(flat[r0:r1]), seg, axis=1).T
            rows = nonempty[i0:i1]
            # Only the first and last document can straddle a chunk boundary.
            np.minimum(out[rows[0]], mins[0], out=mins[0])
            np.minimum(out[rows[-1]], mins[-1], out=mins[-1])
            out[rows] = mins
        return out

    def signature(self, doc: np.ndarray) -> np.ndarray:
        """Signature of a single document (a batch of one)."""
        return self.signatures([doc])[0]

    def to_datasketch(self, signature: np.ndarray) -> LeanMinHash:
        """A ``datasketch.LeanMinHash`` carrying these values, seed and scheme.

        datasketch is imported here, not with the module: it brings scipy, about half a
        second that signing itself (which only reproduces its permutations) never needs.
        """
        from datasketch import LeanMinHash

        sig = np.asarray(signature, dtype=np.uint64)
        if len(sig) != self.num_perm:
            raise ValueError(f"expected {self.num_perm} values, got {len(sig)}")
        return LeanMinHash(seed=self.seed, hashvalues=sig, scheme=self.scheme)

    @staticmethod
    def jaccard(a: np.ndarray, b: np.ndarray) -> float:
        """Jaccard estimate: the fraction of equal slots, exactly as datasketch computes it."""
        if len(a) != len(b):
            raise ValueError("signatures differ in num_perm")
        return float(np.count_nonzero(np.asarray(a) == np.asarray(b))) / float(len(a))


def signature_to_bytes(sig: np.ndarray) -> bytes:
    """Little-endian uint32 per value: 4 * num_perm bytes, half of datasketch's uint64."""
    sig = np.asarray(sig)
    if sig.size and int(sig.max()) > MAX_HASH:
        raise ValueError("signature values exceed 32 bits")
    return sig.astype("<u4").tobytes()


def signature_from_bytes(data: bytes) -> np.ndarray:
    """Inverse of :func:`signature_to_bytes`, as a uint64 array."""
    if len(data) % 4:
        raise ValueError("signature byte length must be a multiple of 4")
    return np.frombuffer(data, dtype="<u4").astype(np.uint64)
