"""Scratch folders that a killed process does not leave behind for good.

A corpus load or a ``dedup --input`` spills its bands, anchors and 3-gram sets to a
temporary folder: about 2 GiB per million articles, 20 GiB at ten million. Python removes
it on a normal exit or an exception, but not after ``kill -9``, an OOM kill, a SIGTERM
without a handler or a power cut, and a cron line that is killed night after night fills
the disk with folders nobody knows are free to delete.

Each folder holds a lock file that its process keeps locked (``flock``) while it lives;
the kernel drops the lock when the process dies, however it dies. Whoever opens a new
scratch folder first removes those of its siblings whose lock can be taken: their owner is
gone. A folder still being set up (no lock file yet) or owned by a live process, worker
processes included (they inherit the open lock), is left alone.

An output file is written under a temporary name beside it and renamed into place when
complete, so that a reader never sees half of it; that partial file is locked the same way,
and the next writer of the same output removes one left by a killed run.
"""

from __future__ import annotations

import fcntl
import glob
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger("newsdedup.dedup")

PREFIX = "newsdedup-"  # every scratch folder's name starts with it
_OWNER = ".owner.lock"
PARTIAL = ".newsdedup-partial-"  # in the name of an output still being written
# A scratch folder or partial file younger than this is left alone even when its lock is
# free: its writer may be between creating it and locking it.
_GRACE_S = 60.0


@contextmanager
def scratch_folder(kind: str, parent: str | Path | None = None) -> Iterator[Path]:
    """A new folder ``newsdedup-<kind>-*`` in ``parent`` (the system's temporary folder by
    default), removed on exit; stale ones beside it are removed first."""
    where = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    sweep_stale(where)
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=where))
    fd = os.open(path / _OWNER, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def sweep_stale(parent: Path) -> list[Path]:
    """Remove the scratch folders in ``parent`` whose process is gone; the ones removed."""
    try:
        entries = list(parent.iterdir())
    except OSError:  # mkdtemp, next, says what is wrong with the folder
        return []
    removed = []
    for path in entries:
        if not path.name.startswith(PREFIX) or (size := _stale_size(path)) is None:
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
            log.warning(
                "%s: removed %.1f MiB of scratch files left by a newsdedup process that was killed",
                path,
                size / 2**20,
            )
    return removed


def partial_file(output: Path) -> tuple[int, Path]:
    """A new, locked file beside ``output`` to write it under (an open descriptor and its
    path; closing the descriptor drops the lock). Partial files of ``output`` that a killed
    writer left are removed first."""
    pattern = f".{glob.escape(output.name)}{PARTIAL}*"
    for path in output.parent.glob(pattern):
        with suppress(OSError):
            if _young(path) or not _unowned(path):
                continue
            size = path.stat().st_size
            path.unlink()
            log.warning(
                "%s: removed a partial output of %.1f MiB left by a newsdedup process that "
                "was killed",
                path,
                size / 2**20,
            )
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}{PARTIAL}")
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, Path(name)


def _young(path: Path) -> bool:
    """Changed within the grace period (``_GRACE_S``)."""
    return time.time() - path.stat().st_mtime < _GRACE_S


def _unowned(lock: Path) -> bool:
    """Whether the lock on ``lock`` (a file) can be taken: no live process holds it."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:  # gone, or not ours to open
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:  # its owner lives
        return False
    finally:
        os.close(fd)


def _stale_size(path: Path) -> int | None:
    """The bytes in ``path`` if its owner is gone, else None (owned, or not ours: a folder
    without a lock file, or one still being made)."""
    try:
        if _young(path) or not _unowned(path / _OWNER):
            return None
    except OSError:  # removed meanwhile
        return None
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
