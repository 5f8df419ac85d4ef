"""Clustering on republisher variations of real article bodies, against a naive LSH baseline.

The corpora come from ``clustering_corpus`` (real bodies of both shared benchmarks, expanded
by ``crawler.fixtures.variations``; dev and test halves of the base texts, different seeds).
Our engine runs through the CLI, ``newsdedup dedup --input X --output Y`` in a subprocess,
so this benchmark measures whatever the installed engine is, wherever its modules live. The
peer is what anybody would write first: datasketch ``MinHashLSH`` over word 5-gram shingles
of the lowercased text, every LSH candidate pair linked, clusters by union-find (connected
components); its threshold is chosen on dev and reported on test (its best-on-test figure is
given too, as the most it could have scored).

Scores are pairwise (``_pairs``), pair counts summed over the seeds of a half. Per kind, the
pairs are those that involve a record of that kind; hard-negative kinds have no true
pairs, so their column that matters is *false links*: predicted pairs with a record of
that kind that the ground truth does not have. The spread is F1 over random arrival orders of
the same records (the corpus's own order and ``--orders`` more). For our misses, Jaccard and
containment of the pair (``store.compare`` on ``store.shingle_hashes``) are given on the text
as fed and on the bodies without the outlets' chrome, which says whether chrome or the
story's own changes split them.

    python benchmarks/bench_clustering.py --shared ../shared [--records 200] [--orders 6] \
        [--config FILE] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from _pairs import PairCounts, involving, label_pairs, pair_counts
from _results import write_section
from clustering_corpus import DEFAULT_SHARED, DEV_SEEDS, TEST_SEEDS, corpora
from datasketch import MinHash, MinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from crawler.fixtures import build_web
from crawler.fixtures.variations import (
    COPY_KINDS,
    NEGATIVE_KINDS,
    VariantRecord,
    arrival_order,
)
from store.dedup import Thresholds, compare, pairwise_scores, shingle_hashes

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))
CHROME = ("header", "byline", "footer")
SECTION = "Clustering on republisher variations"


# ---------------------------------------------------------------------------- systems


def run_ours(
    lines: Sequence[Mapping[str, object]], exe: str, workdir: Path, config: str | None = None
) -> dict[str, str]:
    """Our engine's partition of ``lines`` fed in this order: id -> cluster."""
    src, out = workdir / "input.jsonl", workdir / "output.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    cmd = [exe, "dedup", "--input", str(src), "--output", str(out)]
    if config:
        cmd += ["--config", config]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    with out.open(encoding="utf-8") as fh:
        return {row["id"]: row["cluster"] for row in map(json.loads, fh)}


def word_shingles(text: str, n: int = 5) -> set[bytes]:
    words = text.lower().split()
    if len(words) <= n:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}


def minhashes(texts: Iterable[str], num_perm: int = 128) -> list[MinHash]:
    out = []
    for text in texts:
        mh = MinHash(num_perm=num_perm, seed=1)
        mh.update_batch(list(word_shingles(text)))
        out.append(mh)
    return out


def naive_lsh(ids: Sequence[str], sigs: Sequence[MinHash], threshold: float) -> dict[str, int]:
    """Every LSH candidate pair linked, no verification; clusters are connected components."""
    lsh = MinHashLSH(threshold=threshold, num_perm=len(sigs[0].hashvalues))
    for i, mh in enumerate(sigs):
        lsh.insert(i, mh)
    rows, cols = [], []
    for i, mh in enumerate(sigs):
        for j in lsh.query(mh):
            rows.append(i)
            cols.append(j)
    n = len(ids)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return {rid: int(label) for rid, label in zip(ids, labels, strict=True)}


# ---------------------------------------------------------------------------- scoring


