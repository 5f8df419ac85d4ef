"""Which keys a main table may hold: a split-block Bloom filter per index, in a file
beside the store.

A cron run looks up every LSH band, anchor and line key of its new articles in the
main tables, and most of them are held by no stored article (at 10k articles, 83 % of
the bands and 82 % of the anchors of a batch of 1,000 found none). In a store much
larger than the page cache each of those lookups is a random read of a leaf, about
55,000 a run at 10M articles. A filter answers "not held" from one 32-byte block for
all but about 1 % of those keys, and is never wrong the other way: a key it rules out
is in no main table. At 10M it halved a run's reads (503 to 262 MiB) but not its CPU,
where the page cache served those reads (benchmarks/RESULTS.md).

The main tables change only in a fold of the write tiers (and, in a store too small to
have tiers, in every run, where no filter is kept), so the filter is written at the end
of a fold, from the one before it and the rows the fold moved. It stands for the main
tables as they were at one moment, named by a token that every write to them replaces
in the same transaction (``Store._main_written``): a filter whose token is not the
store's is ignored, so a killed fold, a store restored from a backup or a file copied
without its filter costs lookups, never a missed match. Rows deleted from a main table
stay in its filter, which only costs a lookup.

The filter is the layout Parquet and Impala use (a block of eight 32-bit words, one bit
set in each by a salted multiply of the key's hash): one block per key, and the
probes vectorize in numpy.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from store._jit import jit

MAGIC = b"newsdedup key filter 1\n"
_ALIGN = 4096
# Blocks a filter is copied by when a fold extends it (16 MiB).
_SLICE_BLOCKS = 1 << 19
# Bits per key when a filter is sized, and the fewest it may fall to as a store grows
# before it is built again, larger: about 1 % of absent keys pass at 10, 5 % at 7.
BITS_PER_KEY = 10
REBUILD_BELOW = 7
_SALTS = np.array(
    [
        0x47B6137B,
        0x44974D91,
        0x8824AD5B,
        0xA2B7289D,
        0x705495C7,
        0x2DF1424B,
        0x9EFC4947,
        0x5C6BFB31,
    ],
    dtype=np.uint32,
)


def key_hashes(
    keys: Sequence[int] | np.ndarray, prefixes: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """64-bit hashes of 64-bit keys (an LSH bucket under its band: ``prefixes``), mixed
    with splitmix64's finalizer: buckets and anchors are hashes already, but a band's
    buckets are not independent of its number. A prefix is XORed in above bit 56, as
    SQL can do it too (``PREFIXED_SQL``): a scan then hands over one integer a row."""
    z = np.asarray(keys, dtype=np.int64).view(np.uint64).copy()
    if prefixes is not None:
        z ^= np.asarray(prefixes, dtype=np.uint64) << np.uint64(56)
    z += np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def prefixed_sql(key: str, prefix: str) -> str:
    """SQL for ``key`` with ``prefix`` XORed in above bit 56, as ``key_hashes`` does:
    SQLite has no XOR, and ``(a | b) & ~(a & b)`` is one."""
    return f"(({key}) | (({prefix}) << 56)) & ~(({key}) & (({prefix}) << 56))"


def _blocks_and_masks(hashes: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Each hash's block (its high 32 bits scaled to the filter) and its eight words' bits."""
    block = ((hashes >> np.uint64(32)) * np.uint64(blocks)) >> np.uint64(32)
    low = hashes.astype(np.uint32)
    bits = (low[:, None] * _SALTS[None, :]) >> np.uint32(27)
    return block.astype(np.int64), np.left_shift(np.uint32(1), bits)


