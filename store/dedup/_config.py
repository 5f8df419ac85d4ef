"""What a dedup run is configured with, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._lsh import LSHParams, optimal_params
from ._verify import Thresholds


@dataclass(frozen=True)
class DedupConfig:
    """Signature and clustering parameters; the defaults are what the evaluation chose."""

    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 5
    lsh_threshold: float = 0.3
    minhash_scheme: str = "affine32"  # datasketch >= 2.0's default permutation scheme
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def scheme(self) -> str:
        """Recorded with every signature so that a parameter change is caught, not mixed."""
        lsh = self.lsh
        return (f"minhash-v1;{self.minhash_scheme};n={self.shingle_size};perm={self.num_perm};"
                f"seed={self.seed};lsh={lsh.bands}x{lsh.rows}")

    @property
    def lsh(self) -> LSHParams:
        return optimal_params(self.lsh_threshold, self.num_perm)


@dataclass
class DedupResult:
    signed: int = 0
    new_clusters: int = 0
    joined: int = 0
    too_short: int = 0
    merged: int = 0  # clusters found to be one story and folded into the older one
    compactions: int = 0  # LSH write tier folded into the main index
    resigned: int = 0  # updated articles signed again (store.dedup._resign)
    moved: int = 0  # articles whose cluster an update changed (store.dedup._resign)
