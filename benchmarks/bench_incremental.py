"""Benchmark: the cost of one incremental dedup pass as the store grows (issue 6).

For each store size N (10k, 100k, 1M generated articles) a store is bulk-built, then a
fresh child process opens it, adds 1,000 new articles (copies of stored articles, copies of
each other and fresh stories), and times ``store.dedup``. The child's own peak RSS is the
memory figure. A child per run keeps one run's caches out of the next run's numbers.

The pre-existing content is built without ``dedup`` (which would take hours at 1M): each
chunk of articles is signed with the store's own ``MinHasher`` and ``band_buckets`` and the
same ``DedupConfig``, clusters come from replaying dedup's LSH search and ``place`` rule
inside each chunk, and the rows go into the store's own schema in big transactions.
``--check-build`` proves on the smallest size that this equals what ``dedup`` produces.

    .venv/bin/python benchmarks/bench_incremental.py                 # 10k, 100k, 1M
    .venv/bin/python benchmarks/bench_incremental.py --sizes 10000 --runs 1 --no-write
    .venv/bin/python benchmarks/bench_incremental.py --store-src /tmp/patched  # try a fix
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
from _results import replace_section as write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Incremental dedup cost (issue 6)"
DEFAULT_WORKDIR = Path("/tmp/newsdedup-bench")

SEED = 6
VOCAB = 50_000
CHUNK = 5_000  # articles generated and signed per worker task
COPY_SHARE = 0.2  # of the pre-built store: near-copies of an earlier article
BYTES_PER_ARTICLE = 6_000  # on disk, all tables and indexes; for the free-space check
HOSTS = 300
_PUNCT = frozenset({"(", ")", "-"})  # the only non-word tokens near_copy adds

# The 1,000 new articles of one run.
NEW_STORED_COPIES = 300  # edited copies of random stored articles: should join
NEW_BATCH_COPIES = 50  # edited copies of other new articles of the same batch: should join


# --------------------------------------------------------------------------- corpus


def _vocabulary(size: int) -> list[str]:
    """Pronounceable pseudo-words, shortest first, so the frequent ranks are short words."""
    # Distinct first words keep the streams apart: NumPy's SeedSequence treats trailing
    # zeros as absent, so [6, 99] and [6, 99, 0] would be one and the same stream.
    rng = np.random.default_rng([SEED, 1])
    onsets = ["", "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v",
              "w", "br", "ch", "st", "tr", "pl", "gr", "sh", "th"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "ie"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng"]
    words: dict[str, None] = {}
    syllables = 1
    while len(words) < size:
        for _ in range(size * 2):
            n = syllables + int(rng.integers(0, 2))
            w = "".join(onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))]
                        + codas[rng.integers(len(codas))] for _ in range(n))
            words[w] = None
            if len(words) >= size:
                break
        syllables += 1
    return sorted(words, key=lambda w: (len(w), w))


@dataclass
class Corpus:
    """Deterministic news-length texts over a Zipf (s=1) vocabulary."""

    vocab: list[str] = field(default_factory=lambda: _vocabulary(VOCAB))

    def __post_init__(self) -> None:
        p = 1.0 / np.arange(1, len(self.vocab) + 1, dtype=np.float64)
        self.cdf = np.cumsum(p / p.sum())

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
            out = out + ["reporting", "by"] + self.words(rng, 2) + ["editing", "by"] \
                + self.words(rng, 2)
        return out


def render(words: list[str], rng: np.random.Generator) -> str:
    """Sentences of 10-25 words, paragraphs of 2-5 sentences, like extracted article text."""
    paragraphs: list[str] = []
    sentences: list[str] = []
    i = 0
    while i < len(words):
        n = int(rng.integers(10, 26))
        s = " ".join(words[i : i + n])
        sentences.append(s[:1].upper() + s[1:] + ".")
        i += n
        if len(sentences) >= int(rng.integers(2, 6)) or i >= len(words):
            paragraphs.append(" ".join(sentences))
            sentences = []
    return "\n\n".join(paragraphs)


def _article_row(aid: int, text: str, rng: np.random.Generator, tag: str) -> tuple:
    host = f"www.paper{int(rng.integers(HOSTS))}.example"
    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=aid)
    stamp = day.isoformat(timespec="seconds")
    return (f"https://{host}/news/{tag}{aid}", host, host.split(".")[1], f"Story {tag}{aid}",
            stamp, stamp, text)


# --------------------------------------------------------------------------- bulk build


_WORKER: dict[str, object] = {}


def _worker_init(store_src: str) -> None:
    sys.path.insert(0, store_src)
    _WORKER["corpus"] = Corpus()


def build_chunk(index: int, size: int) -> dict:
    """Articles [index*CHUNK+1, ...] with their signatures, bands and memberships."""
    from store.dedup import DedupConfig
    from store.dedup._lsh import band_buckets
    from store.dedup._minhash import MinHasher, signature_to_bytes
    from store.dedup._placement import place
    from store.dedup._shingles import hashes_from_tokens

    corpus = _WORKER.get("corpus") or Corpus()
    cfg = DedupConfig()
    rng = np.random.default_rng([SEED, 2, index])
    first = index * CHUNK + 1
    words: list[list[str]] = []
    origin_of: list[int] = []
    for k in range(size):
        if k and rng.random() < COPY_SHARE:
            # Copies follow their original closely in time: mostly within the last 200.
            o = max(0, k - 1 - int(rng.exponential(60)))
            words.append(corpus.near_copy(rng, words[o]))
            origin_of.append(o)
        else:
            words.append(corpus.story(rng))
            origin_of.append(-1)
    texts = [render(w, rng) for w in words]
    # tokenize(render(w)) is w without the punctuation-only tokens (render adds only case
    # and full stops), so the shingle sets come from the word lists directly, skipping half
    # the cost of shingling; --check-build proves the signatures equal dedup's from text.
    sets = [hashes_from_tokens([t for t in w if t not in _PUNCT], cfg.shingle_size)
            for w in words]
    hasher = MinHasher(cfg.num_perm, cfg.seed, getattr(cfg, "minhash_scheme", "affine32"))
    sigs = hasher.signatures(sets)
    buckets = band_buckets(sigs, cfg.lsh)
    # The dedup pass replayed inside the chunk: the same LSH candidates and the same
    # placement rule, in id order. Copies never reach outside their chunk, so a candidate
    # from another chunk could only be an unverified false positive.
    index: dict[tuple[int, int], list[int]] = {}
    cluster_of: dict[int, int] = {}
    members_of: dict[int, list[int]] = {}
    members, joined = [], 0
    for k in range(size):
        keys = list(enumerate(buckets[k].tolist()))
        cands = sorted({c for key in keys for c in index.get(key, ())})
        p = place(k, sets[k], cands, cluster_of, members_of.__getitem__, sets.__getitem__,
                  cfg.thresholds)
        for key in keys:
            index.setdefault(key, []).append(k)
        cluster_of[k] = p.cluster_id
        members_of.setdefault(p.cluster_id, []).append(k)
        joined += p.cluster_id != k
        members.append((first + k, first + p.cluster_id, p.similarity, p.containment))
    return {
        "articles": [(first + k, *_article_row(first + k, texts[k], rng, "a"))
                     for k in range(size)],
        "signatures": [(first + k, cfg.scheme, len(sets[k]), signature_to_bytes(sigs[k]))
                       for k in range(size)],
        "buckets": buckets,
        "memberships": members,
        "copies": sum(1 for o in origin_of if o >= 0),
        "joined": joined,
    }


def _build_task(args: tuple[int, int]) -> dict:
    return build_chunk(*args)


@dataclass
class BuildInfo:
    articles: int
    seconds: float
    file_mib: float
    copies: int
    joined: int


def build_store(path: Path, n: int, jobs: int, store_src: str, *,
                dedup_check: bool = False) -> BuildInfo:
    """Create a store of n articles through the store's schema, bulk-loaded.

    lsh_bands is loaded in primary-key order with any secondary index dropped and then
    re-created from the schema's own SQL, which turns 37 random B-tree inserts per article
    into appends plus one sort.
    """
    from store import SQLiteStore

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    SQLiteStore(path).close()  # the store's own migrations make the schema
    t0 = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = MEMORY")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    # Any secondary index of lsh_bands (older schemas had one by article) is dropped for
    # the load and re-created from the schema's own SQL afterwards.
    index_sql = [sql for name, sql in con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'lsh_bands'"
        " AND sql IS NOT NULL")]
    for name, in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                             " AND tbl_name = 'lsh_bands' AND sql IS NOT NULL").fetchall():
        con.execute(f"DROP INDEX {name}")
    n_bands = None
    bands: list[np.ndarray] = []
    copies = joined = 0
    tasks = [(i, min(CHUNK, n - i * CHUNK)) for i in range((n + CHUNK - 1) // CHUNK)]
    ctx = mp.get_context("fork")
    with ctx.Pool(jobs, initializer=_worker_init, initargs=(store_src,)) as pool:
        con.execute("BEGIN")
        for chunk in pool.imap(_build_task, tasks):
            con.executemany(
                "INSERT INTO articles (id, url, host, publisher, title, published, fetched,"
                " text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", chunk["articles"])
            if not dedup_check:
                con.executemany("INSERT INTO signatures (article_id, scheme, shingles, minhash)"
                                " VALUES (?, ?, ?, ?)", chunk["signatures"])
                con.executemany("INSERT INTO memberships (article_id, cluster_id, similarity,"
                                " containment) VALUES (?, ?, ?, ?)", chunk["memberships"])
            b = chunk["buckets"]
            n_bands = b.shape[1]
            ids = np.array([r[0] for r in chunk["articles"]], dtype=np.int64)
            rows = np.empty((b.size, 3), dtype=np.int64)
            rows[:, 0] = np.tile(np.arange(n_bands), len(ids))
            rows[:, 1] = b.reshape(-1)
            rows[:, 2] = np.repeat(ids, n_bands)
            bands.append(rows)
            copies += chunk["copies"]
            joined += chunk["joined"]
        con.execute("COMMIT")
    if not dedup_check:
        all_rows = np.concatenate(bands)
        del bands
        order = np.lexsort((all_rows[:, 2], all_rows[:, 1], all_rows[:, 0]))
        all_rows = all_rows[order]
        del order
        con.execute("BEGIN")
        step = 1_000_000
        for s in range(0, len(all_rows), step):
            part = all_rows[s : s + step]
            con.executemany("INSERT INTO lsh_bands (band, bucket, article_id) VALUES (?, ?, ?)",
                            zip(*(part[:, j].tolist() for j in range(3)), strict=True))
        con.execute("COMMIT")
        del all_rows
    for sql in index_sql:
        con.execute(sql)
    con.execute("PRAGMA journal_mode = WAL")  # what SQLiteStore leaves a store in
    con.close()
    if dedup_check:
        from store import DedupConfig, dedup_store

        with SQLiteStore(path) as st:
            dedup_store(st, DedupConfig())
    seconds = time.perf_counter() - t0
    return BuildInfo(n, seconds, path.stat().st_size / 2**20, copies, joined)


def check_build(workdir: Path, n: int, jobs: int, store_src: str) -> str:
    """Bulk build vs the real ``dedup`` over the same articles: must be the same rows."""
    bulk, real = workdir / f"check-bulk-{n}.db", workdir / f"check-dedup-{n}.db"
    build_store(bulk, n, jobs, store_src)
    info = build_store(real, n, jobs, store_src, dedup_check=True)
    diffs = {}
    for table, cols in (("signatures", "article_id, scheme, shingles, minhash"),
                        ("lsh_bands", "band, bucket, article_id"),
                        ("memberships", "article_id, cluster_id, round(similarity, 9),"
                                        " round(containment, 9)")):
        a = set(sqlite3.connect(bulk).execute(f"SELECT {cols} FROM {table}"))
        b = set(sqlite3.connect(real).execute(f"SELECT {cols} FROM {table}"))
        diffs[table] = (len(a), len(a ^ b))
    for p in (bulk, real):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    parts = ", ".join(f"{t} {rows:,} rows / {d} differing" for t, (rows, d) in diffs.items())
    return f"--check-build at {n:,} articles (dedup took {info.seconds:.1f} s): {parts}"


# --------------------------------------------------------------------------- one run


def new_batch(path: Path, base_max: int, run: int, corpus: Corpus,
              first_id: int | None = None) -> list[dict]:
    """1,000 new articles: copies of random stored ones, copies within the batch, fresh."""
    rng = np.random.default_rng([SEED, 3, run])
    con = sqlite3.connect(path)
    picks = sorted(set(rng.integers(1, base_max + 1, size=NEW_STORED_COPIES * 2).tolist()))
    picks = picks[:NEW_STORED_COPIES]
    marks = ",".join("?" * len(picks))
    stored = [t.split() for (t,) in con.execute(
        f"SELECT text FROM articles WHERE id IN ({marks})", picks)]
    con.close()
    fresh = [corpus.story(rng) for _ in range(1000 - NEW_STORED_COPIES - NEW_BATCH_COPIES)]
    words = ([corpus.near_copy(rng, w) for w in stored] + fresh
             + [corpus.near_copy(rng, fresh[int(rng.integers(len(fresh)))])
                for _ in range(NEW_BATCH_COPIES)])
    order = rng.permutation(len(words))  # copies are not all at the front of the batch
    out = []
    for k, i in enumerate(order.tolist()):
        aid = (first_id or base_max + 1) + k
        url, host, publisher, title, published, fetched, text = _article_row(
            aid, render(words[i], rng), rng, f"r{run}-")
        out.append({"url": url, "host": host, "publisher": publisher, "title": title,
                    "published": published, "fetched": fetched, "text": text})
    return out


def restore(path: Path, base_max: int, *, compacted: bool = False) -> None:
    """Remove what a run added, so every run starts from the same N articles.

    A run's bands are in the write tier (``lsh_recent``) unless a compaction moved them
    into ``lsh_bands``, which has no index by article: only then is it scanned.
    """
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    tables = [("memberships", "article_id"), ("lsh_recent", "article_id"),
              ("signatures", "article_id"), ("page_lines", "article_id"), ("articles", "id")]
    if compacted:
        tables.insert(0, ("lsh_bands", "article_id"))
    for table, col in tables:
        con.execute(f"DELETE FROM {table} WHERE {col} > ?", (base_max,))
    con.execute("DELETE FROM runs")
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def peak_rss_mib() -> float:
    """This process's own peak RSS.

    Linux carries ``ru_maxrss`` across exec, so a child forked from the (large) benchmark
    parent would report the parent's size; VmHWM belongs to the child's own address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_main(store_path: str, batch_path: str, profile: bool) -> None:
    """Runs in a fresh interpreter: add the batch, time ``dedup``, report peak RSS."""
    from store import ArticleRecord, DedupConfig, SQLiteStore, dedup_store

    recs = json.loads(Path(batch_path).read_text(encoding="utf-8"))
    st = SQLiteStore(store_path)
    t0 = time.perf_counter()
    with st.transaction():
        for r in recs:
            st.add_article(ArticleRecord(
                url=r["url"], host=r["host"], text=r["text"],
                fetched=dt.datetime.fromisoformat(r["fetched"]), publisher=r["publisher"],
                title=r["title"], published=dt.datetime.fromisoformat(r["published"])))
    add_s = time.perf_counter() - t0
    rss_before = peak_rss_mib()
    sql_time: Counter[str] = Counter()
    sql_calls: Counter[str] = Counter()
    sql_rows: Counter[str] = Counter()
    if profile:
        query = st._query

        def timed(sql: str, params=()):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            rows = query(sql, params)
            kind = _sql_kind(sql)
            sql_time[kind] += time.perf_counter() - t
            sql_calls[kind] += 1
            sql_rows[kind] += len(rows)
            return rows

        def timed_write(fn):  # type: ignore[no-untyped-def]
            def wrapper(sql: str, params=()):  # type: ignore[no-untyped-def]
                t = time.perf_counter()
                out = fn(sql, params)
                sql_time["writes"] += time.perf_counter() - t
                sql_calls["writes"] += 1
                return out
            return wrapper

        st._query = timed  # type: ignore[method-assign]
        st._conn = _TimedCommits(st._conn, sql_time, sql_calls)  # type: ignore[assignment]
        st._execute = timed_write(st._execute)  # type: ignore[method-assign]
        st._executemany = timed_write(st._executemany)  # type: ignore[method-assign]
    t0, c0 = time.perf_counter(), time.process_time()
    res = dedup_store(st, DedupConfig())
    dedup_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    wal = Path(store_path + "-wal")
    wal_mib = wal.stat().st_size / 2**20 if wal.exists() else 0.0
    st.close()
    print(json.dumps({
        "dedup_s": dedup_s, "cpu_s": cpu_s, "add_s": add_s, "signed": res.signed,
        "joined": res.joined, "compactions": res.compactions,
        "new_clusters": res.new_clusters, "wal_mib": wal_mib,
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
        "sql": {k: [sql_time[k], sql_calls[k], sql_rows[k]] for k in sql_time},
    }))


