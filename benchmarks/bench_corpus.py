"""Benchmark: ``newsdedup dedup --input`` against a do-it-yourself datasketch pipeline.

What a data team would otherwise write for a corpus: datasketch ``MinHash.bulk`` with
xxh32 over word 5-gram shingles (datasketch's fastest setting), ``MinHashLSH``, every
candidate pair linked, clusters by union-find. Both run on the same synthetic corpus
(``_synthetic``: news-length texts, 45 % near-copies, labelled), each in a process of its
own, timed from start to exit (reading the JSONL included) with the process's peak RSS
(``wait4``). Both outputs are scored against the labels, pairwise.

    .venv/bin/python benchmarks/bench_corpus.py --records 100000 1000000 [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import write_section  # noqa: E402
from _synthetic import write_corpus  # noqa: E402

HEADING = "Corpus dedup (dedup --input) against do-it-yourself datasketch"

DIY = r"""
import json, sys
import numpy as np
import xxhash
from datasketch import MinHash, MinHashLSH
path, out, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
lsh = MinHashLSH(threshold=threshold, num_perm=128)
ids, hashes, sets = [], [], []
def flush():
    for m in MinHash.bulk(sets, num_perm=128, hashfunc=xxhash.xxh32_intdigest):
        lsh.insert(len(hashes), m)
        hashes.append(m)
    sets.clear()
with open(path, encoding="utf-8") as fh:
    for line in fh:  # shingle sets a chunk at a time: only the MinHashes are kept
        rec = json.loads(line)
        words = rec["text"].lower().split()
        ids.append(rec["id"])
        sets.append({" ".join(words[i:i + 5]).encode() for i in range(max(1, len(words) - 4))})
        if len(sets) == 5000:
            flush()
flush()
parent = list(range(len(ids)))
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
for i, m in enumerate(hashes):
    for j in lsh.query(m):
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
with open(out, "w", encoding="utf-8") as fh:
    for i, rid in enumerate(ids):
        fh.write(json.dumps({"id": rid, "cluster": ids[find(i)]}) + "\n")
"""


def _run(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one process, from start to exit."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024


def _scores(labels: Path, output: Path) -> tuple[float, float, float, int]:
    from store.dedup import pairwise_scores

    truth = {}
    with labels.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            truth[rec["id"]] = rec["cluster"]
    pred = {}
    with output.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            pred[rec["id"]] = rec["cluster"]
    s = pairwise_scores(pred, truth)
    sizes: dict[str, int] = {}
    for c in pred.values():
        sizes[c] = sizes.get(c, 0) + 1
    return s.precision, s.recall, s.f1, max(sizes.values())


def measure(n: int, workdir: Path, threshold: float) -> dict:
    corpus = write_corpus(workdir / f"corpus-{n}.jsonl", n, labels=True)
    exe = str(Path(sys.executable).with_name("newsdedup"))
    ours_out, diy_out = workdir / f"ours-{n}.jsonl", workdir / f"diy-{n}.jsonl"
    ours = _run([exe, "-q", "dedup", "--input", str(corpus), "--output", str(ours_out)])
    diy = _run([sys.executable, "-c", DIY, str(corpus), str(diy_out), str(threshold)])
    return {
        "n": n,
        "bytes": corpus.stat().st_size,
        "ours": ours,
        "diy": diy,
        "ours_scores": _scores(corpus, ours_out),
        "diy_scores": _scores(corpus, diy_out),
    }


def table(rows: list[dict], threshold: float, load: tuple[float, float]) -> str:
    import datasketch

    lines = [
        f"`python benchmarks/bench_corpus.py --records {' '.join(str(r['n']) for r in rows)}`"
        f" — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
        f"nproc {os.cpu_count()}, load average {load[0]:.1f} before / {load[1]:.1f} after "
        f"(1 min); Python {platform.python_version()}, datasketch {datasketch.__version__}.",
        "",
        "Corpus: `benchmarks/_synthetic.py` (news-length texts from a Zipf vocabulary, about "
        "45 % near-copies: trims, light edits, new tops and tails, copies of copies; labelled "
        "by source story). Each contender is one process, timed from start to exit with "
        "reading the JSONL, and its peak RSS taken by `wait4`. Do-it-yourself: datasketch "
        f"`MinHash.bulk` + xxh32 on lowercased word 5-grams, 5,000 records' shingle sets at "
        f"a time (only the MinHashes kept), `MinHashLSH(threshold={threshold})`, every "
        f"candidate pair linked, union-find.",
        "",
        "| records | JSONL | ours: wall | ours: peak RSS | DIY: wall | DIY: peak RSS | "
        "ours / DIY time | ours P / R / F1 | DIY P / R / F1 | largest cluster ours / DIY |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        (ow, orss), (dw, drss) = r["ours"], r["diy"]
        op, orr, of, omax = r["ours_scores"]
        dp, dr, df, dmax = r["diy_scores"]
        lines.append(
            f"| {r['n']:,} | {r['bytes'] / 2**20:,.0f} MiB | {ow:.1f} s | {orss / 2**20:,.0f} MiB "
            f"| {dw:.1f} s | {drss / 2**20:,.0f} MiB | **{ow / dw:.2f}** | {op:.3f} / {orr:.3f}"
            f" / {of:.3f} | {dp:.3f} / {dr:.3f} / {df:.3f} | {omax} / {dmax} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, nargs="+", default=[100_000])
    ap.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="the do-it-yourself MinHashLSH threshold (datasketch's default)",
    )
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-corpus-") as tmp:
        rows = []
        for n in args.records:
            rows.append(measure(n, Path(tmp), args.threshold))
            print(json.dumps(rows[-1]), flush=True)
    text = table(rows, args.threshold, (load0, os.getloadavg()[0]))
    print(text)
    if not args.no_write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
