"""``newsdedup demo``: the whole pipeline against the bundled fixture news web on loopback.

It runs exactly what a cron user runs — a TOML config, ``run`` into a SQLite store — and
then scores the clusters against the fixture's ground truth, so the first command a new
user types also shows how well the dedup works.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler._urls import canonicalize_url

if TYPE_CHECKING:  # the demo's machinery is imported when it runs, not to build --help
    from crawler.fixtures import FixtureServer
    from store import PairScores, Store


# The demo's fixture web dies with it; a config left in --dir must say so, or its dead
# ports read as a crawler that finds nothing.
DEMO_CONFIG_HEADER = (
    "Written by `newsdedup demo` for the fixture web it served on 127.0.0.1 while it ran.",
    "Those ports closed when the demo ended: crawling with this file now finds nothing.",
    "To crawl the fixture web again, serve it (until Ctrl-C) and let it write a config",
    "for the ports it serves on this time, e.g. in another terminal:",
    "    python -m crawler.fixtures --seed 7 --config fixture.toml --store fixture.db",
    "then: newsdedup run --config fixture.toml",
)


def score_store(store: Store, truth: dict[str, str]) -> tuple[PairScores, int]:
    """Pairwise scores of the store's clusters against {url: story id}, and how many of
    the truth's pages the store holds (the scores are over those)."""
    from store.dedup import pairwise_scores

    ids = store.article_ids()
    clusters_of = store.clusters_of(ids)
    predicted = {a.url: clusters_of.get(a.id, -a.id) for a in store.articles(ids)}
    labels = {canonicalize_url(u): s for u, s in truth.items()}
    return pairwise_scores(predicted, labels), len(labels.keys() & predicted.keys())


def write_fixture_config(server: FixtureServer, out_dir: Path, store_name: str = "demo.db") -> Path:
    """A config for crawling the served fixture web into ``out_dir/store_name``."""
    path = out_dir / "newsdedup.toml"
    path.write_text(server.crawl_config(store_name, header=DEMO_CONFIG_HEADER), encoding="utf-8")
    return path


def demo(
    out_dir: Path | None = None, *, as_json: bool = False, seed: int = 7, fmt: str = "text"
) -> int:
    from crawler._config import load_config
    from crawler._pipeline import crawl_lines, run_all
    from crawler.fixtures import FixtureServer, build_web
    from store import load_clusters, open_store

    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="newsdedup-demo-")
        out_dir = Path(tmp.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / "demo.db"
    for stale in (store_path, *(Path(f"{store_path}{s}") for s in ("-wal", "-shm", "-keys"))):
        stale.unlink(missing_ok=True)  # fixture ports change per run: start clean
    try:
        web = build_web(seed)
        with FixtureServer(web) as server:
            config_path = write_fixture_config(server, out_dir, store_path.name)
            server.write_ground_truth(out_dir / "ground-truth.json")
            truth = {canonicalize_url(u): s for u, s in server.ground_truth().items()}
            cfg = load_config(config_path)
            with open_store(cfg.store) as store:
                outcome = run_all(cfg, store, fmt=fmt)
                scores, _ = score_store(store, truth)
                stored = set(a.url for a in store.articles(store.article_ids()))
                n_clusters = len(load_clusters(store, min_size=2))
        summary = {
            "articles": len(stored),
            "clusters": n_clusters,
            "precision": round(scores.precision, 4),
            "recall": round(scores.recall, 4),
            "f1": round(scores.f1, 4),
            "ari": round(scores.ari, 4),
            "ground_truth_pages": len(truth),
            "pages_scored": len(stored & set(truth)),
            "failed": outcome.crawl.failed,
            "store": None if tmp else str(store_path),
        }
        if as_json:
            print(json.dumps(summary))
            return 0
        sys.stdout.write(outcome.report)
        print()
        print("\n".join(crawl_lines(outcome.crawl)))
        print(
            f"Against the fixture ground truth ({summary['pages_scored']} of "
            f"{len(truth)} pages stored): pairwise precision {scores.precision:.3f}, "
            f"recall {scores.recall:.3f}, F1 {scores.f1:.3f}, ARI {scores.ari:.3f}"
        )
        if not tmp:
            print(f"Store: {store_path}   config: {config_path} (its fixture web has stopped)")
            print(
                f"Score it again: newsdedup eval --input {out_dir / 'ground-truth.json'} "
                f"--store {store_path}"
            )
        return 0
    finally:
        if tmp:
            tmp.cleanup()


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.verbose:  # the demo's own summary says what the per-source logs would
        logging.getLogger("newsdedup").setLevel(logging.WARNING)
    return demo(
        Path(args.dir) if args.dir else None, as_json=args.json, seed=args.seed, fmt=args.format
    )


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sp = sub.add_parser(
        "demo",
        parents=[common],
        help="crawl the bundled fixture news web on loopback, dedup, report",
    )
    sp.add_argument(
        "--dir",
        metavar="DIR",
        help="keep the store, config and ground truth in DIR (default: a "
        "temporary folder, removed afterwards)",
    )
    sp.add_argument("--seed", type=int, default=7, help="fixture web seed (default 7)")
    sp.add_argument(
        "--format",
        choices=("text", "json", "csv"),
        default="text",
        help="report format printed after the crawl (default text)",
    )
    sp.add_argument(
        "--json",
        action="store_true",
        help="print only a JSON summary: articles, clusters, precision, recall, f1, ari",
    )
    sp.set_defaults(func=cmd_demo)
