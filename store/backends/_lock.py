"""The run lock that keeps two cron runs from working on one store at once.

An advisory ``flock`` on a file beside the store: the kernel drops it when the process
dies, however it dies, so a ``kill -9`` never leaves a stale lock that blocks every later
run (the classic failure of PID files).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from store._exceptions import AlreadyRunning, StoreError, StoreReadOnly


class RunLock:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only folder: a store error (exit 3), not a traceback
            kind = (
                StoreReadOnly
                if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
                else StoreError
            )
            raise kind(
                f"{self.path}: cannot create the run lock beside the store ({exc.strerror or exc})"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(f"already running (pid {holder} holds {self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