@dataclass
class Corpus:
    name: str
    half: str
    seed: int
    lines: list[dict[str, object]]  # in the corpus's own arrival order
    kinds: dict[str, str]
    ops: dict[str, tuple[str, ...]]
    bodies: dict[str, str] = field(default_factory=dict)

    @property
    def truth(self) -> dict[str, str]:
        return {str(line["id"]): str(line["cluster"]) for line in self.lines}

    @property
    def texts(self) -> dict[str, str]:
        return {str(line["id"]): str(line["text"]) for line in self.lines}


def from_variations(half: str, seed: int, records: Sequence[VariantRecord]) -> Corpus:
    return Corpus(
        f"{half}-{seed}",
        half,
        seed,
        [r.as_json() for r in records],
        {r.id: r.kind for r in records},
        {r.id: r.ops for r in records},
        {r.id: r.body for r in records},
    )


def fixture_web_corpus(seed: int) -> Corpus:
    """The fixture web's pages as a perfect extractor gives them (``expected_body``)."""
    web = build_web(seed)
    lines: list[dict[str, object]] = []
    for n, page in enumerate(web.pages):
        lines.append(
            {
                "id": f"fw{seed}-{n}",
                "text": "\n\n".join(web.expected_body(page)),
                "published": page.published.isoformat(),
                "title": page.title,
                "cluster": page.story_id,
            }
        )
    kinds = {str(line["id"]): "page" for line in lines}
    return Corpus(f"fixture-{seed}", "fixture", seed, lines, kinds, {k: () for k in kinds})


def text_ops(ops: Sequence[str]) -> list[str]:
    return [op for op in ops if op not in CHROME]


def groups(corpus: Corpus) -> dict[str, set[str]]:
    """Record ids per reporting row: each kind, and records combining 2+ text changes."""
    out: dict[str, set[str]] = {}
    for rid, kind in corpus.kinds.items():
        out.setdefault(kind, set()).add(rid)
        if len(text_ops(corpus.ops[rid])) >= 2:
            out.setdefault("combined (2+ changes)", set()).add(rid)
    return out


@dataclass
class Score:
    overall: PairCounts = field(default_factory=PairCounts)
    by_group: dict[str, PairCounts] = field(default_factory=dict)
    ari: list[float] = field(default_factory=list)

    def add(self, corpus: Corpus, predicted: Mapping[str, object]) -> None:
        truth = corpus.truth
        tp, pp = label_pairs(truth), label_pairs(predicted)
        counts = pair_counts(pp, tp)
        check = pairwise_scores(predicted, truth)  # the store's scorer must agree
        assert (check.true_pairs, check.predicted_pairs) == (counts.true, counts.predicted)
        self.overall += counts
        self.ari.append(check.ari)
        for name, ids in groups(corpus).items():
            self.by_group[name] = self.by_group.get(name, PairCounts()) + pair_counts(
                pp, tp, involving(ids)
            )


def score_all(runs: Iterable[tuple[Corpus, Mapping[str, object]]]) -> Score:
    s = Score()
    for corpus, predicted in runs:
        s.add(corpus, predicted)
    return s


@dataclass
class Miss:
    """A pair one partition got wrong, with its similarity as our engine measures it."""

    pair: tuple[str, str]
    kinds: tuple[str, str]
    text: tuple[float, float]  # Jaccard, containment on the text as fed
    body: tuple[float, float]  # the same without the outlets' chrome


def wrong_pairs(corpus: Corpus, pairs: Iterable[tuple[str, str]]) -> list[Miss]:
    texts = corpus.texts
    out = []
    for a, b in sorted(pairs):
        mt = compare(shingle_hashes(texts[a]), shingle_hashes(texts[b]))
        mb = compare(
            shingle_hashes(corpus.bodies.get(a, texts[a])),
            shingle_hashes(corpus.bodies.get(b, texts[b])),
        )
        out.append(
            Miss(
                (a, b),
                (corpus.kinds[a], corpus.kinds[b]),
                (mt.jaccard, mt.containment),
                (mb.jaccard, mb.containment),
            )
        )
    return out


