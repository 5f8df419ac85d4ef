"""Benchmark: what one cron run of ``newsdedup dedup`` costs as the store grows (10k to 10M).

For each store size N a store is bulk-built (``store.dedup.load_store``: the store one
``dedup_store`` over the same articles would leave, row for row), then runs follow one
another as on a cron line: 1,000 new articles are added (edited copies of stored articles,
copies of each other, fresh stories), and a fresh ``newsdedup dedup --store`` process signs
and clusters them. Runs go on through one whole compaction cycle of the write tiers
(from empty tiers, as the bulk build leaves them, to the run that folds them into the main
tables, once as many as the store fills before a fold are full), and the mean over the
cycle is what a deployment pays per run. Each run is measured twice over: the pass
alone (``dedup_store`` timed inside the process) and the whole process (interpreter,
imports, the run lock, the pass), with the process's own peak RSS. The ratios divide by
the first size's runs; with ``--interleave`` those are taken in turns with each larger
size's, so that a slow hour of the machine weighs on both alike.

    .venv/bin/python benchmarks/bench_incremental.py                  # 10k, 100k, 1M
    .venv/bin/python benchmarks/bench_incremental.py --sizes 10000 --no-write
    .venv/bin/python benchmarks/bench_incremental.py --sizes 1000000 --keep --profile
    .venv/bin/python benchmarks/bench_incremental.py --sizes 10000,10000000 \
        --in-place 10000000 --interleave --max-runs 400 --peers-at 0   # 10M: 45 GiB
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _results import write_section  # noqa: E402

from store.backends._levels import ANCHORS, LINES, LSH, TIERS  # noqa: E402

HEADING = "Incremental dedup cost"
DEFAULT_WORKDIR = Path("/tmp/newsdedup-bench")

SEED = 6
VOCAB = 50_000
CHUNK = 5_000  # articles generated together; a copy's original is in its chunk
COPY_SHARE = 0.2  # of the pre-built store: near-copies of a recent earlier article
HOSTS = 300
FOOTER_SHARE = 0.6  # of hosts: a footer paragraph under every article
BYLINE_SHARE = 0.4  # of hosts: a dated byline line over every article
BATCH = 1000

# The 1,000 new articles of one run.
NEW_STORED_COPIES = 300  # edited copies of random stored articles: should join
NEW_BATCH_COPIES = 50  # edited copies of other new articles of the same batch: should join

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- corpus


def _vocabulary(size: int) -> list[str]:
    """Pronounceable pseudo-words, shortest first, so the frequent ranks are short words."""
    # Distinct first words keep the streams apart: NumPy's SeedSequence treats trailing
    # zeros as absent, so [6, 99] and [6, 99, 0] would be one and the same stream.
    rng = np.random.default_rng([SEED, 1])
    onsets = [
        "",
        "b",
        "c",
        "d",
        "f",
        "g",
        "h",
        "k",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "v",
        "w",
        "br",
        "ch",
        "st",
        "tr",
        "pl",
        "gr",
        "sh",
        "th",
    ]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "ie"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng"]
    words: dict[str, None] = {}
    syllables = 1
    while len(words) < size:
        for _ in range(size * 2):
            n = syllables + int(rng.integers(0, 2))
            w = "".join(
                onsets[rng.integers(len(onsets))]
                + vowels[rng.integers(len(vowels))]
                + codas[rng.integers(len(codas))]
                for _ in range(n)
            )
            words[w] = None
            if len(words) >= size:
                break
        syllables += 1
    return sorted(words, key=lambda w: (len(w), w))


@dataclass
class Corpus:
    """Deterministic news-length texts over a Zipf (s=1) vocabulary, from outlets that put
    their own chrome (a footer, a dated byline) around the story."""

    vocab: list[str] = field(default_factory=lambda: _vocabulary(VOCAB))

    def __post_init__(self) -> None:
        p = 1.0 / np.arange(1, len(self.vocab) + 1, dtype=np.float64)
        self.cdf = np.cumsum(p / p.sum())
        self.footers: list[str | None] = []
        self.bylines: list[str | None] = []
        for h in range(HOSTS):
            rng = np.random.default_rng([SEED, 4, h])
            self.footers.append(
                render(self.words(rng, int(rng.integers(20, 45))), rng)
                if rng.random() < FOOTER_SHARE
                else None
            )
            self.bylines.append(
                " ".join(["By"] + self.words(rng, 2) + ["staff", "|"])
                if rng.random() < BYLINE_SHARE
                else None
            )

    def words(self, rng: np.random.Generator, n: int) -> list[str]:
        ids = np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.vocab) - 1)
        vocab = self.vocab
        return [vocab[i] for i in ids.tolist()]

    def story(self, rng: np.random.Generator) -> list[str]:
        return self.words(rng, int(rng.integers(250, 401)))

    def near_copy(self, rng: np.random.Generator, words: list[str]) -> list[str]:
        """What a republisher does: trim the tail, touch a few words, add its own lines."""
        out = list(words)
        if rng.random() < 0.4:
            out = out[: max(20, int(len(out) * rng.uniform(0.6, 0.95)))]
        edits = rng.integers(0, len(out), size=int(len(out) * rng.uniform(0.0, 0.03)))
        replacements = self.words(rng, len(edits))
        for pos, new in zip(edits.tolist(), replacements, strict=True):
            out[pos] = new
        if rng.random() < 0.5:
            out = ["london", "(", "wire", ")", "-"] + out
        if rng.random() < 0.5:
            out = (
                out
                + ["reporting", "by"]
                + self.words(rng, 2)
                + ["editing", "by"]
                + self.words(rng, 2)
            )
        return out

    def article(self, aid: int, words: list[str], rng: np.random.Generator, tag: str, minute: int):  # noqa: ANN201 - store.ArticleRecord, imported late
        """The article as its outlet publishes it: its byline, the story, its footer."""
        from store import ArticleRecord

        h = int(rng.integers(HOSTS))
        host = f"www.paper{h}.example"
        when = EPOCH + dt.timedelta(minutes=minute)
        parts = [render(words, rng)]
        if self.bylines[h]:
            parts.insert(0, f"{self.bylines[h]} {when:%Y-%m-%d %H:%M}")
        if self.footers[h]:
            parts.append(self.footers[h])
        return ArticleRecord(
            url=f"https://{host}/news/{tag}{aid}",
            host=host,
            text="\n\n".join(parts),
            fetched=when,
            publisher=f"Paper {h}",
            title=f"Story {tag}{aid}",
            published=when,
        )

    def story_of(self, text: str, url: str) -> list[str]:
        """The story words of a stored article: its text less its outlet's chrome.

        A footer is cut whole: 18 outlets' run to two paragraphs, and cutting only the
        last one left the first in the story of every copy of their articles, and of the
        copies of those copies. In a 10M store kept over cycles that text came to be
        held by hundreds of added articles at every outlet, and each new copy carrying
        it was a candidate of them all: the pairs a run verifies grew from 639 to 1,605."""
        h = int(url.split("/")[2].removeprefix("www.paper").split(".")[0])
        paras = text.split("\n\n")
        if self.bylines[h]:
            paras = paras[1:]
        body = "\n\n".join(paras)
        if self.footers[h]:
            body = body.removesuffix(self.footers[h])
        return body.replace(".", "").lower().split()


def render(words: list[str], rng: np.random.Generator) -> str:
    """Sentences of 10-25 words, paragraphs of 2-5 sentences, like extracted article text."""
    lengths = rng.integers(10, 26, size=len(words) // 10 + 1).tolist()
    per_paragraph = rng.integers(2, 6, size=len(words) // 20 + 1).tolist()
    paragraphs: list[str] = []
    sentences: list[str] = []
    i = 0
    for n in lengths:
        if i >= len(words):
            break
        s = " ".join(words[i : i + n])
        sentences.append(s[:1].upper() + s[1:] + ".")
        i += n
        if len(sentences) >= per_paragraph[len(paragraphs)] or i >= len(words):
            paragraphs.append(" ".join(sentences))
            sentences = []
    return "\n\n".join(paragraphs)


def base_records(corpus: Corpus, n: int) -> Iterator:
    """The pre-built store's ``n`` articles, in id order (ids 1..n), a chunk at a time."""
    for c in range((n + CHUNK - 1) // CHUNK):
        rng = np.random.default_rng([SEED, 2, c])
        size = min(CHUNK, n - c * CHUNK)
        words: list[list[str]] = []
        for k in range(size):
            if k and rng.random() < COPY_SHARE:
                # Copies follow their original closely in time: mostly within the last 200.
                o = max(0, k - 1 - int(rng.exponential(60)))
                words.append(corpus.near_copy(rng, words[o]))
            else:
                words.append(corpus.story(rng))
        for k in range(size):
            aid = c * CHUNK + k + 1
            yield corpus.article(aid, words[k], rng, "a", aid)


@dataclass(frozen=True)
class Pool:
    """The stored articles a cycle's runs copy: the ``built`` ones (ids 1..built) and those
    its own runs added (ids above ``since``), not those of earlier cycles on a kept store.

    Every cycle at the base size runs on a fresh copy of its built store, so its runs
    always drew from just these; a 10M store kept from cycle to cycle drew from every
    earlier cycle's additions as well, and the same rule is now kept at every size.
    It was meant to stop the pairs a 10M run verifies from growing with the cycles run
    on the store (639, 867 and 1,208 a run over three cycles, against the base's 679),
    and did not: the next cycle's first runs verified 846 to 2,415. The cause was a
    footer left in copied stories (``Corpus.story_of``)."""

    built: int
    since: int

    def draw(self, rng: np.random.Generator, top: int, size: int) -> np.ndarray:
        """``size`` ids drawn alike from the pool, the store's highest id being ``top``;
        where the cycle began on the built store (``since == built``), the ids a draw
        over ``1..top`` gives."""
        since = max(self.since, self.built)
        ids = rng.integers(1, self.built + top - since + 1, size=size)
        return np.where(ids > self.built, ids - self.built + since, ids)


def new_batch(corpus: Corpus, path: Path, run: int, pool: Pool | None = None) -> list:
    """1,000 new articles: copies of random stored ones (drawn from ``pool``, else from
    all), copies within the batch, fresh."""
    rng = np.random.default_rng([SEED, 3, run])
    con = sqlite3.connect(path)
    top = int(con.execute("SELECT MAX(id) FROM articles").fetchone()[0])
    pool = pool or Pool(top, top)
    picks = sorted(set(pool.draw(rng, top, NEW_STORED_COPIES * 2).tolist()))
    picks = picks[:NEW_STORED_COPIES]
    marks = ",".join("?" * len(picks))
    stored = [
        corpus.story_of(t, u)
        for t, u in con.execute(f"SELECT text, url FROM articles WHERE id IN ({marks})", picks)
    ]
    con.close()
    fresh = [corpus.story(rng) for _ in range(BATCH - len(stored) - NEW_BATCH_COPIES)]
    words = (
        [corpus.near_copy(rng, w) for w in stored]
        + fresh
        + [
            corpus.near_copy(rng, fresh[int(rng.integers(len(fresh)))])
            for _ in range(NEW_BATCH_COPIES)
        ]
    )
    order = rng.permutation(len(words))  # copies are not all at the front of the batch
    return [
        corpus.article(k, words[i], rng, f"r{run}-", top + k + 1)
        for k, i in enumerate(order.tolist())
    ]


# --------------------------------------------------------------------------- build


@dataclass
class BuildInfo:
    articles: int
    seconds: float
    file_gib: float
    rows: dict[str, int]
    peak_rss_mib: float
    peak_anon_mib: float = 0.0  # of the peak RSS, the anonymous part (sampled), not mapped files
    date: str = ""  # when it was built: a kept store may be reused by later runs
    schema: int = 0  # the store's schema then (later runs migrate a kept store on open)


def empty_store_file(path: Path, page_size: int = 0) -> None:
    """``path`` removed, or, with a ``page_size`` (bytes), made an empty SQLite file with
    pages of that size for a store to be made in (otherwise the store's own ``PAGE_SIZE``,
    16,384; SQLite's default and older stores' is 4,096): a file in WAL mode keeps the
    size it was made with."""
    _remove(path)
    if page_size:
        con = sqlite3.connect(path)
        con.execute(f"PRAGMA page_size = {int(page_size)}")
        con.execute("PRAGMA journal_mode = WAL")
        con.close()


def build_store(
    path: Path, n: int, jobs: int, workdir: Path, corpus: Corpus, page_size: int = 0
) -> BuildInfo:
    """The store of ``n`` articles, through ``load_store``; timed, with its rows per table."""
    from store import open_store
    from store.dedup import load_store

    empty_store_file(path, page_size)
    t0 = time.perf_counter()
    with open_store(path) as st, AnonPeak() as anon:
        load_store(st, base_records(corpus, n), workers=jobs, workdir=workdir)
    seconds = time.perf_counter() - t0
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Rowid tables by their highest rowid (nothing is deleted in a build); the tables
    # clustered on their keys (schema 11) have no rowid and are counted.
    rows = {
        t: int(con.execute(f"SELECT MAX(rowid) FROM {t}").fetchone()[0] or 0)
        for t in ("articles", "edges")
    } | {
        t: int(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
        for t in ("article_lines", "lsh_bands", "anchors")
    }
    version = int(con.execute("PRAGMA user_version").fetchone()[0])
    con.close()
    info = BuildInfo(
        n,
        seconds,
        path.stat().st_size / 2**30,
        rows,
        peak_rss_mib(),
        anon.peak_mib,
        dt.date.today().isoformat(),
        version,
    )
    _build_file(path).write_text(json.dumps(asdict(info)))
    return info


def _build_file(path: Path) -> Path:
    """Beside a kept store: how it was built, so a run that reuses it can still say."""
    return path.with_name(path.name + ".build.json")


def kept_build(path: Path) -> BuildInfo | None:
    try:
        return BuildInfo(**json.loads(_build_file(path).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def check_build(workdir: Path, n: int, corpus: Corpus) -> str:
    """The bulk build against ``dedup_store`` over the same articles: every table equal."""
    from store import dedup_store, open_store
    from store.dedup import load_store

    bulk, real = workdir / f"check-bulk-{n}.db", workdir / f"check-pass-{n}.db"
    for p in (bulk, real):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    with open_store(bulk) as st:
        load_store(st, base_records(corpus, n))
    with open_store(real) as st:
        with st.transaction():
            for rec in base_records(corpus, n):
                st.add_article(rec)
        t0 = time.perf_counter()
        dedup_store(st, batch_size=n)
        seconds = time.perf_counter() - t0
    tables = {  # each table and its write tier as one
        "all_article_lines": "*",
        "boilerplate": "*",
        "signatures": "*",
        "all_anchors": "*",
        "edges": "*",
        "clusters": "*",
        "memberships": "*",
        "all_lsh_bands": "*",
    }
    differ = []
    a, b = sqlite3.connect(bulk), sqlite3.connect(real)
    for table, cols in tables.items():
        sql = f"SELECT {cols} FROM {table}"
        if sorted(a.execute(sql).fetchall()) != sorted(b.execute(sql).fetchall()):
            differ.append(table)
    for p in (bulk, real):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    return (
        f"`--check-build` at {n:,} articles: the bulk-built store and one `dedup_store` "
        f"pass over the same articles ({seconds:.0f} s) hold "
        + (
            "the same rows in every dedup table."
            if not differ
            else f"DIFFERENT rows in {', '.join(differ)}."
        )
    )


class AnonPeak:
    """The highest anonymous RSS (RssAnon) this process reaches while inside, sampled every
    0.2 s. VmHWM also counts pages of memory-mapped files (the bulk load's 3-gram sets),
    which the kernel drops under pressure; the anonymous part is what must fit in RAM."""

    def __init__(self) -> None:
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_mib = max(self.peak_mib, _status_mib("RssAnon"))
            if self._stop.wait(0.2):
                return

    def __enter__(self) -> AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM: ``ru_maxrss`` carries a forking parent's)."""
    return _status_mib("VmHWM")


def _status_mib(field: str, source: str = "/proc/self/status") -> float:
    """A memory field of /proc/self/status (or /proc/meminfo), in MiB (0 where the kernel
    has none)."""
    for line in Path(source).read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --------------------------------------------------------------------------- cron runs

# A ``newsdedup dedup --store`` process, as a cron line runs it, with the pass timed inside
# it and its own peak RSS reported at exit. The pass's file reads and writes (``rchar`` and
# ``wchar`` of /proc/self/io: SQLite's page reads, WAL frames and checkpoints, whether the
# OS served them from its page cache or the disk) show what grows with the store.
# ``argv[2]`` may override the write tier's policy (names in ``store.dedup._pass``), so that
# peers run in the same benchmark.
CHILD = r"""
import atexit, json, sys, time
import crawler._pipeline as pipeline
import importlib
import store.dedup._pass as engine
from crawler.cli import main
for name, value in json.loads(sys.argv[2]).items():
    module, _, attr = name.rpartition(":")
    setattr(importlib.import_module(module) if module else engine, attr, value)
stats = {}
real = pipeline.dedup_store
def io():
    return {k: int(v) for k, v in (x.split(": ") for x in open("/proc/self/io"))}
def timed(*args, **kwargs):
    t0, c0, io0 = time.perf_counter(), time.process_time(), io()
    r = real(*args, **kwargs)
    io1 = io()
    stats.update(pass_s=time.perf_counter() - t0, pass_cpu=time.process_time() - c0,
                 read_mib=(io1["rchar"] - io0["rchar"]) / 2**20,
                 written_mib=(io1["wchar"] - io0["wchar"]) / 2**20,
                 signed=r.signed, joined=r.joined, new_clusters=r.new_clusters,
                 compactions=r.compactions, tiers_filled=r.tiers_filled,
                 boilerplate=r.boilerplate,
                 compared=r.compared)
    return r
pipeline.dedup_store = timed
def report():
    hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:"))
    stats.update(peak_rss_mib=hwm / 1024, cpu_s=time.process_time())
    sys.stderr.write("BENCH " + json.dumps(stats) + "\n")
atexit.register(report)
if len(sys.argv) > 3:
    import cProfile
    cProfile.run('main(["dedup", "--store", sys.argv[1]])', sys.argv[3])
    sys.exit(0)
sys.exit(main(["dedup", "--store", sys.argv[1]]))
"""

# Write-tier policies run beside the shipped one (names in ``store.dedup._pass``).
PEERS = {
    "none: bands straight into lsh_bands (before the tier)": {
        "RECENT_SHARE": 0.0,
        "RECENT_FLOOR": 1,
        "RECENT_CAP": 0,
    },
    "a fixed 1.5M rows (before this policy)": {
        "RECENT_SHARE": 1e18,
        "RECENT_FLOOR": 0,
        "RECENT_CAP": 1_500_000,
        "FOLD_SHARE": 0,
    },
    "one write tier per fold (schema 12)": {"FOLD_SHARE": 0},
    # no main table filtered: every key looked up in the main tables, as before schema 14
    "no key filters (before them)": {"store.backends._sqlite:_FILTERED": {}},
}


def one_run(
    path: Path,
    corpus: Corpus,
    run: int,
    policy: dict,
    profile: Path | None = None,
    pool: Pool | None = None,
) -> dict:
    """Add 1,000 articles (the crawl's part, not timed), then one dedup process."""
    from store import open_store

    batch = new_batch(corpus, path, run, pool)
    with open_store(path) as st, st.transaction():
        for rec in batch:
            st.add_article(rec)
    cmd = [sys.executable, "-c", CHILD, str(path), json.dumps(policy)]
    cmd += [str(profile)] if profile else []
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - t0
    lines = [x for x in done.stderr.splitlines() if x.startswith("BENCH ")]
    if done.returncode or not lines:
        raise RuntimeError(f"dedup run failed:\n{done.stdout}\n{done.stderr}")
    out = json.loads(lines[-1].removeprefix("BENCH "))
    out["process_s"] = wall
    con = sqlite3.connect(path)
    rows = [int(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in LSH.tiers]
    out["recent_rows"], out["full_tier_rows"] = rows[0], sum(rows[1:])
    out["tier_rows"] = rows
    out["articles"] = int(con.execute("SELECT MAX(id) FROM articles").fetchone()[0])
    con.close()
    out["wal_mib"] = _size(Path(f"{path}-wal")) / 2**20
    return out


def warm_up(workdir: Path, corpus: Corpus) -> None:
    """One untimed cron run on a small store first: numba compiles the engine's kernels
    into its cache on the first run after an install or a source change (about 7 s),
    which a deployment pays once, not every quarter hour."""
    from store import open_store

    path = workdir / "warm-up.db"
    _remove(path)
    try:
        with open_store(path) as st, st.transaction():
            for rec in base_records(corpus, 200):
                st.add_article(rec)
        one_run(path, corpus, 999, {})
    finally:
        _remove(path)


def measure_cycle(
    path: Path,
    corpus: Corpus,
    first_run: int,
    policy: dict,
    *,
    max_runs: int,
    fixed_runs: int,
    label: str,
    log: Path | None = None,
    between: Callable[[], object] | None = None,
    after_fold: int = 0,
    built: int | None = None,
) -> list[dict]:
    """Consecutive runs from empty write tiers through the run that folds them (and
    ``after_fold`` more: a store whose tiers were that many runs full when it began).

    A run that leaves the tier empty without compacting has no tier (bands went straight
    into the main index): every run costs the same, and ``fixed_runs`` of them are taken.
    Each run is also appended to ``log`` (JSON lines), so that a cycle cut short still
    tells what it measured. Runs copy stored articles from the ``built`` ones and those
    the cycle added (``Pool``); None: from all.
    """
    runs: list[dict] = []
    folded = None
    pool = Pool(built, _articles(path)) if built else None
    for k in range(max_runs):
        r = one_run(path, corpus, first_run + k, policy, pool=pool)
        runs.append(r)
        print(
            f"  [{label}] run {k + 1}: pass {r['pass_s']:.3f} s (CPU {r['pass_cpu']:.3f}), process "
            f"{r['process_s']:.3f} s (CPU {r['cpu_s']:.3f}), RSS {r['peak_rss_mib']:.0f} MiB, "
            f"{r.get('compared', 0):,} compared, joined "
            f"{r['joined']}/{r['signed']}, tier {r['recent_rows']:,} rows, "
            f"other tiers {r['full_tier_rows']:,}"
            + (", NEXT TIER" if r["tiers_filled"] else "")
            + (", COMPACTED" if r["compactions"] else ""),
            flush=True,
        )
        if log:
            _log_run(log, label, k + 1, r)
        if between:
            between()
        if folded is None and _cycle_ends(r, len(runs), fixed_runs):
            folded = len(runs)
        if folded is not None and len(runs) >= folded + after_fold:
            break
    return runs


def _log_run(log: Path, label: str, number: int, run: dict) -> None:
    """Append a run to the JSON-lines log, so that a cycle cut short still tells."""
    with log.open("a") as f:
        f.write(json.dumps({"label": label, "run": number, **run}) + "\n")


def _cycle_ends(run: dict, runs: int, fixed_runs: int) -> bool:
    """Whether ``run``, the cycle's ``runs``-th, ends it: it folded the tiers, or the
    policy has no tier and the cycle has its ``fixed_runs``."""
    no_tier = not (run["compactions"] or run["recent_rows"] or run["full_tier_rows"])
    return bool(run["compactions"]) or (no_tier and runs >= fixed_runs)


class InTurns:
    """The base size's cron runs taken in turns with a larger size's, one after each.

    Every run of a size costs a quarter more on one day than on another, and a tenth more
    in one hour than in the next; a base measured before or after the large size's cycle
    (17 minutes at 10M) moved the ratio across the target and back. Taken in turns, the
    two sizes share the machine's state run for run. Each of the base's cycles runs on a
    fresh copy of its built store with the same batches, as its repeats do; only whole
    cycles count, so the base's last cycle is finished after the large size's ends."""

    def __init__(
        self,
        built: Path,
        corpus: Corpus,
        first_run: int,
        fixed_runs: int,
        max_runs: int,
        log: Path,
        every: int = 1,
    ):
        self.built, self.corpus, self.first_run = built, corpus, first_run
        self.fixed_runs, self.max_runs, self.log = fixed_runs, max_runs, log
        self.work = built.with_name(f"turns-{built.name}")
        self.cycles: list[Cycle] = []
        self.runs: list[dict] = []
        self.every, self.calls = every, 0

    def __call__(self) -> dict | None:
        """One base run after every ``every`` runs of the larger size."""
        self.calls += 1
        return self.run() if self.calls % self.every == 0 else None

    def run(self) -> dict:
        if not self.runs:
            _copy_store(self.built, self.work)
        r = one_run(self.work, self.corpus, self.first_run + len(self.runs), {})
        self.runs.append(r)
        _log_run(self.log, "in turns", len(self.runs), r)
        if _cycle_ends(r, len(self.runs), self.fixed_runs) or len(self.runs) >= self.max_runs:
            label = f"in turns, cycle {len(self.cycles) + 1}"
            self.cycles.append(Cycle(label, self.runs))
            print(
                f"  [{label}] {len(self.runs)} runs: pass CPU "
                f"{self.cycles[-1].mean('pass_cpu'):.3f} s, whole process CPU "
                f"{self.cycles[-1].mean('cpu_s'):.3f} s",
                flush=True,
            )
            self.runs = []
            _remove(self.work)
        return r

    def finish(self) -> list[Cycle]:
        """Complete the base's cycle under way (alone), then its whole cycles."""
        while self.runs:
            self.run()
        return self.cycles


@dataclass
class Cycle:
    label: str
    runs: list[dict]

    def mean(self, key: str) -> float:
        return statistics.fmean(r[key] for r in self.runs)

    @property
    def compacting(self) -> dict | None:
        return next((r for r in self.runs if r["compactions"]), None)

    @property
    def peak_rss(self) -> float:
        return max(r["peak_rss_mib"] for r in self.runs)


@dataclass
class SizeResult:
    size: int
    build: BuildInfo | None
    file_gib: float
    cycle: Cycle
    peers: list[Cycle] = field(default_factory=list)
    profile: dict[str, float] = field(default_factory=dict)
    repeats: list[Cycle] = field(default_factory=list)  # the shipped cycle again (the base)
    turns: list[Cycle] = field(default_factory=list)  # the base's, taken in turns with this


def measure_size(n: int, args: argparse.Namespace, corpus: Corpus, repeats: int = 1) -> SizeResult:
    """Build (or reuse) the store of ``n`` articles, then each policy's cycle on a copy of
    it, so that every policy starts from the same store and the built one stays as built
    (``--keep`` reuses it). The shipped policy's cycle runs ``repeats`` times, each on a
    fresh copy, and the one with the median pass CPU stands for the size: the base size's
    cycle is a few runs of a couple of seconds, and one slow spell of the machine moved
    its mean by a tenth, and every ratio with it."""
    path = args.workdir / f"store-{n}.db"
    in_place = n in args.in_place
    # an in-place size listed again runs its next cycle on the store the last one left
    again = in_place and args.cycles_done.get(n, 0) > 0
    args.cycles_done[n] = args.cycles_done.get(n, 0) + 1
    last = args.cycles_done[n] == args.sizes_list.count(n)
    build = None
    held = _articles(path) if args.keep and path.exists() else -1
    if again:
        print(f"[{n:,}] cycle {args.cycles_done[n]} on {path}", flush=True)
    elif held == n or (in_place and held > n):
        # an in-place store kept from an earlier cycle is taken as that cycle left it
        print(f"[{n:,}] reusing {path} ({held:,} articles)", flush=True)
        build = kept_build(path)
    else:
        print(f"[{n:,}] building {path} ...", flush=True)
        build = build_store(path, n, args.jobs, args.spill or args.workdir, corpus, args.page_size)
        print(
            f"[{n:,}] built in {build.seconds:.0f} s, {build.file_gib:.2f} GiB, "
            f"peak RSS {build.peak_rss_mib:.0f} MiB, rows {build.rows}",
            flush=True,
        )
    file_gib = path.stat().st_size / 2**30
    # the run seeds: the same batches for every policy at this size; an in-place store
    # draws new ones for each cycle, seeded by its article count (each run adds 1,000):
    # batches drawn again are copies of stored articles, nearly all of which join a
    # story (a kept 10M store's next cycle began so: 99% joined, 2.5x the pairs)
    base = 1_000_000 + (_articles(path) if in_place else n)
    policies = [
        (label, policy)
        for label, policy in PEERS.items()
        if n in args.peers_at and any(p in label for p in args.peer)
    ]
    cycles = []
    profile: dict[str, float] = {}
    work = args.workdir / f"work-{n}.db"
    shipped = [("shipped policy", {})] * repeats
    if in_place:  # one cycle on the built store itself, which it then holds more than n
        policies, shipped, work = [], shipped[:1], path
    turns = None
    if args.interleave and n != args.base_size:
        turns = InTurns(
            args.workdir / f"store-{args.base_size}.db",
            corpus,
            1_000_000 + args.base_size,
            args.runs,
            args.max_runs,
            args.workdir / "runs.jsonl",
            args.turn_every,
        )
    print(f"[{n:,}] {key_filters(path)}", flush=True)
    for label, policy in [*policies, *shipped]:
        if not in_place:
            _copy_store(path, work)
        try:
            warmed = (
                "not read through (--no-read-through)"
                if args.no_read_through
                else read_through(work)
            )
            print(f"[{n:,}] before the cycle: {warmed}", flush=True)
            runs = measure_cycle(
                work,
                corpus,
                base,
                policy,
                max_runs=args.max_runs,
                fixed_runs=args.runs,
                label=f"{n:,}, {label}",
                log=args.workdir / "runs.jsonl",
                between=turns if turns and not policy else None,
                after_fold=args.after_fold if in_place else 0,
                built=n,
            )
            cycles.append(Cycle(label, runs))
            # after the last cycle: from an empty tier again
            if args.profile and not policy and len(cycles) == len(policies) + len(shipped):
                prof = args.workdir / f"profile-{n}.pstats"
                one_run(work, corpus, base + len(runs), {}, profile=prof)
                profile = breakdown(prof)
                print(f"[{n:,}] profile: {profile}", flush=True)
        finally:
            if not in_place:
                _remove(work)
    done = last and not args.keep if in_place else not args.keep
    if done and not (args.interleave and n == args.base_size):
        _remove(path)
    mine = sorted(cycles[len(policies) :], key=lambda c: c.mean("pass_cpu"))
    median = mine[(len(mine) - 1) // 2]
    others = [c for c in mine if c is not median]
    return SizeResult(
        n,
        build,
        file_gib,
        median,
        cycles[: len(policies)],
        profile,
        others,
        turns.finish() if turns else [],
    )


def read_through(path: Path) -> str:
    """Start from the OS page cache, as a store a cron job opens every quarter hour does.

    A store that fits in the free memory is read through once. One that does not (10M:
    45 GiB on a 23 GiB machine) is not: reading it through would leave its last pages
    cached, mostly article texts, and the first runs of the cycle paid for it (3.2-4.2 s
    of pass CPU against a median of 3.04 s after them). Instead its indexes, which every
    run reads at random keys (about 1.3 GiB per million articles), are scanned, as the
    page cache of a machine that runs the job keeps them. A kept store built by an older
    schema is upgraded first, as the first cron run after an upgrade would (untimed).
    """
    from store import open_store

    with open_store(path):
        pass
    size = path.stat().st_size
    if size < _status_mib("MemAvailable", "/proc/meminfo") * 2**20 * 0.8:
        with open(path, "rb", buffering=0) as f:
            while f.read(16 << 20):
                pass
        return "the store file read through"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for sql in HOT_SCANS:
            con.execute(sql).fetchall()
    finally:
        con.close()
    return "its indexes scanned (the file is larger than the free memory)"


# Full scans of what a run reads at random keys: the LSH bands, the anchors and the lines
# by key (each in its main table and write tiers; the main lines in their index by key)
# and their counts, the pairs, memberships and clusters. A range on the key makes SQLite
# walk the table's own B-tree, not a covering index beside it.
HOT_SCANS = [
    *(f"SELECT COUNT(article_id) FROM {t} WHERE band >= 0" for t in LSH.tables),
    *(f"SELECT COUNT(article_id) FROM {t} WHERE anchor >= {-(2**63)}" for t in ANCHORS.tables),
    f"SELECT COUNT(article_id) FROM few_anchors WHERE anchor >= {-(2**63)}",
    "SELECT COUNT(sample_key) FROM article_lines INDEXED BY article_lines_by_key",
    *(f"SELECT COUNT(sample_key) FROM {t} WHERE key >= {-(2**63)}" for t in LINES.tiers),
    "SELECT COUNT(n) FROM line_counts",
    "SELECT COUNT(copy) FROM edges",
    "SELECT COUNT(similarity) FROM memberships",
    "SELECT COUNT(representative) FROM clusters",
]


# Where a run's time goes: (label, function name, file) of the pass's steps, in cProfile.
STEPS = [
    ("lines and boilerplate", "_store_lines", "_pass.py"),
    ("", "_relearn", "_pass.py"),
    ("signing", "_sign", "_pass.py"),
    ("candidates: verified pairs", "_link", "_pass.py"),
    ("of which LSH lookups", "band_matches", "_base.py"),
    ("of which anchor lookups", "anchor_matches", "_engine.py"),
    ("of which the candidates' texts and contents", "_content", "_pass.py"),
    ("clusters", "_recluster", "_pass.py"),
    ("compaction", "_compact", "_pass.py"),
    ("the pass", "dedup_store", "_pass.py"),
]


def breakdown(path: Path) -> dict[str, float]:
    """Cumulative seconds of the pass's steps in a cProfile run, and what they counted."""
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    label = ""
    for name, func, file in STEPS:
        label = name or label
        out.setdefault(label, 0.0)
        for (f, _, fn), (_, _, _, cum, callers) in stats.items():
            if fn == func and f.endswith(file):
                if func == "_content":  # only what _link asked for: the candidates
                    cum = sum(v[3] for k, v in callers.items() if k[2] == "_link")
                out[label] += cum
    for key, func in (("contents computed", "content_of"), ("pairs verified", "compare")):
        out[key] = sum(v[1] for (_, _, fn), v in stats.items() if fn == func)
    return out


def _copy_store(src: Path, dst: Path) -> None:
    con = sqlite3.connect(src)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    _remove(dst)
    shutil.copyfile(src, dst)
    if Path(f"{src}-keys").exists():  # the key filters stand for the copy too
        shutil.copyfile(f"{src}-keys", f"{dst}-keys")


def key_filters(path: Path) -> str:
    """The main tables' key filters of a store large enough to have write tiers, built
    where none stand for it (a build, or a store from before them), as its first fold
    would: timed, and said, since the cycle measured then starts with them."""
    from store import DedupConfig, open_store
    from store.dedup._pass import recent_limit

    with open_store(path) as st:
        if not recent_limit(st.band_index_rows(DedupConfig().lsh.bands, 0)):
            return "no write tiers at this size: no key filters"
        if st._key_filters() is not None:
            return f"key filters standing ({_size(st.key_filter_path) / 2**20:,.0f} MiB)"
        t0, c0 = time.perf_counter(), time.process_time()
        st.build_key_filters()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return (
            f"key filters built in {wall:.1f} s ({cpu:.1f} s CPU), "
            f"{_size(st.key_filter_path) / 2**20:,.0f} MiB"
        )


def _remove(path: Path) -> None:
    tiers = [f"-keys-tier{slot}" for slot in range(TIERS)]
    for suffix in ("", "-wal", "-shm", ".lock", "-keys", *tiers):
        for name in (f"{path}{suffix}", f"{path}{suffix}.tmp"):
            Path(name).unlink(missing_ok=True)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _articles(path: Path) -> int:
    try:
        return int(sqlite3.connect(path).execute("SELECT MAX(id) FROM articles").fetchone()[0])
    except (sqlite3.Error, TypeError):
        return -1


# --------------------------------------------------------------------------- report


def render_section(
    results: list[SizeResult],
    notes: list[str],
    args: argparse.Namespace,
    load: tuple[str, str],
    date: str | None = None,
) -> str:
    from store.dedup import DedupConfig
    from store.dedup._pass import RECENT_CAP, RECENT_FLOOR, RECENT_SHARE

    base = results[0].cycle
    bands = DedupConfig().lsh.bands
    lines = [
        f"Date {date or dt.date.today().isoformat()}; nproc {os.cpu_count()} (shared with other "
        f"work: load average {load[0]} before, {load[1]} after); Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, numpy {np.__version__}. "
        f"`benchmarks/bench_incremental.py --sizes {','.join(str(r.size) for r in results)}"
        + (f" --page-size {args.page_size}" if args.page_size else "")
        + "`.",
        "",
        f"Each run, as on a cron line: {BATCH:,} new articles are added with "
        f"`Store.add_article` (the crawl's part, not timed: {NEW_STORED_COPIES} edited copies "
        "of random stored articles, the built ones and those the cycle added, "
        f"{NEW_BATCH_COPIES} copies of other new articles, the "
        "rest fresh stories), then a fresh `newsdedup dedup --store` process runs. *Pass* "
        "is `dedup_store` timed inside that process; *process* is the whole process from "
        "spawn to exit (interpreter, imports, run lock, store open, pass), and peak RSS its "
        "own high-water mark (VmHWM). Runs follow one another without any reset through one "
        "whole compaction cycle of the write tiers, from empty tiers (as the bulk build "
        "leaves them) to the run that folds them into the main tables; the mean over the "
        "cycle, the fold included, is what a deployment pays per run. The write tier "
        f"policy: a tier takes {RECENT_SHARE:.4g} of the index's rows, at least "
        f"{RECENT_FLOOR:,} and at most {RECENT_CAP:,} ({bands} band rows per article); "
        "where the cap holds it under that share, the next tier takes new rows, and the "
        f"fold comes once the tiers hold about that share, {TIERS} tiers at most "
        "(`store.dedup._pass.tiers_per_fold`).",
        "",
        "CPU seconds (the process's own user + system time) move less than wall seconds "
        "with the other work on the machine, and are shown beside them.",
        "",
        "| store size | store file | runs in the cycle | pass, mean (CPU) | vs first "
        "(CPU) | whole process, mean (CPU) | vs first (CPU) | the compacting run (pass) "
        "| peak RSS "
        "| joined / new (≈ 400 expected) | candidate pairs verified, mean "
        "| pass file reads / writes, mean |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r.cycle
        comp = c.compacting
        compacting = f"{comp['pass_s']:.3f} s" if comp else "–"
        lines.append(
            f"| {_label(r)} | {r.file_gib:.2f} GiB | {len(c.runs)} "
            f"| {c.mean('pass_s'):.3f} s ({c.mean('pass_cpu'):.3f} s) "
            f"| {c.mean('pass_s') / base.mean('pass_s'):.2f}× "
            f"({c.mean('pass_cpu') / base.mean('pass_cpu'):.2f}×) "
            f"| {c.mean('process_s'):.3f} s ({c.mean('cpu_s'):.3f} s) "
            f"| {c.mean('process_s') / base.mean('process_s'):.2f}× "
            f"({c.mean('cpu_s') / base.mean('cpu_s'):.2f}×) "
            f"| {compacting} | {c.peak_rss:.0f} MiB "
            f"| {statistics.fmean(x['joined'] for x in c.runs):.0f} / {BATCH} "
            f"| {statistics.fmean(x.get('compared', 0) for x in c.runs):,.0f} "
            f"| {_file_io(c)} |"
        )
    if results[0].repeats:
        every = sorted([base, *results[0].repeats], key=lambda c: c.mean("pass_cpu"))
        lines += [
            "",
            f"The {results[0].size:,} row is the median of {len(every)} cycles, each on a "
            "fresh copy of its store, and is every ratio's base. Their pass CPU means: "
            + ", ".join(f"{c.mean('pass_cpu'):.3f} s" for c in every)
            + "; whole process CPU: "
            + ", ".join(f"{c.mean('cpu_s'):.3f} s" for c in every)
            + ".",
        ]
    for r in results:
        if r.turns:
            lines += ["", _turns_line(r, results[0].size)]
    peers = [(r, p) for r in results for p in [*r.peers, r.cycle] if r.peers]
    if peers:
        lines += [
            "",
            "The write tier's policy against its peers, in the same benchmark, each "
            "on a copy of the same freshly built store:",
            "",
            "| store size | LSH write tier | runs | pass, mean (CPU) | whole process, mean "
            "(CPU) | the compacting run (pass) | vs the shipped policy: process (CPU) |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for r, p in peers:
            comp = p.compacting
            lines.append(
                f"| {r.size:,} | {p.label} | {len(p.runs)} "
                f"| {p.mean('pass_s'):.3f} s ({p.mean('pass_cpu'):.3f} s) "
                f"| {p.mean('process_s'):.3f} s ({p.mean('cpu_s'):.3f} s) | "
                + (f"{comp['pass_s']:.3f} s" if comp else "–")
                + f" | {p.mean('process_s') / r.cycle.mean('process_s'):.2f}× "
                f"({p.mean('cpu_s') / r.cycle.mean('cpu_s'):.2f}×) |"
            )
    profiled = [r for r in results if r.profile]
    if profiled:
        cols = [label for label, _, _ in STEPS if label]
        lines += [
            "",
            "Where a run's time goes: one more run per size after the cycle (from an "
            "empty tier), under cProfile, which slows Python code more than SQLite's, "
            "so the seconds are inflated and the shares indicative. *Contents* counts "
            "the texts made comparable (the new articles' and their candidates'), "
            "*pairs* the candidate pairs verified on 3-grams:",
            "",
            "| store size | " + " | ".join(cols) + " | contents | pairs |",
            "|---:|" + "---:|" * (len(cols) + 2),
        ]
        for r in profiled:
            cells = [f"{r.profile.get(c, 0.0):.2f} s" for c in cols]
            lines.append(
                f"| {r.size:,} | "
                + " | ".join(cells)
                + f" | {r.profile['contents computed']:,.0f}"
                + f" | {r.profile['pairs verified']:,.0f} |"
            )
    builds = [r for r in results if r.build]
    if builds:
        lines += [
            "",
            "The stores were built with `store.dedup.load_store` (the batch engine "
            "over all articles, each table written once in key order, secondary "
            f"indexes built after; {args.jobs} worker processes), from deterministic "
            f"synthetic articles: 250-400 words from a {VOCAB:,}-word Zipf (s=1) "
            f"vocabulary in sentences and paragraphs, at {HOSTS} outlets "
            f"({FOOTER_SHARE:.0%} with a footer paragraph, {BYLINE_SHARE:.0%} with a "
            f"dated byline), {COPY_SHARE:.0%} of them edited near-copies of a recent "
            "earlier article:",
            "",
            "| store size | built (schema) | build time | per 1,000 articles | peak RSS "
            "(anonymous) | store file | article lines | LSH band rows | anchors "
            "| verified pairs |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in builds:
            b = r.build
            lines.append(
                f"| {r.size:,} | {b.date or '?'} ({b.schema or '?'}) "
                f"| {b.seconds:,.0f} s | {b.seconds / r.size * 1000:.2f} s "
                f"| {b.peak_rss_mib:,.0f} MiB "
                + (f"({b.peak_anon_mib:,.0f} MiB) " if b.peak_anon_mib else "(not sampled) ")
                + f"| {b.file_gib:.2f} GiB "
                f"| {b.rows['article_lines']:,} | {b.rows['lsh_bands']:,} "
                f"| {b.rows['anchors']:,} | {b.rows['edges']:,} |"
            )
    lines += [""] + [f"- {n}" for n in notes + (args.note or [])]
    return "\n".join(lines).rstrip() + "\n"


def _label(r: SizeResult) -> str:
    """A size's name in the tables; a later in-place cycle's says where it started."""
    start = r.cycle.runs[0].get("articles", BATCH) - BATCH  # before the cycle's first run
    return f"{r.size:,}" + (f" (from {start:,})" if start > r.size else "")


def _turns_line(r: SizeResult, base_size: int) -> str:
    """The ratios of ``r`` against the base size's cycles taken in turns with it
    (``--interleave``): against the mean of all their runs, and the range over cycles."""
    c, every = r.cycle, [x for t in r.turns for x in t.runs]

    def ratios(key: str) -> str:
        base = statistics.fmean(x[key] for x in every)
        spread = sorted(c.mean(key) / t.mean(key) for t in r.turns)
        return (
            f"{base:.3f} s, so {_label(r)} at **{c.mean(key) / base:.2f}x** "
            f"({spread[0]:.2f}x-{spread[-1]:.2f}x against single cycles)"
        )

    return (
        f"At {_label(r)}, the {base_size:,} store's runs taken in turns with the cycle's "
        f"(`--interleave`): {len(r.turns)} whole cycle{'s' * (len(r.turns) > 1)}, "
        f"{len(every)} runs. Pass CPU "
        f"{ratios('pass_cpu')}; whole process CPU {ratios('cpu_s')}."
    )


def _file_io(c: Cycle) -> str:
    """Mean MiB a pass read and wrote through file calls ('–' in results saved before the
    benchmark recorded them)."""
    if not all("read_mib" in x for x in c.runs):
        return "–"
    return f"{c.mean('read_mib'):,.0f} / {c.mean('written_mib'):,.0f} MiB"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="comma-separated store sizes; the first is the ratios' base",
    )
    ap.add_argument(
        "--runs",
        type=int,
        default=15,
        help="runs taken where a policy has no write tier (no cycle to end): the base "
        "size's, whose mean every ratio divides by",
    )
    ap.add_argument("--max-runs", type=int, default=200, help="a cycle's longest run count")
    ap.add_argument(
        "--base-repeats",
        type=int,
        default=3,
        help="cycles of the first size (each on a fresh copy); the median one is the base",
    )
    ap.add_argument(
        "--peers-at",
        default="10000",
        help="sizes at which the write tier's peers run too (comma-separated)",
    )
    ap.add_argument(
        "--peer",
        action="append",
        default=[],
        help="run only the peers whose label holds this text (repeatable; default: all)",
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="build workers")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    ap.add_argument(
        "--spill",
        type=Path,
        help="where a build spills its bands, anchors, pairs and 3-gram sets (default: "
        "--workdir; about 2 GiB per million articles: 20 GiB at its peak for 10M)",
    )
    ap.add_argument(
        "--in-place",
        default="",
        help="sizes whose cycle runs on the built store itself, not on a copy, and which "
        "are removed after it (comma-separated): a 10M store is 45 GiB, and a copy would "
        "need as much again. Such a size listed twice in --sizes runs a second cycle on "
        "the store the first left, to show a store that has been through a fold, not "
        "only the bulk build's packed one. With --keep the store is kept, and one kept "
        "from earlier cycles (more than the size's articles) runs its next cycle as it "
        "stands, from wherever its write tiers are",
    )
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) the built stores")
    ap.add_argument(
        "--page-size",
        type=int,
        default=0,
        help="the page size of the stores this run builds, in bytes (default: the store's "
        "own, 16,384; SQLite's default, which stores made before had, is 4,096); a kept "
        "store keeps the one it was built with",
    )
    ap.add_argument(
        "--interleave",
        action="store_true",
        help="take the first size's runs in turns with each larger size's (one after each "
        "of its runs) and divide by those: both then share the machine's state",
    )
    ap.add_argument(
        "--no-read-through",
        action="store_true",
        help="start a cycle without reading the store or its indexes through first: where "
        "the key filters were just built, that scan read the main tables (minutes at 10M)",
    )
    ap.add_argument(
        "--turn-every",
        type=int,
        default=1,
        help="with --interleave, one base run after every N runs of the larger size (a "
        "10M cycle with a 10k run after each of its runs took an hour)",
    )
    ap.add_argument(
        "--after-fold",
        type=int,
        default=0,
        help="an --in-place store kept with its write tiers already N runs full: measure "
        "one whole period of its cycle, through the fold and N runs after it",
    )
    ap.add_argument(
        "--check-build",
        action="store_true",
        help="first prove the bulk build equals dedup_store at 5,000 articles",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="profile one extra run per size (cProfile, printed, not timed)",
    )
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--note", action="append", help="a line to add under the tables")
    ap.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="write the section from a run's saved results, without running",
    )
    args = ap.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        args.jobs = saved["jobs"]
        results = [
            SizeResult(
                r["size"],
                BuildInfo(**r["build"]) if r["build"] else None,
                r["file_gib"],
                Cycle(**r["cycle"]),
                [Cycle(**c) for c in r["peers"]],
                r["profile"],
                [Cycle(**c) for c in r.get("repeats", [])],
                [Cycle(**c) for c in r.get("turns", [])],
            )
            for r in saved["results"]
        ]
        section = render_section(results, saved["notes"], args, tuple(saved["load"]), saved["date"])
        print(section)
        if not args.no_write:
            write_section(HEADING, section)
        return
    args.peers_at = {int(s) for s in args.peers_at.split(",") if s}
    args.peer = args.peer or [""]
    args.in_place = {int(s) for s in args.in_place.split(",") if s}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus = Corpus()
    notes = []
    if args.in_place:
        sizes = ", ".join(f"{n:,}" for n in sorted(args.in_place))
        notes.append(
            f"At {sizes} the cycle ran on the built store itself (`--in-place`), "
            "without peers or repeats."
        )
    load_before = _load()
    if args.check_build:
        notes.append(check_build(args.workdir, 5_000, corpus))
        print(notes[-1], flush=True)
    warm_up(args.workdir, corpus)
    sizes = [int(s) for s in args.sizes.split(",")]
    args.base_size, args.sizes_list, args.cycles_done = sizes[0], sizes, {}
    try:
        results = [
            measure_size(n, args, corpus, args.base_repeats if i == 0 else 1)
            for i, n in enumerate(sizes)
        ]
    finally:
        if args.interleave and not args.keep:
            _remove(args.workdir / f"store-{args.base_size}.db")
    load = (load_before, _load())
    saved = args.workdir / "bench-incremental.json"
    saved.write_text(
        json.dumps(
            {
                "jobs": args.jobs,
                "notes": notes,
                "load": load,
                "date": dt.date.today().isoformat(),
                "results": [asdict(r) for r in results],
            },
            indent=1,
        )
    )
    print(f"raw results in {saved}", flush=True)
    section = render_section(results, notes, args, load)
    print(section)
    if not args.no_write:
        write_section(HEADING, section)


def _load() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
