"""The near-duplicate engine: boilerplate learning, signatures, candidates, verified clusters.

Layers, each importing only those below it::

    _pass, _corpus             the passes: over a store, run by run; over a whole corpus
    _bulk                      a whole corpus into an empty store, as one pass leaves it
    _batch                     the engine on a whole corpus at once: the reference
    _leaders, _graph           clustering of one component; candidate pairs, components
    _verify                    coverage and Jaccard of content shingles: copy or reuse
    _content, _boilerplate     what of a record is compared; recurring lines learned
    _lines, _lsh, _minhash,    lines and their keys; LSH bands; MinHash signatures;
    _shingles                  shingle hashes
    _config                    DedupConfig and DedupResult

``_clusters`` reads clusters back with figures against each story's probable origin, and
``_eval`` scores a clustering against ground-truth labels. How it works, and what the
settings trade, is in the README ("How clustering works").
"""

from ._boilerplate import BoilerplateRules
from ._bulk import load_store
from ._clusters import load_clusters, probable_origin
from ._config import DedupConfig, DedupResult
from ._content import Content, text_content
from ._corpus import (
    CorpusAssignment,
    CorpusError,
    CorpusIndex,
    CorpusRecord,
    ReadReport,
    RecordReader,
    Spill,
    cluster_corpus,
    corpus_records,
    dedup_texts,
    index_corpus,
    iter_assignments,
    read_corpus,
    read_with,
    records_with,
    source_name,
    write_assignments,
)
from ._eval import PairScores, pairwise_scores
from ._lsh import LSHParams, optimal_params
from ._minhash import MinHasher, signature_from_bytes, signature_to_bytes
from ._pass import dedup_store, stored_content
from ._shingles import shingle_hashes, tokenize
from ._verify import Match, Thresholds, compare, share_carried

__all__ = [
    "BoilerplateRules",
    "Content",
    "CorpusAssignment",
    "CorpusIndex",
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
    "Spill",
    "Thresholds",
    "cluster_corpus",
    "compare",
    "corpus_records",
    "dedup_store",
    "dedup_texts",
    "index_corpus",
    "iter_assignments",
    "load_clusters",
    "load_store",
    "optimal_params",
    "pairwise_scores",
    "probable_origin",
    "read_corpus",
    "read_with",
    "records_with",
    "share_carried",
    "shingle_hashes",
    "signature_from_bytes",
    "signature_to_bytes",
    "source_name",
    "stored_content",
    "text_content",
    "tokenize",
    "write_assignments",
]
