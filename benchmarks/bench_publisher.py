"""Extraction on publishers' pages: newsdedup against trafilatura in the same run.

Two data sets, both read from the shared folder (``--shared``, default ``../shared`` next to
the repository root):

- the publisher benchmark (real pages of ~100 news sites in 25 languages, with the fields
  hand-written per-publisher parsers extract): body P/R/F1, title exact/contains, date
  right/wrong/missing, author recall and pages/s, for all pages, English and the other
  languages. Scoring is ``publisher-benchmark/score.py``'s own (imported from the shared
  folder, not copied), so the figures are the ones the held-back half is checked with.
- the Article Extraction Benchmark (``extraction-benchmark/``): body P/R/F1 with its rules.

The publishers are split into a tuning half and a reporting half by a stable hash of the
publisher's name (sha1, not Python's salted ``hash``): rules are tuned while looking at the
tuning half only, and both halves are reported, so a gap between them shows over-fitting.

Speed is extract+normalize per page in one process (decode from bytes included), best of
``--repeats`` passes, against ``trafilatura.bare_extraction`` with metadata on the same pages.

    python benchmarks/bench_publisher.py --shared /work/shared [--repeats 3] [--no-write]
        [--show-worst 15] [--split tune] [--out rows.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _results import write_section  # noqa: E402

SECTION = "Extraction on publishers' pages"
GROUPS: dict[str, Callable[[dict], bool]] = {
    "all": lambda r: True,
    "en": lambda r: r["language"] == "en",
    "other": lambda r: r["language"] != "en",
}


def half(publisher: str) -> str:
    """'tune' or 'report', stable across runs, machines and Python versions."""
    return "tune" if hashlib.sha1(publisher.encode()).digest()[0] % 2 == 0 else "report"


def load_scorer(shared: Path) -> ModuleType:
    path = shared / "publisher-benchmark" / "score.py"
    spec = importlib.util.spec_from_file_location("publisher_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the scorer at {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_pages(data: Path) -> list[dict]:
    gt = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(gt):
        raw = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes())
        exp = gt[key]
        pages.append(
            {"id": key, "html": raw, "url": exp["url"], "exp": exp, "half": half(exp["publisher"])}
        )
    return pages


def run_system(score: ModuleType, spec: str, pages: list[dict], repeats: int) -> list[dict]:
    """score.py's per-page rows, with each page's best time over `repeats` passes."""
    call, _ = score.make_system(spec, 60.0)
    call(pages[0])  # imports and caches are not a per-page cost
    rows = []
    for pg in pages:
        t0 = time.perf_counter()
        res, err = call(pg)
        took = time.perf_counter() - t0
        row = score.score_page(res, pg["exp"], False)
        row.update(
            id=pg["id"],
            language=pg["exp"].get("language"),
            failed=err is not None,
            error=err,
            seconds=took,
            has_date=bool(pg["exp"].get("published")),
            half=pg["half"],
        )
        rows.append(row)
    for _ in range(repeats - 1):
        for row, pg in zip(rows, pages, strict=True):
            t0 = time.perf_counter()
            call(pg)
            row["seconds"] = min(row["seconds"], time.perf_counter() - t0)
    return rows


def summarize(score: ModuleType, rows: list[dict]) -> dict:
    agg = score.aggregate(rows)
    dated = [r for r in rows if r["has_date"]]
    agg["date_wrong"] = sum(not r["date_same_day"] and not r["date_missing"] for r in dated)
    agg["date_right_n"] = sum(r["date_same_day"] for r in dated)
    agg["date_missing_n"] = sum(r["date_missing"] for r in dated)
    return agg


def aeb(shared: Path, repeats: int, only_ours: bool = False) -> dict:
    """The Article Extraction Benchmark, scored by bench_extract's rules."""
    import bench_extract as be

    pages, truth = be.load(shared / "extraction-benchmark")
    out = {}
    systems = [("newsdedup", be.ours), ("trafilatura", be.theirs)]
    for name, fn in systems[:1] if only_ours else systems:
        fn(pages[0][1], pages[0][2])
        pred, pps = be.run(fn, pages, repeats)
        out[name] = (be.score(pred, truth), pps, pred)
    out["pages"] = len(pages)
    out["truth"] = truth
    return out


_ROWS = [
    ("body P", "body_p", "{:.3f}"),
    ("body R", "body_r", "{:.3f}"),
    ("body F1 (micro)", "body_f1", "{:.3f}"),
    ("body F1 (mean of pages)", "body_f1_mean", "{:.3f}"),
    ("title exact", "title_exact", "{:.1%}"),
    ("title contains", "title_contains", "{:.1%}"),
    ("date right to the day", "date_same_day", "{:.1%}"),
    ("date wrong (pages)", "date_wrong", "{}"),
    ("date missing", "date_missing", "{:.1%}"),
    ("author recall", "author_recall", "{:.1%}"),
    ("pages/s", "pages_per_s", "{:.1f}"),
]


