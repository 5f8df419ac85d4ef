"""The near-duplicate engine: shingles, MinHash signatures, LSH candidates, verified clusters.

Layers, each importing only those below it::

    _pass, _resign, _corpus, _inmemory   the passes: over a store, over updated articles,
                                         over a corpus, over one Spark component
    _core                                placement of one article (shared by every pass)
    _placement, _verify                  the join and merge rules; exact Jaccard/containment
    _lsh, _minhash, _shingles            candidates, signatures, shingle hashes
    _config                              DedupConfig and DedupResult

``_clusters`` reads clusters back with figures against each story's probable origin, and
``_eval`` scores a clustering against ground-truth labels.
"""

from ._clusters import load_clusters, probable_origin
from ._config import DedupConfig, DedupResult
from ._corpus import (
    CorpusAssignment,
    CorpusError,
    CorpusRecord,
    ReadReport,
    RecordReader,
    cluster_corpus,
    dedup_texts,
    read_corpus,
    read_with,
    write_assignments,
)
from ._eval import PairScores, pairwise_scores
from ._lsh import LSHParams, optimal_params
from ._minhash import MinHasher, signature_from_bytes, signature_to_bytes
from ._pass import dedup_store
from ._shingles import shingle_hashes, tokenize
from ._verify import Match, Thresholds, compare, share_carried

__all__ = [
    "CorpusAssignment",
    "CorpusError",
    "CorpusRecord",
    "DedupConfig",
    "DedupResult",
    "LSHParams",
    "Match",
    "MinHasher",
    "PairScores",
    "ReadReport",
    "RecordReader",
    "Thresholds",
    "cluster_corpus",
    "compare",
    "dedup_store",
    "dedup_texts",
    "load_clusters",
    "optimal_params",
    "pairwise_scores",
    "probable_origin",
    "read_corpus",
    "read_with",
    "share_carried",
    "shingle_hashes",
    "signature_from_bytes",
    "signature_to_bytes",
    "tokenize",
    "write_assignments",
]
