"""Dedup accuracy on the fixture web: pairwise P/R/F1 over the thresholds (issue 6).

Each seed's fixture web is crawled once into its own store; every setting is then applied
with ``dedup --rebuild`` on that same crawl, so settings are compared on identical input.
Pair counts are summed over the seeds before precision and recall are computed, so a
seed with more copies weighs more, as it would in a real corpus.

    python benchmarks/bench_accuracy.py [--seeds 10] [--write]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from _results import write_section

from crawler._config import load_config
from crawler._pipeline import run_crawl
from crawler._urls import canonicalize_url
from crawler.cli._demo import write_fixture_config
from crawler.fixtures import FixtureServer, build_web
from store import DedupConfig, Thresholds, dedup_store, open_store, pairwise_scores


def crawl_seed(seed: int, workdir: Path) -> tuple[Path, dict[str, str]]:
    out = workdir / f"seed-{seed}"
    out.mkdir()
    with FixtureServer(build_web(seed)) as server:
        cfg = load_config(write_fixture_config(server, out))
        with open_store(cfg.store) as st:
            run_crawl(cfg, st)
        truth = {canonicalize_url(u): s for u, s in server.ground_truth().items()}
    return Path(cfg.store), truth


def score(stores: list[tuple[Path, dict[str, str]]], cfg: DedupConfig) -> tuple[float, ...]:
    both = pred = true = 0
    for path, truth in stores:
        with open_store(path) as st:
            dedup_store(st, cfg, rebuild=True)
            ids = st.article_ids()
            of = st.clusters_of(ids)
            predicted = {a.url: of[a.id] for a in st.articles(ids)}
        s = pairwise_scores(predicted, truth)
        true += s.true_pairs
        pred += s.predicted_pairs
        both += round(s.precision * s.predicted_pairs)
    p, r = both / pred, both / true
    return p, r, 2 * p * r / (p + r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    logging.getLogger("newsdedup").setLevel(logging.ERROR)
    default = DedupConfig()
    with tempfile.TemporaryDirectory() as tmp:
        stores = [crawl_seed(seed, Path(tmp)) for seed in range(1, args.seeds + 1)]
        pages = sum(len(t) for _, t in stores)
        rows = []

        def run(label: str, cfg: DedupConfig) -> None:
            p, r, f = score(stores, cfg)
            rows.append(f"| {label} | {p:.4f} | {r:.4f} | {f:.4f} |")
            print(rows[-1], flush=True)

        run("**defaults** (LSH 0.3, Jaccard 0.5, containment 0.7)", default)
        for lsh in (0.2, 0.25, 0.4, 0.5):
            run(f"LSH threshold {lsh}", replace(default, lsh_threshold=lsh))
        for c in (0.5, 0.6, 0.8, 0.9, 0.99):
            run(f"containment {c}", replace(default, thresholds=Thresholds(0.5, c, 20)))
        for j in (0.3, 0.4, 0.6, 0.8):
            run(f"Jaccard {j}", replace(default, thresholds=Thresholds(j, 0.7, 20)))
        off = Thresholds(0.5, 1.01, 20)
        run("Jaccard only (containment off)", replace(default, thresholds=off))
    table = "\n".join([
        f"Fixture web, seeds 1–{args.seeds} ({pages} article pages, 3 hard-negative pairs per "
        f"seed), crawled once, each setting applied with `dedup --rebuild`. Pairwise scores "
        f"with pair counts summed over seeds. {datetime.now(UTC):%Y-%m-%d}.",
        "",
        "Precision stays at 1.0 at every setting because the fixture's hard negatives share "
        "names, figures and two quotes but under 2% of their 5-gram shingles: they test that "
        "shared quotes alone never merge stories, not where the precision cliff lies. Recall "
        "is what the thresholds trade: containment is what keeps trimmed copies, and an LSH "
        "threshold above 0.3 starts missing them.",
        "",
        "| setting (others at default) | precision | recall | F1 |",
        "|---|---:|---:|---:|",
        *rows,
    ])
    print(table)
    if args.write:
        write_section("Dedup accuracy on the fixture web (issue 6)", table)


if __name__ == "__main__":
    main()