def table(sums: dict[str, dict], split: str) -> str:
    """One table per split: rows are metrics, columns are (group, system)."""
    cols = [(g, s) for g in GROUPS for s in ("newsdedup", "trafilatura")]
    head = (
        "| "
        + split
        + " | "
        + " | ".join(
            f"{g} ({sums['newsdedup'][split][g]['pages']}) {'nd' if s == 'newsdedup' else 'traf'}"
            for g, s in cols
        )
        + " |"
    )
    lines = [head, "|---" + "|---:" * len(cols) + "|"]
    for label, key, fmt in _ROWS:
        cells = []
        for g, s in cols:
            v = sums[s][split][g].get(key)
            cells.append("–" if v is None else fmt.format(v))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _version(mod: str) -> str:
    try:
        from importlib.metadata import version

        return version(mod)
    except Exception:  # noqa: BLE001
        return "?"


def render(sums: dict, ae: dict | None, n_pages: int, n_pub: int, repeats: int) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out = [
        f"Measured {now}: {n_pages} pages from {n_pub} publishers (publisher benchmark, "
        "development split) scored by its own `score.py`; extract+normalize in one process, "
        f"decode included, best of {repeats} passes; load average {load:.2f} at the end. "
        f"Python {platform.python_version()}, selectolax {_version('selectolax')}, "
        f"trafilatura {_version('trafilatura')} (`bare_extraction`, metadata on).",
        "",
        "Publishers split by a stable hash of their name: rules were tuned looking at the "
        "*tune* half only; *report* is the half not looked at. nd = newsdedup, traf = "
        "trafilatura; a wrong date counts pages with a date on a different day.",
        "",
    ]
    for split in ("both", "tune", "report"):
        out += [table(sums, split), ""]
    nd, tr = sums["newsdedup"]["both"]["all"], sums["trafilatura"]["both"]["all"]
    out.append(
        "Speed ratio (all pages) newsdedup / trafilatura: "
        f"**{nd['pages_per_s'] / tr['pages_per_s']:.1f}x**."
    )
    if ae:
        o, o_pps, _ = ae["newsdedup"]
        t, t_pps, _ = ae["trafilatura"]
        out += [
            "",
            f"Article Extraction Benchmark ({ae['pages']} pages, its normalized F1):",
            "",
            "| extractor | precision | recall | F1 | pages/s |",
            "|---|---:|---:|---:|---:|",
            f"| newsdedup extract+normalize | {o.precision:.3f} | {o.recall:.3f} | {o.f1:.3f} "
            f"| {o_pps:.0f} |",
            f"| trafilatura.extract | {t.precision:.3f} | {t.recall:.3f} | {t.f1:.3f} "
            f"| {t_pps:.0f} |",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-aeb", action="store_true", help="skip the extraction benchmark")
    ap.add_argument("--only-ours", action="store_true", help="quick look: no trafilatura")
    ap.add_argument("--show-worst", type=int, default=0)
    ap.add_argument(
        "--split",
        choices=("both", "tune", "report"),
        default="tune",
        help="which half --show-worst looks at (default: the tuning half)",
    )
    ap.add_argument("--out", type=Path, help="per-page rows as JSON")
    args = ap.parse_args(argv)
    score = load_scorer(args.shared)
    pages = load_pages(args.shared / "publisher-benchmark")
    systems = {"newsdedup": "py:newsdedup"}
    if not args.only_ours:
        systems["trafilatura"] = "py:trafilatura"
    per = {name: run_system(score, spec, pages, args.repeats) for name, spec in systems.items()}
    sums: dict[str, dict] = {}
    for name, rows in per.items():
        sums[name] = {}
        for split in ("both", "tune", "report"):
            sel = [r for r in rows if split == "both" or r["half"] == split]
            sums[name][split] = {
                g: summarize(score, [r for r in sel if f(r)]) for g, f in GROUPS.items()
            }
    for name in systems:
        for split in ("both", "tune", "report"):
            s = sums[name][split]
            print(
                f"{name:12s} {split:6s} "
                + "  ".join(f"{g}: F1 {s[g]['body_f1']:.3f} R {s[g]['body_r']:.3f}" for g in GROUPS)
                + f"  date ok {s['all']['date_right_n']} wrong {s['all']['date_wrong']} "
                f"missing {s['all']['date_missing_n']}  title {s['all']['title_exact']:.1%}"
                f"  authors {s['all']['author_recall']:.1%}  {s['all']['pages_per_s']:.0f} p/s"
            )
    if args.show_worst:
        rows = [r for r in per["newsdedup"] if args.split == "both" or r["half"] == args.split]
        for r in sorted(rows, key=lambda r: r["f1"])[: args.show_worst]:
            p, rc, f = score.prf(r["tp"], r["fp"], r["fn"])
            print(f"  {r['id']:45s} F1 {f:.3f} P {p:.3f} R {rc:.3f}")
        for r in rows:
            if r["has_date"] and not r["date_same_day"]:
                want = next(p for p in pages if p["id"] == r["id"])["exp"]["published"]
                print(f"  date {r['id']}: {r['extracted']['published']} (expected {want})")
    ae = None if args.no_aeb else aeb(args.shared, args.repeats, args.only_ours)
    if ae:
        for name in ("newsdedup", "trafilatura")[: 1 if args.only_ours else 2]:
            s, pps, _ = ae[name]
            print(
                f"AEB {name:12s} P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f} {pps:.0f} p/s"
            )
    if args.out:
        args.out.write_text(json.dumps(per, ensure_ascii=False, default=str), encoding="utf-8")
    if not args.no_write and not args.only_ours:
        n_pub = len({p["exp"]["publisher"] for p in pages})
        write_section(SECTION, render(sums, ae, len(pages), n_pub, args.repeats))
        print("wrote benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
