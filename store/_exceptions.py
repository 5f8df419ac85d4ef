"""Errors raised by the article store.

The hierarchy, so that callers catch exactly as broadly as they mean to::

    StoreError                 – anything the store cannot do; CLI exit code 3
    ├── StoreLocked            – another process holds the store (lock or busy database)
    ├── StoreCorrupt           – the file is not a store, or fails an integrity check
    ├── SchemaTooNew           – written by a newer newsdedup; refuse rather than guess
    ├── StoreReadOnly          – the store cannot be written (permissions, read-only media)
    └── StoreFull              – the disk or a size limit ran out mid-write

Every message names the store location, because a cron user reads it in a mail from cron,
far from the command line that opened the store.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store could not do what was asked."""


class StoreLocked(StoreError):
    """Another process holds the store."""


class StoreCorrupt(StoreError):
    """The store is damaged or is not a newsdedup store at all."""


class SchemaTooNew(StoreError):
    """The store was written by a newer version of newsdedup."""


class StoreReadOnly(StoreError):
    """The store cannot be written."""


class StoreFull(StoreError):
    """No space left to write the store."""