class _TimedCommits:
    """Connection stand-in that times BEGIN/COMMIT, which the store issues directly."""

    def __init__(self, conn: sqlite3.Connection, spent: Counter[str], calls: Counter[str]):
        self._conn, self._spent, self._calls = conn, spent, calls

    def execute(self, sql: str, params=()):  # type: ignore[no-untyped-def]
        if sql.split()[0].upper() not in ("BEGIN", "COMMIT"):
            return self._conn.execute(sql, params)
        t = time.perf_counter()
        out = self._conn.execute(sql, params)
        self._spent["begin/commit"] += time.perf_counter() - t
        self._calls["begin/commit"] += 1
        return out

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._conn, name)


def _sql_kind(sql: str) -> str:
    s = " ".join(sql.split())
    for needle, kind in (("DISTINCT scheme", "scheme check (signatures scan)"),
                         ("NOT IN (SELECT article_id FROM signatures)", "unsigned ids"),
                         ("FROM lsh_bands WHERE band", "band lookups"),
                         ("FROM articles WHERE id IN", "article texts"),
                         ("FROM memberships WHERE article_id IN", "clusters_of"),
                         ("FROM memberships WHERE cluster_id", "cluster members")):
        if needle in s:
            return kind
    return s[:40]


def run_child(path: Path, batch: list[dict], workdir: Path, store_src: str,
              profile: bool) -> dict:
    batch_file = workdir / "batch.json"
    batch_file.write_text(json.dumps(batch), encoding="utf-8")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), str(batch_file),
           "--store-src", store_src] + (["--profile"] if profile else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"child failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- driver


@dataclass
class SizeResult:
    size: int
    build: BuildInfo
    runs: list[dict]
    profile: dict
    cycle: list[dict] = field(default_factory=list)  # consecutive runs up to a compaction

    @property
    def cycle_mean(self) -> float:
        return statistics.fmean(r["dedup_s"] for r in self.cycle) if self.cycle else 0.0

    @property
    def cycle_cpu(self) -> float:
        return statistics.fmean(r["cpu_s"] for r in self.cycle) if self.cycle else 0.0

    @property
    def median_s(self) -> float:
        return statistics.median(r["dedup_s"] for r in self.runs)

    @property
    def median_cpu(self) -> float:
        return statistics.median(r["cpu_s"] for r in self.runs)

    @property
    def peak_rss(self) -> float:
        return max(r["peak_rss_mib"] for r in self.runs)


def measure_size(n: int, args: argparse.Namespace, corpus: Corpus) -> SizeResult:
    path = args.workdir / f"store-{n}.db"
    need = n * BYTES_PER_ARTICLE * 1.2
    free = shutil.disk_usage(args.workdir).free
    if need > free:
        raise SystemExit(f"{args.workdir}: {free / 2**30:.1f} GiB free, {n:,} articles "
                         f"need about {need / 2**30:.1f} GiB")
    reuse = args.keep and path.exists() and _count(path) == n
    if reuse:
        info = BuildInfo(n, 0.0, path.stat().st_size / 2**20, -1, -1)
        print(f"[{n:,}] reusing {path}", flush=True)
    else:
        print(f"[{n:,}] building {path} ...", flush=True)
        info = build_store(path, n, args.jobs, args.store_src)
        print(f"[{n:,}] built in {info.seconds:.0f} s, {info.file_mib:,.0f} MiB, "
              f"{info.joined:,}/{info.copies:,} copies clustered", flush=True)
    cached = read_through(path)
    print(f"[{n:,}] read the store file through the OS page cache ({cached:,.0f} MiB)",
          flush=True)
    runs: list[dict] = []
    profile: dict = {}
    # Run 0 warms what is left (SQLite's own cache of the child starts cold in every run)
    # and is discarded; the last one is the profiled one.
    for run in range(args.runs + 2):
        batch = new_batch(path, n, run, corpus)
        is_profile = run == args.runs + 1
        try:
            out = run_child(path, batch, args.workdir, args.store_src, is_profile)
        finally:
            restore(path, n)
        kind = "warm-up" if run == 0 else ("profile" if is_profile else f"run {run}")
        print(f"[{n:,}] {kind}: dedup {out['dedup_s']:.3f} s (CPU {out['cpu_s']:.3f}), peak RSS "
              f"{out['peak_rss_mib']:.0f} MiB, joined {out['joined']}/{out['signed']}",
              flush=True)
        if is_profile:
            profile = out
        elif run:
            runs.append(out)
    cycle = measure_cycle(path, n, args, corpus) if args.cycle else []
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return SizeResult(n, info, runs, profile, cycle)


def measure_cycle(path: Path, n: int, args: argparse.Namespace, corpus: Corpus) -> list[dict]:
    """Consecutive runs from an empty write tier up to and including its compaction.

    Every timed run above starts with ``lsh_recent`` empty, the cheapest state; a cron job
    meets every fill level in turn and, once per cycle, the compaction. The mean over one
    whole cycle is the cost per run a deployment pays.
    """
    from store.dedup import DedupConfig
    from store.dedup._pass import RECENT_BAND_ROWS

    expected = -(-RECENT_BAND_ROWS // (1000 * DedupConfig().lsh.bands))
    out: list[dict] = []
    base = n
    try:
        for k in range(expected + 5):
            batch = new_batch(path, n, 10_000 + k, corpus, first_id=base + 1)
            r = run_child(path, batch, args.workdir, args.store_src, False)
            out.append(r)
            base += len(batch)
            if r["compactions"]:
                mean = statistics.fmean(x["dedup_s"] for x in out)
                print(f"[{n:,}] cycle: {k + 1} runs, mean {mean:.3f} s; "
                      f"the compacting run {r['dedup_s']:.3f} s", flush=True)
                break
        else:
            print(f"[{n:,}] cycle: no compaction after {len(out)} runs", flush=True)
    finally:
        restore(path, n, compacted=any(r["compactions"] for r in out))
    return out


def read_through(path: Path) -> float:
    """Read the whole store file once so every size starts from the OS page cache.

    One warm-up run touches only the pages its batch needs: at 1M articles it left 45% of
    the 4.7 GiB file on disk, and random disk reads, not the store, set the time. A store
    a cron job opens every 15 minutes lives in the page cache of a machine with the RAM
    for it, which is the case measured here; the note says what a colder cache costs.
    """
    size = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(16 << 20):
            size += len(chunk)
    return size / 2**20


def _count(path: Path) -> int:
    try:
        return int(sqlite3.connect(path).execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return -1


def render_section(results: list[SizeResult], notes: list[str], args: argparse.Namespace) -> str:
    base, base_cpu = results[0].median_s, results[0].median_cpu
    expected = NEW_STORED_COPIES + NEW_BATCH_COPIES
    lines = [
        SECTION, "",
        f"Date {dt.date.today().isoformat()}; nproc {os.cpu_count()}; Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, numpy {np.__version__}. "
        f"`benchmarks/bench_incremental.py --sizes {','.join(str(r.size) for r in results)} "
        f"--runs {args.runs}`.",
        "",
        "Each run: a fresh child process opens the store, adds 1,000 new articles with "
        f"`Store.add_article` ({NEW_STORED_COPIES} edited copies of random stored articles, "
        f"{NEW_BATCH_COPIES} copies of other articles of the same batch, the rest fresh "
        "stories), and times `store.dedup_store(store, DedupConfig())` (default batch size "
        "1,000). Peak RSS is the child's own high-water mark (VmHWM; `ru_maxrss` is not used "
        "because Linux carries it over from the forking parent across exec), in brackets "
        "the same before `dedup` was called (interpreter, imports, the store opened). CPU s "
        "is the child's user+system time during `dedup` (`time.process_time`), which other "
        "load on the machine disturbs less than wall time. The "
        "added rows are deleted after every run, so each run starts from exactly N "
        "articles; each run uses a different batch. "
        "Per size: the store file is read through once (so every size starts from the OS "
        "page cache; nothing is dropped), then one discarded warm-up run, "
        f"{args.runs} timed runs (median shown), then one profiled run for the breakdown "
        "below.",
        "",
        "| store size | dedup of 1,000 new, wall (median) | vs first size | CPU s (median) "
        "| vs first size | peak RSS MiB (before dedup) | joined / new "
        "(expected ≈ " + str(expected) + ") | all runs, s | store file |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        joined = "/".join(str(x["joined"]) for x in r.runs)
        lines.append(
            f"| {r.size:,} | {r.median_s:.3f} s | {r.median_s / base:.2f}× "
            f"| {r.median_cpu:.3f} s | {r.median_cpu / base_cpu:.2f}× | {r.peak_rss:.0f} "
            f"({max(x['rss_before_mib'] for x in r.runs):.0f}) "
            f"| {joined} / {r.runs[0]['signed']} | "
            f"{', '.join(format(x['dedup_s'], '.3f') for x in r.runs)} | "
            f"{r.build.file_mib / 1024:.2f} GiB |")
    if all(r.cycle for r in results):
        cbase, cbase_cpu = results[0].cycle_mean, results[0].cycle_cpu
        lines += ["", "**Amortized over a compaction cycle.** Every run above starts with the "
                  "LSH write tier (`lsh_recent`) empty, its cheapest state. Here consecutive "
                  "runs of 1,000 new articles, without restoring in between, go from an empty "
                  "tier to the run that folds it into `lsh_bands` "
                  "(`store._dedup.RECENT_BAND_ROWS`), and the mean over the whole cycle, "
                  "compaction included, is what a cron deployment pays per run:", "",
                  "| store size | runs in the cycle | mean wall per run | vs first size "
                  "| mean CPU per run | vs first size | the compacting run | peak RSS MiB |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in results:
            lines.append(
                f"| {r.size:,} | {len(r.cycle)} | {r.cycle_mean:.3f} s "
                f"| {r.cycle_mean / cbase:.2f}× | {r.cycle_cpu:.3f} s "
                f"| {r.cycle_cpu / cbase_cpu:.2f}× | {r.cycle[-1]['dedup_s']:.3f} s "
                f"| {max(x['peak_rss_mib'] for x in r.cycle):.0f} |")
    lines += ["", "Where the time goes (profiled run, which wraps the store's SQL calls in timers; "
              "SQL time per statement kind, the rest is Python: shingling, MinHash, "
              "verification, bookkeeping; WAL file = its size after the run, i.e. what one "
              "commit wrote):", "",
              "| store size | dedup s | " + " | ".join(_KINDS)
              + " | other SQL | Python | WAL file MiB |",
              "|---:|---:|" + "---:|" * (len(_KINDS) + 3)]
    sql_rows_kinds = _KINDS[:6]
    for r in results:
        sql = r.profile.get("sql", {})
        cells = []
        for k in _KINDS:
            t, calls, rows = sql.get(k, (0.0, 0, 0))
            rows_note = f", {rows:,} rows" if k in sql_rows_kinds else ""
            cells.append(f"{t:.3f} s ({calls:,} q{rows_note})")
        other = sum(v[0] for k, v in sql.items() if k not in _KINDS)
        total_sql = sum(v[0] for v in sql.values())
        lines.append(f"| {r.size:,} | {r.profile['dedup_s']:.3f} | " + " | ".join(cells)
                     + f" | {other:.3f} s | {r.profile['dedup_s'] - total_sql:.3f} s "
                     f"| {r.profile.get('wal_mib', 0):.0f} |")
    lines += ["", "How the stores were built (not timed as part of the measurement): "
              f"deterministic synthetic articles, 250-400 words from a {VOCAB:,}-word Zipf "
              f"(s=1) vocabulary in sentences and paragraphs, {COPY_SHARE:.0%} of them edited "
              "near-copies (tail trims to 60-95%, 0-3% words replaced, datelines and credit "
              "lines added) of a recent earlier article. Rows were bulk-inserted into the "
              "store's own schema: signatures from `store.dedup.MinHasher`, bands from "
              "`store.dedup._lsh.band_buckets` with `DedupConfig().lsh`, scheme "
              "`DedupConfig().scheme`, memberships by replaying dedup's LSH candidate search and "
              f"`store.dedup._placement.place` within each {CHUNK:,}-article chunk, in id order "
              "(copies never reach outside their chunk); lsh_bands loaded in key order with "
              "its article index re-created afterwards.", ""]
    for r in results:
        if r.build.seconds:
            lines.append(f"- {r.size:,}: built in {r.build.seconds:.0f} s, "
                         f"{r.build.joined:,} of {r.build.copies:,} copies clustered.")
    lines += [f"- {n}" for n in notes + (args.note or [])]
    return "\n".join(lines) + "\n"


_KINDS = ("scheme check (signatures scan)", "unsigned ids", "band lookups", "article texts",
          "clusters_of", "cluster members", "writes", "begin/commit")




def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="comma-separated store sizes; the first is the ratio's base")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per size (median)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="build workers")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) the built stores")
    ap.add_argument("--check-build", action="store_true",
                    help="first prove the bulk build equals dedup on the smallest size")
    ap.add_argument("--store-src", default=str(ROOT),
                    help="directory whose store/ package is measured (to try a patch)")
    ap.add_argument("--no-cycle", dest="cycle", action="store_false",
                    help="skip the runs through one compaction cycle of the LSH write tier")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--note", action="append", help="a line to add under the tables")
    ap.add_argument("--child", nargs=2, metavar=("STORE", "BATCH"), help=argparse.SUPPRESS)
    ap.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.path.insert(0, args.store_src)
    if args.child:
        child_main(args.child[0], args.child[1], args.profile)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    notes = []
    if args.store_src != str(ROOT):
        notes.append(f"store package measured from `{args.store_src}` (a patched copy).")
    if args.check_build:
        notes.append(check_build(args.workdir, min(sizes), args.jobs, args.store_src))
        print(notes[-1], flush=True)
    corpus = Corpus()
    results = [measure_size(n, args, corpus) for n in sizes]
    section = render_section(results, notes, args)
    print(section)
    if not args.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