def misses(corpus: Corpus, predicted: Mapping[str, object]) -> list[Miss]:
    """Every true pair the prediction split."""
    return wrong_pairs(corpus, label_pairs(corpus.truth) - label_pairs(predicted))


def false_links(corpus: Corpus, predicted: Mapping[str, object]) -> list[Miss]:
    """Every predicted pair the ground truth does not have."""
    return wrong_pairs(corpus, label_pairs(predicted) - label_pairs(corpus.truth))


def distances(corpora_: Iterable[Corpus]) -> dict[str, list[tuple[float, ...]]]:
    """Per kind: (J, C on the text; J, C on the body) of each record with the original it
    derives from: its source for copies with one text change, every reused story for hard
    negatives. This is what the verification has to accept (copies) or refuse (the rest)."""
    out: dict[str, list[tuple[float, ...]]] = {}
    for c in corpora_:
        origin = {
            str(line["cluster"]): str(line["id"]) for line in c.lines if line["kind"] == "original"
        }
        texts = c.texts
        for line in c.lines:
            rid, kind = str(line["id"]), str(line["kind"])
            if kind == "original":
                continue
            if kind in NEGATIVE_KINDS:
                others = [origin[label] for label, _ in line["reuses"] if label in origin]
            elif len(text_ops(c.ops[rid])) == 1:
                others = [origin[str(line["cluster"])]]
            else:
                continue
            for o in others:
                mt = compare(shingle_hashes(texts[rid]), shingle_hashes(texts[o]))
                mb = compare(shingle_hashes(c.bodies[rid]), shingle_hashes(c.bodies[o]))
                out.setdefault(kind, []).append(
                    (mt.jaccard, mt.containment, mb.jaccard, mb.containment)
                )
    return out


def spread_cell(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}–{max(values):.2f}]"


def distance_rows(dist: Mapping[str, list[tuple[float, ...]]]) -> list[str]:
    rows = []
    for kind in (*COPY_KINDS, *NEGATIVE_KINDS):
        v = dist.get(kind)
        if v:
            cells = " | ".join(spread_cell([x[i] for x in v]) for i in range(4))
            rows.append(f"| {kind} | {len(v)} | {cells} |")
    return rows


def causes(missed: Iterable[Miss], t: Thresholds) -> dict[str, list[int]]:
    """Missed pairs per row (a copy kind, paired with its original; or copy-copy), counted
    as: all, would verify on the text as fed, only on the bodies without chrome, on neither.

    A pair that verifies as fed was lost in placement (the representative it met, the
    order); one that verifies only without chrome was split by the outlets' boilerplate;
    one that verifies on neither needs a more edit-tolerant measure, or has to be joined
    through the rest of its cluster (copy-copy pairs that share little, e.g. two trims).
    """
    out: dict[str, list[int]] = {}
    for m in missed:
        if "original" in m.kinds:
            row = m.kinds[1] if m.kinds[0] == "original" else m.kinds[0]
        else:
            row = "copy–copy"
        as_fed = m.text[0] >= t.jaccard or m.text[1] >= t.containment
        bare = m.body[0] >= t.jaccard or m.body[1] >= t.containment
        counts = out.setdefault(row, [0, 0, 0, 0])
        counts[0] += 1
        counts[1 if as_fed else 2 if bare else 3] += 1
    return out


def cause_rows(counts: Mapping[str, list[int]]) -> list[str]:
    rows = []
    for row in (*COPY_KINDS, "copy–copy"):
        c = counts.get(row)
        if c:
            rows.append(f"| {row} | {c[0]} | {c[1]} | {c[2]} | {c[3]} |")
    return rows


# ---------------------------------------------------------------------------- report


def prf(c: PairCounts) -> str:
    return f"{c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f}"


