"""What a dedup run is configured with, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._boilerplate import BoilerplateRules
from ._lsh import LSHParams, optimal_params
from ._verify import Thresholds

# Bumped whenever what is signed or which pairs are candidates changes (v2: the content
# less learned boilerplate, with sentence anchors beside the bands; v3: two long records
# must share two anchors), so that a store signed by an older engine is re-signed.
ENGINE = "v3"


@dataclass(frozen=True)
class DedupConfig:
    """Signature and clustering parameters; the defaults are what the evaluation chose
    (benchmarks/bench_clustering.py, on the development half of the variation corpora)."""

    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 5
    lsh_threshold: float = 0.3
    minhash_scheme: str = "affine32"  # datasketch >= 2.0's default permutation scheme
    thresholds: Thresholds = field(default_factory=Thresholds)
    boilerplate: BoilerplateRules = field(default_factory=BoilerplateRules)

    @property
    def scheme(self) -> str:
        """Recorded with every signature so that a parameter change is caught, not mixed."""
        lsh, b = self.lsh, self.boilerplate
        return (
            f"minhash-{ENGINE};{self.minhash_scheme};n={self.shingle_size};"
            f"perm={self.num_perm};seed={self.seed};lsh={lsh.bands}x{lsh.rows};"
            f"bp={b.min_records}/{b.host_share}/{b.corpus_share}/{b.sample}"
        )

    @property
    def lsh(self) -> LSHParams:
        return optimal_params(self.lsh_threshold, self.num_perm)


@dataclass
class DedupResult:
    signed: int = 0  # new articles signed
    resigned: int = 0  # articles signed again: updated by a revisit, or boilerplate changed
    too_short: int = 0  # too little content to cluster
    reclustered: int = 0  # articles whose component was clustered again
    new_clusters: int = 0  # stories (2+ articles) that did not exist before the pass
    joined: int = 0  # new articles that joined a story of 2+ articles
    moved: int = 0  # articles already placed whose story changed
    merged: int = 0  # stories that became part of another
    boilerplate: int = 0  # lines whose boilerplate status changed
    compactions: int = 0  # write tiers folded into the main tables
    tiers_filled: int = 0  # write tiers filled and left for a later fold
    compared: int = 0  # candidate pairs verified on their content (what a pass costs)
