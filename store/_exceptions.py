"""Every error newsdedup reports to its user, in one tree rooted at :class:`NewsdedupError`.

The tree, with the exit code the command line gives each branch (``exit_code``)::

    NewsdedupError                 anything newsdedup reports to its user
    ├── UsageError            2    the user must change the command, config or input
    │   ├── ConfigError            a config or rules file is wrong; names the key
    │   ├── InputError             an input file cannot be used (extract, dedup --input)
    │   │   └── CorpusError        a corpus record is invalid; names the file and line
    │   ├── SelectionError         a report selection (--since, --until) cannot be read
    │   └── MissingDependency      an optional extra is not installed; names the extra
    ├── StoreError            3    the store cannot do what was asked
    │   ├── StoreLocked            another process holds the store (lock or busy database)
    │   ├── StoreCorrupt           the file is not a store, or fails an integrity check
    │   ├── SchemaTooNew           written by a newer newsdedup; refuse rather than guess
    │   ├── StoreReadOnly          the store cannot be written (permissions, read-only media)
    │   └── StoreFull              the disk or a size limit ran out mid-write
    ├── SourceError           1    a source or page could not be read; the rest was kept
    └── AlreadyRunning        0    another run holds the store's run lock: nothing to do

It lives in ``store`` because ``store`` is the package everything else imports; ``crawler``
re-exports it. The command line maps an error to its exit code by type, so a new error
class inherits the right code from its branch, and every message names the file, key,
store or URL concerned, because a cron user reads it in a mail far from the command line.
"""

from __future__ import annotations


class NewsdedupError(Exception):
    """Base class of everything newsdedup reports to its user."""

    exit_code = 1


class UsageError(NewsdedupError):
    """The command, its config or its input must change; nothing was done."""

    exit_code = 2


class ConfigError(UsageError):
    """A config or rules file cannot be used; the message names the key and what it expected."""


class InputError(UsageError):
    """An input file the user named cannot be used."""


class CorpusError(InputError, ValueError):
    """The input corpus cannot be used; the message names the file and line."""


class SelectionError(UsageError, ValueError):
    """A report selection (a time or an age) cannot be read."""


class MissingDependency(UsageError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class StoreError(NewsdedupError):
    """The store could not do what was asked."""

    exit_code = 3


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


class SourceError(NewsdedupError):
    """A source or a page could not be read; what was read before it is kept."""

    exit_code = 1


class AlreadyRunning(NewsdedupError):
    """Another run holds the store's lock; under cron that is normal, so it exits 0."""

    exit_code = 0
