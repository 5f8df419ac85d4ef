"""The deduplicating article store: persistence, signatures, LSH index, clusters, reports.

The public API is what this module re-exports; everything in ``store._*`` is private and
may change between releases.
"""

from ._archive import prune_reports, write_report_set
from ._base import Store
from ._clusters import Match, Thresholds, compare
from ._corpus import (
    CorpusAssignment,
    CorpusError,
    CorpusRecord,
    cluster_corpus,
    read_corpus,
    write_assignments,
)
from ._dedup import DedupConfig, DedupResult, dedup
from ._diff import TextDiff, diff_texts
from ._eval import PairScores, pairwise_scores
from ._exceptions import (
    SchemaTooNew,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
)
from ._lock import AlreadyRunning, RunLock
from ._lsh import LSHParams, optimal_params
from ._minhash import MinHasher, signature_from_bytes, signature_to_bytes
from ._models import ArticleRecord, Cluster, FrontierItem, Member, StoredArticle
from ._open import lock_path, open_store
from ._overview import Overview, Report, build_report, make_overview
from ._render import FILE_FORMATS, FORMATS, render
from ._report import (
    MEMBER_COLUMNS,
    REPORT_VERSION,
    load_clusters,
    probable_origin,
    render_csv,
)
from ._select import Selection, SelectionError, parse_when, select_clusters
from ._shingles import shingle_hashes, tokenize
from ._sqlite import SQLiteStore
from ._text import canonical

__all__ = [
    "FILE_FORMATS", "FORMATS", "Overview", "Report", "Selection", "SelectionError", "TextDiff",
    "build_report", "diff_texts", "make_overview", "parse_when", "prune_reports", "render",
    "select_clusters", "write_report_set",
    "MEMBER_COLUMNS", "REPORT_VERSION", "AlreadyRunning", "ArticleRecord", "Cluster",
    "CorpusAssignment", "CorpusError", "CorpusRecord", "cluster_corpus", "read_corpus",
    "write_assignments",
    "DedupConfig", "DedupResult", "FrontierItem", "LSHParams", "Match", "Member", "MinHasher",
    "PairScores", "RunLock", "SQLiteStore", "SchemaTooNew", "Store",
    "StoreCorrupt", "StoreError", "StoreFull", "StoreLocked", "StoreReadOnly", "StoredArticle",
    "Thresholds", "canonical", "compare", "dedup", "load_clusters", "lock_path", "open_store",
    "optimal_params", "pairwise_scores", "probable_origin", "render_csv", "shingle_hashes",
    "signature_from_bytes", "signature_to_bytes",
    "tokenize",
]
