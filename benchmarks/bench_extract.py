"""Extraction benchmark: newsdedup's extract+normalize against trafilatura.

Scores both on the same pages with the Article Extraction Benchmark's rules (tokens are
Unicode `\\w+` matches, 4-token shingle multisets, per-page TP/FP/FN each divided by that
page's TP+FP+FN, precision/recall/F1 from the sums; accuracy = share of pages whose token
list matches exactly), times both on the whole step from bytes (decode included), single
process, best of N repeats, and writes the "## Extraction on the extraction benchmark" section of
benchmarks/RESULTS.md, leaving the other sections alone.

    python benchmarks/bench_extract.py [--data DIR] [--repeats 3] [--no-write] [--show-worst 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "extraction-benchmark"  # ../shared beside the checkout
from _results import replace_section as write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Extraction on the extraction benchmark"
_TOKEN = re.compile(r"\w+")


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    accuracy: float


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def shingles(toks: list[str], n: int = 4) -> Counter:
    if len(toks) < n:
        return Counter([tuple(toks)]) if toks else Counter()
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def page_counts(pred: str, truth: str) -> tuple[float, float, float]:
    p, t = shingles(tokens(pred)), shingles(tokens(truth))
    tp = sum((p & t).values())
    fp = sum(p.values()) - tp
    fn = sum(t.values()) - tp
    total = tp + fp + fn
    if total == 0:
        return 0.0, 0.0, 0.0
    return tp / total, fp / total, fn / total


def score(preds: dict[str, str], truth: dict[str, str]) -> Score:
    tp = fp = fn = 0.0
    exact = 0
    for key, true_text in truth.items():
        a, b, c = page_counts(preds.get(key, ""), true_text)
        tp, fp, fn = tp + a, fp + b, fn + c
        exact += tokens(preds.get(key, "")) == tokens(true_text)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return Score(prec, rec, f1, exact / len(truth) if truth else 0.0)


def ours(html: bytes, url: str) -> str:
    from crawler.extract._html import extract_html
    from crawler.normalize._boilerplate import normalize

    return "\n".join(normalize(extract_html(html, url)).body)


def theirs(html: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html, url=url) or ""


def run(fn: Callable[[bytes, str], str], pages: list[tuple[str, bytes, str]], repeats: int):
    best = float("inf")
    out: dict[str, str] = {}
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = {key: fn(html, url) for key, html, url in pages}
        best = min(best, time.perf_counter() - t0)
    return out, len(pages) / best


def load(data: Path) -> tuple[list[tuple[str, bytes, str]], dict[str, str]]:
    gt = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    truth = {}
    for key in sorted(gt):
        path = data / "html" / f"{key}.html.gz"
        if not path.exists():
            continue
        pages.append((key, gzip.decompress(path.read_bytes()), gt[key].get("url") or ""))
        truth[key] = gt[key].get("articleBody") or ""
    return pages, truth


def _version(mod: str) -> str:
    try:
        from importlib.metadata import version

        return version(mod)
    except Exception:  # noqa: BLE001
        return "?"


def render(n: int, ours_s: Score, ours_pps: float, tr_s: Score, tr_pps: float, repeats: int) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION,
        "",
        f"Measured {now} on {n} pages of the extraction benchmark (development split), "
        f"one process, decode from bytes included, best of {repeats} runs.",
        f"Machine: {platform.machine()}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}; selectolax {_version('selectolax')}, "
        f"trafilatura {_version('trafilatura')}, lxml {_version('lxml')}.",
        "",
        "| extractor | precision | recall | F1 | accuracy | pages/s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| newsdedup extract+normalize | {ours_s.precision:.3f} | {ours_s.recall:.3f} | "
        f"{ours_s.f1:.3f} | {ours_s.accuracy:.3f} | {ours_pps:.0f} |",
        f"| trafilatura.extract | {tr_s.precision:.3f} | {tr_s.recall:.3f} | "
        f"{tr_s.f1:.3f} | {tr_s.accuracy:.3f} | {tr_pps:.0f} |",
        "",
        f"Speed ratio newsdedup / trafilatura: **{ours_pps / tr_pps:.1f}x**; "
        f"F1 difference: {ours_s.f1 - tr_s.f1:+.3f}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--skip-trafilatura", action="store_true")
    ap.add_argument("--show-worst", type=int, default=0)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    pages, truth = load(args.data)
    ours(pages[0][1], pages[0][2])  # import and rules loading outside the timing
    o_pred, o_pps = run(ours, pages, args.repeats)
    o_s = score(o_pred, truth)
    print(
        f"newsdedup  P {o_s.precision:.3f} R {o_s.recall:.3f} F1 {o_s.f1:.3f} "
        f"acc {o_s.accuracy:.3f}  {o_pps:.1f} pages/s"
    )
    if args.show_worst:
        worst = sorted(truth, key=lambda k: page_counts(o_pred[k], truth[k])[0])
        for k in worst[: args.show_worst]:
            tp, fp, fn = page_counts(o_pred[k], truth[k])
            print(f"  {k[:12]} tp {tp:.2f} fp {fp:.2f} fn {fn:.2f}")
    if args.skip_trafilatura:
        return 0
    theirs(pages[0][1], pages[0][2])
    t_pred, t_pps = run(theirs, pages, args.repeats)
    t_s = score(t_pred, truth)
    print(
        f"trafilatura P {t_s.precision:.3f} R {t_s.recall:.3f} F1 {t_s.f1:.3f} "
        f"acc {t_s.accuracy:.3f}  {t_pps:.1f} pages/s"
    )
    print(f"speed ratio {o_pps / t_pps:.2f}x")
    if not args.no_write:
        write_section(render(len(pages), o_s, o_pps, t_s, t_pps, args.repeats))
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
