"""Where articles, signatures, clusters and the crawl frontier live.

One interface, :class:`Store`, and a backend per database behind it: SQLite (the embedded
default, one file beside the config) and PostgreSQL (several crawlers, one store). The
dedup engine and the reports talk only to :class:`Store`; which database answers is
decided once, by :func:`open_store`, from the location the user wrote.
"""

from ._base import Store
from ._lock import AlreadyRunning, RunLock
from ._open import is_postgres, lock_path, open_store
from ._sqlite import SQLiteStore

__all__ = [
    "AlreadyRunning",
    "RunLock",
    "SQLiteStore",
    "Store",
    "is_postgres",
    "lock_path",
    "open_store",
]
