"""The deduplicating article store: persistence, signatures, LSH index, clusters, reports.

The public API is what ``__all__`` names; ``store.backends``, ``store.dedup``,
``store.report`` and ``store.spark`` offer the finer-grained pieces, and every ``_module``
is private and may change between releases. Names are loaded on first use, so that
``import store`` (which the crawler's extraction does for the canonical text form) does not
pay for numpy, datasketch or the report renderers.

Typical use::

    import store
    rows = store.dedup_texts(["first text ...", "a copy of the first text ..."])
    with store.open_store("newsdedup.db") as s:
        store.dedup_store(s)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._exceptions import (
    AlreadyRunning,
    ConfigError,
    CorpusError,
    InputError,
    MissingDependency,
    NewsdedupError,
    SchemaTooNew,
    SelectionError,
    SourceError,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
    UsageError,
)
from ._lazy import lazy_exports
from ._models import ArticleRecord, Cluster, FrontierItem, Member, StoredArticle
from ._text import canonical
from ._time import parse_duration, utcnow
from ._version import __version__

# Loaded on first use: the engine and the renderers are not needed to extract a page.
__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "store.backends": ("RunLock", "SQLiteStore", "Store", "lock_path", "open_store"),
        "store.dedup": (
            "CorpusAssignment",
            "CorpusRecord",
            "DedupConfig",
            "DedupResult",
            "PairScores",
            "Thresholds",
            "cluster_corpus",
            "dedup_store",
            "dedup_texts",
            "load_clusters",
            "pairwise_scores",
            "read_corpus",
            "write_assignments",
        ),
        "store.report": (
            "FILE_FORMATS",
            "FORMATS",
            "Report",
            "Selection",
            "build_report",
            "render",
            "write_report_set",
        ),
    },
)

__all__ = [
    "__version__",
    "AlreadyRunning",
    "ArticleRecord",
    "Cluster",
    "ConfigError",
    "CorpusAssignment",
    "CorpusError",
    "CorpusRecord",
    "DedupConfig",
    "DedupResult",
    "FILE_FORMATS",
    "FORMATS",
    "FrontierItem",
    "InputError",
    "Member",
    "MissingDependency",
    "NewsdedupError",
    "PairScores",
    "Report",
    "RunLock",
    "SQLiteStore",
    "SchemaTooNew",
    "Selection",
    "SelectionError",
    "SourceError",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "StoreLocked",
    "StoreReadOnly",
    "StoredArticle",
    "Thresholds",
    "UsageError",
    "build_report",
    "canonical",
    "cluster_corpus",
    "dedup_store",
    "dedup_texts",
    "load_clusters",
    "lock_path",
    "open_store",
    "pairwise_scores",
    "parse_duration",
    "read_corpus",
    "render",
    "utcnow",
    "write_assignments",
    "write_report_set",
]


if TYPE_CHECKING:
    from .backends import RunLock, SQLiteStore, Store, lock_path, open_store
    from .dedup import (
        CorpusAssignment,
        CorpusRecord,
        DedupConfig,
        DedupResult,
        PairScores,
        Thresholds,
        cluster_corpus,
        dedup_store,
        dedup_texts,
        load_clusters,
        pairwise_scores,
        read_corpus,
        write_assignments,
    )
    from .report import (
        FILE_FORMATS,
        FORMATS,
        Report,
        Selection,
        build_report,
        render,
        write_report_set,
    )