def blocks_for(keys: int) -> int:
    """Blocks of a filter sized for ``keys`` keys (at least one)."""
    return max(1, -(-keys * BITS_PER_KEY // 256))


def add(table: np.ndarray, hashes: np.ndarray, blocks: int = 0, first: int = 0) -> None:
    """Set these hashes' bits in ``table`` (blocks x 8 words), in place; or, where
    ``table`` holds the blocks of a filter of ``blocks`` from block ``first`` on, in
    that slice (the hashes must fall in it)."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    _add(table, hashes, _SALTS, np.uint64(blocks or len(table)), np.uint64(first))


def first_hash(block: int, blocks: int) -> int:
    """The least hash that falls in ``block`` (under ``blocks``) or later of a filter of
    ``blocks``, for cutting a sorted run of hashes at a slice's edges."""
    return -(-(block << 32) // blocks) << 32


@jit
def _add(
    table: np.ndarray, hashes: np.ndarray, salts: np.ndarray, blocks: np.uint64, first: np.uint64
) -> None:
    """``_blocks_and_masks`` and an OR per word, compiled: numpy's scatter (``ufunc.at``)
    cost 360 ns a key, about 3 minutes for the 550M keys of a 10M-article store."""
    held = np.uint64(len(table))
    for i in range(len(hashes)):
        h = hashes[i]
        block = (((h >> np.uint64(32)) * blocks) >> np.uint64(32)) - first
        if block >= held:  # unchecked, a write past the table (first < block wraps too)
            raise IndexError("a hash outside the blocks given")
        low = np.uint32(h & np.uint64(0xFFFFFFFF))
        for w in range(8):
            bit = np.uint32(low * salts[w]) >> np.uint32(27)
            table[block, w] |= np.uint32(1) << bit


def may_hold(table: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """For each hash, whether its key may be in the filter (False: it is not)."""
    if not len(hashes):
        return np.zeros(0, dtype=bool)
    block, masks = _blocks_and_masks(hashes, len(table))
    return ((table[block] & masks) == masks).all(axis=1)


class _File:
    """A filter file held open from its header's reading on: a fold may rename a new
    one over the path, and the blocks read must be those of the header's token."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        if hasattr(self, "fd"):  # not where the open failed
            os.close(self.fd)


@dataclass(frozen=True)
class Stored:
    """Where a section lies in its file: what a probe reads its blocks from and a fold
    extends it from."""

    path: Path
    offset: int
    blocks: int
    keys: int
    file: _File

    def may_hold(self, hashes: np.ndarray) -> np.ndarray:
        """``may_hold`` reading only the blocks these hashes fall in, one ``pread`` each
        (about 2 us): through a mapping, the kernel maps the pages around each one read
        (fault-around), and a run's 37,000 probes of a 460 MB filter took it all into the
        process's memory (a 10M cron run's peak RSS went from 330 MiB to 1,060 MiB)."""
        if not len(hashes):
            return np.zeros(0, dtype=bool)
        block, masks = _blocks_and_masks(hashes, self.blocks)
        wanted, where = np.unique(block, return_inverse=True)
        pread, fd, base = os.pread, self.file.fd, self.offset
        raw = b"".join([pread(fd, 32, base + 32 * b) for b in wanted.tolist()])
        if len(raw) != 32 * len(wanted):
            raise OSError(f"{self.path}: shorter than its header says")
        table = np.frombuffer(raw, dtype=np.uint32).reshape(-1, 8)
        return ((table[where] & masks) == masks).all(axis=1)

    def read_blocks(self, start: int, count: int) -> np.ndarray:
        """Blocks ``start`` to ``start + count``, writable, read from the file held open."""
        table = np.empty((count, 8), dtype=np.uint32)
        if os.preadv(self.file.fd, [table], self.offset + 32 * start) != table.nbytes:
            raise OSError(f"{self.path}: shorter than its header says")
        return table


def too_full(keys: int, blocks: int) -> bool:
    """Too many keys for the size: build the filter again, larger, rather than add more."""
    return keys * REBUILD_BELOW > blocks * 256


@dataclass
class Section:
    """One index's filter: its blocks, and how many keys were added to it."""

    table: np.ndarray  # uint32, blocks x 8
    keys: int
    stored: Stored | None = None  # where it was mapped from

    def may_hold(self, keys: Sequence[int], prefixes: Sequence[int] | None = None) -> np.ndarray:
        hashes = key_hashes(keys, prefixes)
        if self.stored is not None:
            return self.stored.may_hold(hashes)
        return may_hold(self.table, hashes)


@dataclass
class KeyFilters:
    """The filters of a store's main tables, by table name, standing for them as they
    were when the store's token was ``token``."""

    token: int
    sections: dict[str, Section]


def read(path: Path) -> KeyFilters | None:
    """The filters in ``path``, held open (probes read their blocks, ``Stored.may_hold``);
    None where there is no whole file."""
    try:
        file = _File(path)
        size = os.fstat(file.fd).st_size
        start = os.pread(file.fd, len(MAGIC) + 8, 0)
        if start[: len(MAGIC)] != MAGIC:
            return None
        (length,) = struct.unpack("<Q", start[len(MAGIC) :])
        head = json.loads(os.pread(file.fd, length, len(MAGIC) + 8))
        sections: dict[str, Section] = {}
        for name, s in head["sections"].items():
            offset, blocks, keys = int(s["offset"]), int(s["blocks"]), int(s["keys"])
            if offset + blocks * 32 > size:
                return None
            with os.fdopen(os.dup(file.fd), "rb") as f:  # mapped, for a whole scan (check)
                table = np.memmap(f, dtype=np.uint32, mode="r", offset=offset, shape=(blocks, 8))
            sections[str(name)] = Section(table, keys, Stored(path, offset, blocks, keys, file))
        return KeyFilters(int(head["token"]), sections)
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


def standing(known: KeyFilters | None, path: Path, token: int) -> KeyFilters | None:
    """The filters in ``path`` where they stand for ``token`` (0: no filter can), taken
    from ``known`` where those already read do."""
    if not token:
        return None
    if known is not None and known.token == token:
        return known
    found = read(path)
    return found if found is not None and found.token == token else None


class Writer:
    """A filter file written a section at a time (one index's table in memory at once),
    whole or not at all: into a file beside ``path``, flushed to disk, then renamed over
    it; a torn filter could rule out a key the store holds."""

    def __init__(self, path: Path, token: int) -> None:
        self.path, self.token = path, token
        self.temporary = path.with_name(path.name + ".tmp")
        self.layout: dict[str, dict[str, int]] = {}
        self.file = self.temporary.open("wb")
        self.offset = _ALIGN  # the header's page

    def add(self, name: str, section: Section) -> None:
        self.file.seek(self.offset)
        np.ascontiguousarray(section.table, dtype=np.uint32).tofile(self.file)
        self._placed(name, len(section.table), section.keys)

    def _placed(self, name: str, blocks: int, keys: int) -> None:
        """Section ``name`` written at the offset: in the header, and the next page on."""
        self.layout[name] = {"offset": self.offset, "blocks": blocks, "keys": keys}
        self.offset += -(-blocks * 32 // _ALIGN) * _ALIGN

    def extend(self, name: str, stored: Stored, chunks: list[np.ndarray]) -> int:
        """``add`` the section ``stored`` with the hashes of ``chunks`` added (emptied as
        they are taken), copied a slice of blocks at a time (its file stays as it is);
        returns its key count. Loaded whole beside a fold's moved keys, the LSH bands'
        section took a fold at 10M articles to 855 MiB."""
        hashes = np.concatenate([np.zeros(0, dtype=np.uint64), *chunks])
        chunks.clear()
        hashes.sort()  # by block: a block is its hash's high half, scaled
        blocks, keys = stored.blocks, stored.keys + len(hashes)
        self.file.seek(self.offset)
        low = 0
        for start in range(0, blocks, _SLICE_BLOCKS):
            stop = min(start + _SLICE_BLOCKS, blocks)
            table = stored.read_blocks(start, stop - start)
            high = (
                len(hashes)
                if stop == blocks
                else int(np.searchsorted(hashes, np.uint64(first_hash(stop, blocks))))
            )
            add(table, hashes[low:high], blocks, start)
            table.tofile(self.file)
            low = high
        self._placed(name, blocks, keys)
        return keys

    def commit(self) -> None:
        head = json.dumps({"token": self.token, "sections": self.layout}).encode()
        if len(MAGIC) + 8 + len(head) > _ALIGN:
            raise ValueError("too many sections for a key filter's header")
        with self.file as f:
            f.seek(0)
            f.write(MAGIC + struct.pack("<Q", len(head)) + head)
            f.flush()
            os.fsync(f.fileno())
        os.replace(self.temporary, self.path)

    def abandon(self) -> None:
        self.file.close()
        self.temporary.unlink(missing_ok=True)


def build(keys: int, chunks: Iterable[np.ndarray]) -> Section:
    """A filter sized for ``keys`` keys, from their hashes, a chunk at a time."""
    table = np.zeros((blocks_for(keys), 8), dtype=np.uint32)
    added = 0
    for hashes in chunks:
        add(table, hashes)
        added += len(hashes)
    return Section(table, added)