def median_pair(values: Sequence[tuple[float, float]]) -> str:
    if not values:
        return "—"
    return (
        f"{statistics.median(v[0] for v in values):.2f} / "
        f"{statistics.median(v[1] for v in values):.2f}"
    )


def kind_rows(
    ours: Score, base: Score, test_misses: Sequence[Miss], members: Mapping[str, set[str]]
) -> list[str]:
    rows = []
    order = ["original", *COPY_KINDS, "combined (2+ changes)", *NEGATIVE_KINDS]
    for name in order:
        o, b = ours.by_group.get(name), base.by_group.get(name)
        if o is None or b is None:
            continue
        keep = involving(members[name])
        mine = [m for m in test_misses if keep(m.pair)]
        if name in NEGATIVE_KINDS:
            rows.append(
                f"| {name} | {len(members[name])} | {o.true} | — | — | — | "
                f"**{o.false_links}** | — | — | — | **{b.false_links}** | — | — |"
            )
            continue
        rows.append(
            f"| {name} | {len(members[name])} | {o.true} | {prf(o)} | "
            f"{o.false_links} | {prf(b)} | {b.false_links} | "
            f"{median_pair([m.text for m in mine])} | "
            f"{median_pair([m.body for m in mine])} |"
        )
    return rows


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} (1 / 5 min) on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--records", type=int, default=200, help="records per corpus (about)")
    ap.add_argument(
        "--orders", type=int, default=6, help="random arrival orders besides each corpus's own"
    )
    ap.add_argument("--dev-seeds", type=int, nargs="+", default=list(DEV_SEEDS))
    ap.add_argument("--test-seeds", type=int, nargs="+", default=list(TEST_SEEDS))
    ap.add_argument("--fixture-seeds", type=int, nargs="*", default=[1, 2, 3])
    ap.add_argument(
        "--newsdedup",
        default=str(ROOT / ".venv" / "bin" / "newsdedup"),
        help="the CLI to measure (default: this checkout's .venv)",
    )
    ap.add_argument("--config", help="a TOML config passed to `newsdedup dedup`")
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    if args.config:  # the CLI runs in a temporary folder
        args.config = str(Path(args.config).resolve())
    started = time.perf_counter()

    built = corpora(args.shared, args.records, args.dev_seeds, args.test_seeds)
    sets = {
        half: [from_variations(half, seed, recs) for seed, recs in runs]
        for half, runs in built.items()
    }
    sets["fixture"] = [fixture_web_corpus(s) for s in args.fixture_seeds]

    ours: dict[str, list[tuple[Corpus, dict[str, str]]]] = {}
    spread: dict[str, list[float]] = {}
    base_runs: dict[float, dict[str, list[tuple[Corpus, dict[str, int]]]]] = {
        t: {} for t in THRESHOLDS
    }
    with tempfile.TemporaryDirectory(prefix="bench-clustering-") as tmp:
        for half, items in sets.items():
            for corpus in items:
                pred = run_ours(corpus.lines, args.newsdedup, Path(tmp), args.config)
                ours.setdefault(half, []).append((corpus, pred))
                f1s = [pair_counts(label_pairs(pred), label_pairs(corpus.truth)).f1]
                if half != "fixture":
                    for k in range(1, args.orders + 1):
                        order = arrival_order(len(corpus.lines), corpus.seed * 100 + k)
                        p = run_ours(
                            [corpus.lines[i] for i in order], args.newsdedup, Path(tmp), args.config
                        )
                        f1s.append(pair_counts(label_pairs(p), label_pairs(corpus.truth)).f1)
                spread[corpus.name] = f1s
                print(
                    f"{corpus.name}: {len(corpus.lines)} records, ours F1 over "
                    f"{len(f1s)} orders {min(f1s):.3f}–{max(f1s):.3f}",
                    flush=True,
                )
                ids = list(corpus.texts)
                sigs = minhashes(corpus.texts.values())
                for t in THRESHOLDS:
                    base_runs[t].setdefault(half, []).append((corpus, naive_lsh(ids, sigs, t)))
    elapsed = time.perf_counter() - started

    ours_score = {half: score_all(runs) for half, runs in ours.items()}
    base_score = {
        t: {half: score_all(runs) for half, runs in by_half.items()}
        for t, by_half in base_runs.items()
    }
    chosen = max(THRESHOLDS, key=lambda t: (base_score[t]["dev"].overall.f1, -t))
    best_test = max(THRESHOLDS, key=lambda t: (base_score[t]["test"].overall.f1, -t))
    ob, bb = ours_score["test"], base_score[chosen]["test"]

    members: dict[str, set[str]] = {}
    for c, _ in ours["test"]:
        for name, ids in groups(c).items():
            members.setdefault(name, set()).update(ids)
    test_misses = [m for c, p in ours["test"] for m in misses(c, p)]
    test_false = [m for c, p in ours["test"] for m in false_links(c, p)]
    print("\nexamples of our misses on test (kinds; J/C text; J/C body):")
    for name, ids in sorted(members.items()):
        keep = involving(ids)
        for m in [m for m in test_misses if keep(m.pair)][:3]:
            print(
                f"  {name:18} {m.kinds[0]}+{m.kinds[1]}: text J {m.text[0]:.2f} C "
                f"{m.text[1]:.2f}; body J {m.body[0]:.2f} C {m.body[1]:.2f}  {m.pair}"
            )
    print("our false links on test:")
    for m in test_false[:40]:
        print(
            f"  {m.kinds[0]}+{m.kinds[1]}: text J {m.text[0]:.2f} C {m.text[1]:.2f}; "
            f"body J {m.body[0]:.2f} C {m.body[1]:.2f}  {m.pair}"
        )

    def orders_cell(half: str) -> str:
        names = [c.name for c, _ in ours[half]]
        lo = min(min(spread[n]) for n in names)
        hi = max(max(spread[n]) for n in names)
        worst = max(max(spread[n]) - min(spread[n]) for n in names)
        return f"{lo:.3f}–{hi:.3f} (widest per corpus {worst:.3f})"

    n_records = {half: sum(len(c.lines) for c, _ in runs) for half, runs in ours.items()}
    dev_names = ", ".join(str(s) for s in args.dev_seeds)
    test_names = ", ".join(str(s) for s in args.test_seeds)
    command = (
        f"python benchmarks/bench_clustering.py --shared ../shared --records "
        f"{args.records} --orders {args.orders}"
        + (f" --config {args.config}" if args.config else "")
        + " --write"
    )
    ratio = ob.overall.f1 / bb.overall.f1 if bb.overall.f1 else float("nan")
    sweep = [
        f"| {t} | {prf(base_score[t]['dev'].overall)} | {prf(base_score[t]['test'].overall)} |"
        for t in THRESHOLDS
    ]
    fo, fb = ours_score["fixture"].overall, base_score[chosen]["fixture"].overall
    base_spread = "0 (its clusters are connected components of a symmetric candidate graph)"
    table = "\n".join(
        [
            f"`{command}` — {datetime.now(UTC):%Y-%m-%d}, {elapsed:.0f} s wall at {load()}. "
            f"Base texts: the bodies of extraction-benchmark and publisher-benchmark (25 "
            f"languages), split into a dev and a test half by a hash of their id; dev corpora "
            f"seeds {dev_names} ({n_records['dev']} records), test corpora seeds {test_names} "
            f"({n_records['test']} records), made by `crawler/fixtures/variations.py` (its "
            f"docstring defines every kind). Ours: `newsdedup dedup --input` "
            f"({'config ' + args.config if args.config else 'default settings'}). Naive: "
            f"datasketch `MinHashLSH` (128 perm) on word 5-grams of the lowercased text, every "
            f"candidate pair linked, union-find; threshold chosen on dev: **{chosen}** "
            f"(best on test: {best_test}). Pairwise scores, pair counts summed over the seeds "
            f"of a half.",
            "",
            "| system | dev P | dev R | dev F1 | test P | test R | test F1 | test ARI (mean) | "
            "test F1 over arrival orders |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| **ours** (`dedup --input`) | {prf(ours_score['dev'].overall)} | "
            f"{prf(ob.overall)} | {statistics.mean(ob.ari):.3f} | {orders_cell('test')} |",
            f"| naive LSH, t={chosen} (chosen on dev) | {prf(base_score[chosen]['dev'].overall)} | "
            f"{prf(bb.overall)} | {statistics.mean(bb.ari):.3f} | {base_spread} |",
            f"| naive LSH, t={best_test} (best on test) | "
            f"{prf(base_score[best_test]['dev'].overall)} | "
            f"{prf(base_score[best_test]['test'].overall)} | "
            f"{statistics.mean(base_score[best_test]['test'].ari):.3f} | |",
            "",
            f"Test F1 ours / naive (dev-chosen): **{ratio:.3f}**. Dev F1 over arrival orders "
            f"(ours): {orders_cell('dev')}; {1 + args.orders} orders per corpus (its own and "
            f"{args.orders} random).",
            "",
            "Per variation kind, test half. A kind's pairs are those with a record of that kind "
            "(an original's pairs are with its copies; *combined* = records with 2+ text "
            "changes, also counted under their kind). Hard-negative kinds are stories of their "
            "own: what counts is **false links**, predicted pairs that join them to anything. "
            "J / C: median Jaccard / containment (5-gram shingles, `store.compare`) of the true "
            "pairs ours split, on the text as fed and on the bodies without header, byline and "
            "footer.",
            "",
            "| kind | records | true pairs | ours P | ours R | ours F1 | ours false links | "
            "naive P | naive R | naive F1 | naive false links | missed J / C (text) | "
            "missed J / C (body) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
            *kind_rows(ob, bb, test_misses, members),
            "",
            f"Fixture web (`build_web` seeds {', '.join(map(str, args.fixture_seeds))}, "
            f"{n_records['fixture']} pages as `expected_body` gives them, no crawl): ours "
            f"P {fo.precision:.3f} R {fo.recall:.3f} F1 {fo.f1:.3f}; naive t={chosen} "
            f"P {fb.precision:.3f} R {fb.recall:.3f} F1 {fb.f1:.3f}.",
            "",
            f"Why ours missed the true pairs it missed (test half, the corpora's own order): "
            f"whether the pair would pass the default verification (Jaccard ≥ "
            f"{Thresholds().jaccard} or containment ≥ {Thresholds().containment}) on the text as "
            f"fed, only on the bodies without chrome, or on neither. Rows: a copy kind paired "
            f"with its original, or two copies of one story.",
            "",
            "| pair | missed | verifies as fed (placement/order) | only without chrome | "
            "neither (edits, or needs the cluster) |",
            "|---|---:|---:|---:|---:|",
            *cause_rows(causes(test_misses, Thresholds())),
            "",
            "How far each kind moves a record from the original it derives from (test half; "
            "copies with one text change, hard negatives against each story they reuse): "
            "median [min–max] of 5-gram Jaccard and containment, on the text as fed and on the "
            "bodies without chrome. Copies must be accepted, the rest refused.",
            "",
            "| kind | pairs | J (text) | C (text) | J (body) | C (body) |",
            "|---|---:|---|---|---|---|",
            *distance_rows(distances(c for c, _ in ours["test"])),
            "",
            "Naive LSH threshold sweep (P | R | F1):",
            "",
            "| threshold | dev P | dev R | dev F1 | test P | test R | test F1 |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *sweep,
        ]
    )
    print(table)
    if args.write:
        write_section(SECTION, table)


if __name__ == "__main__":
    sys.exit(main())
