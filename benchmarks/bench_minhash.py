"""Benchmark: text -> MinHash signature, ours against datasketch and rensa, in one run.

Every contender turns the same synthetic news-length documents into num_perm=128 signatures
of the same word 5-gram shingles, in batches, in one process, and ends with the same output:
one Python list of ints per document (``.tolist()`` of our array and of datasketch's
``hashvalues``, rensa's ``to_rows()`` or ``digest()``). Everything is warmed up first (numba
loaded, token caches filled, rensa called once), and each contender's time is the best of
``--rounds`` interleaved rounds, so a load spike on the shared machine hits one round, not
one contender. The baseline is datasketch's fastest setting: ``MinHash.bulk`` with
``hashfunc=xxhash.xxh32_intdigest`` over the same 5-gram strings. rensa is fed the same
5-gram strings built from our tokenizer (its batch API and its per-document one).

Ours is measured twice: the compiled path (numba; what ``shingle_hashes`` and
``MinHasher.signatures`` use once loaded) and the per-token path they used before (still
the path of a process's first ~0.3 s of shingling), stage by stage.

    .venv/bin/python benchmarks/bench_minhash.py                 # 5,000 docs, 3 rounds
    .venv/bin/python benchmarks/bench_minhash.py --docs 1000 --rounds 1 --no-write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import xxhash

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import store.dedup._minhash as minhash_mod  # noqa: E402
import store.dedup._shingles as shingles_mod  # noqa: E402
from store._text import canonical  # noqa: E402
from store.dedup._minhash import MAX_HASH, MinHasher  # noqa: E402
from store.dedup._shingles import hashes_from_tokens, shingle_hashes, tokenize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import replace_section as write_section  # noqa: E402

NUM_PERM = 128
SEED = 1
SHINGLE = 5
SECTION = "## MinHash signatures"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PUBLISHER_TRUTH = ROOT.parent / "shared" / "publisher-benchmark" / "ground-truth.json"


# --------------------------------------------------------------------------- corpus


def _vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    """Pseudo-words of 1-12 letters; short words are the frequent ones, as in English."""
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    weights = 1.0 / np.arange(1, 27)
    weights /= weights.sum()
    lengths = np.clip(rng.poisson(np.linspace(2.5, 8.0, size)), 1, 12)
    words = ["".join(rng.choice(letters, size=int(n), p=weights)) for n in lengths]
    return np.array(list(dict.fromkeys(words)))


@dataclass
class Corpus:
    """Deterministic Zipf-distributed news-length texts, produced in batches."""

    docs: int
    seed: int = 2024
    vocab_size: int = 60_000

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.vocab = _vocabulary(self.vocab_size, rng)
        ranks = np.arange(1, len(self.vocab) + 1, dtype=np.float64)
        p = ranks**-1.07
        self.cdf = np.cumsum(p / p.sum())

    def batches(self, size: int) -> Iterator[list[str]]:
        rng = np.random.default_rng(self.seed + 1)
        for start in range(0, self.docs, size):
            n = min(size, self.docs - start)
            lengths = rng.integers(300, 801, size=n)
            ids = np.searchsorted(self.cdf, rng.random(int(lengths.sum())))
            ids = np.minimum(ids, len(self.vocab) - 1)
            words = self.vocab[ids]
            # A capitalised sentence start and a full stop every ~18 words, like prose.
            ends = np.flatnonzero(rng.random(len(words)) < 1 / 18)
            words[ends] = np.char.add(words[ends], ".")
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            yield [" ".join(words[bounds[i] : bounds[i + 1]]).capitalize() for i in range(n)]


def publisher_bodies(path: Path) -> list[str]:
    """Real article bodies in 25 languages, when the publisher benchmark is at hand."""
    if not path.is_file():
        return []
    truth = json.loads(path.read_text(encoding="utf-8"))
    return [page["body"] for page in truth.values() if page.get("body")]


# --------------------------------------------------------------------------- contenders


def _shingle_strings(text: str) -> list[str]:
    """Our tokenizer's word 5-grams as strings, for contenders that hash strings themselves."""
    toks = tokenize(text)
    if len(toks) <= SHINGLE:
        return [" ".join(toks)] if toks else []
    return list(dict.fromkeys(" ".join(toks[i : i + SHINGLE]) for i in range(len(toks) - 4)))


def _numpy_signatures(hasher: MinHasher, sets: list[np.ndarray]) -> np.ndarray:
    """``MinHasher.signatures`` as it was before the compiled loop: numpy all the way."""
    lens = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    out = np.full((len(sets), hasher.num_perm), MAX_HASH, dtype=np.uint32)
    return hasher._signatures_numpy(np.concatenate(sets), lens, out).astype(np.uint64)


def _per_token_sets(texts: list[str]) -> list[np.ndarray]:
    return [hashes_from_tokens(tokenize(t), SHINGLE) for t in texts]


def _text_contenders(hasher: MinHasher) -> dict[str, Callable[[list[str]], list]]:
    """Text in, one list of ints per document out."""
    from datasketch import MinHash

    def ours(texts: list[str]) -> list:
        return hasher.signatures([shingle_hashes(t, SHINGLE) for t in texts]).tolist()

    def ours_per_token(texts: list[str]) -> list:
        return _numpy_signatures(hasher, _per_token_sets(texts)).tolist()

    def datasketch_bulk(texts: list[str]) -> list:
        ms = MinHash.bulk(
            [[s.encode("utf-8") for s in _shingle_strings(t)] for t in texts],
            num_perm=NUM_PERM,
            seed=SEED,
            hashfunc=xxhash.xxh32_intdigest,
        )
        return [m.hashvalues.tolist() for m in ms]

    contenders = {
        "ours, compiled": ours,
        "ours, per-token path (before)": ours_per_token,
        "datasketch `MinHash.bulk`, xxh32": datasketch_bulk,
    }
    try:
        from rensa import RMinHash
    except ImportError:
        return contenders

    def rensa_batch(texts: list[str]) -> list:
        strings = [_shingle_strings(t) for t in texts]
        return RMinHash.digest_matrix_from_token_sets(strings, NUM_PERM, SEED).to_rows()

    def rensa_per_doc(texts: list[str]) -> list:
        out = []
        for t in texts:
            m = RMinHash(num_perm=NUM_PERM, seed=SEED)
            m.update(_shingle_strings(t))
            out.append(m.digest())
        return out

    contenders["rensa `digest_matrix_from_token_sets`"] = rensa_batch
    contenders["rensa `RMinHash` per doc"] = rensa_per_doc
    return contenders


def _signing_contenders(hasher: MinHasher) -> dict[str, Callable[[list[np.ndarray]], list]]:
    """Shingle hash sets in, one list of ints per document out."""
    from datasketch import MinHash

    def datasketch_bulk(sets: list[np.ndarray]) -> list:
        ms = MinHash.bulk([s.tolist() for s in sets], num_perm=NUM_PERM, seed=SEED, hashfunc=int)
        return [m.hashvalues.tolist() for m in ms]

    contenders = {
        "ours, compiled": lambda sets: hasher.signatures(sets).tolist(),
        "ours, numpy (before)": lambda sets: _numpy_signatures(hasher, sets).tolist(),
        "datasketch `MinHash.bulk`, hashfunc=int": datasketch_bulk,
    }
    try:
        from rensa import RMinHash
    except ImportError:
        return contenders

    def rensa_flat(sets: list[np.ndarray]) -> list:
        flat = np.concatenate(sets).astype(np.uint64)
        offsets = np.zeros(len(sets) + 1, dtype=np.uint64)
        np.cumsum([len(s) for s in sets], out=offsets[1:])
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, NUM_PERM, SEED)
        return matrix.to_rows()

    contenders["rensa `digest_matrix_from_flat_token_hashes`"] = rensa_flat
    return contenders


def _stage_functions(hasher: MinHasher) -> dict[str, Callable[[list[str]], object]]:
    """Each stage of both paths on its own, its inputs prepared outside the clock."""
    before = {
        "before: canonical folding": lambda texts: [canonical(t) for t in texts],
        "before: tokenizing (incl. canonical)": lambda texts: [tokenize(t) for t in texts],
        "before: token hashing": lambda toks: [shingles_mod._token_hashes(t) for t in toks],
        "before: window folding + sorted set": lambda ths: [
            shingles_mod._sorted_unique(shingles_mod._fold_windows(th, min(SHINGLE, len(th))))
            for th in ths
        ],
        "before: signing (numpy)": lambda sets: _numpy_signatures(hasher, sets),
    }
    after = {
        "after: folding to UTF-8 (Python)": lambda texts: [
            shingles_mod._folded_utf8(t) for t in texts
        ],
        "after: tokens -> hashes -> sorted set (kernel)": lambda bufs: [
            shingles_mod._shingle_set(b, c, SHINGLE) for b, c in bufs
        ],
        "after: signing (kernel)": lambda sets: hasher.signatures(sets),
    }
    return before | after


def _best_of_rounds(
    jobs: dict[str, Callable[[], object]], rounds: int, cpu: dict[str, float] | None = None
) -> dict[str, float]:
    """Each job's fastest round in wall-clock seconds (and into ``cpu``, its least CPU
    time: rensa's batch APIs run on several threads); the jobs take turns within a round."""
    best = dict.fromkeys(jobs, float("inf"))
    least_cpu = dict.fromkeys(jobs, float("inf"))
    for _ in range(rounds):
        for name, job in jobs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            job()
            best[name] = min(best[name], time.perf_counter() - t0)
            least_cpu[name] = min(least_cpu[name], time.process_time() - c0)
    if cpu is not None:
        cpu.update(least_cpu)
    return best


def _batched(fn: Callable[[list], object], batches: list[list]) -> Callable[[], None]:
    def run() -> None:
        for b in batches:
            fn(b)

    return run


# --------------------------------------------------------------------------- run


@dataclass
class Results:
    n_docs: int
    shingles_per_doc: float
    text: dict[str, float]  # seconds for all docs
    signing: dict[str, float]
    stages: dict[str, float]
    cpu: dict[str, float]  # CPU seconds, keyed "<table>/<contender>"
    real_docs: int = 0
    real_text: dict[str, float] = field(default_factory=dict)


def _check_identical(hasher: MinHasher, texts: list[str]) -> None:
    """Compiled and per-token paths, and datasketch on the same hashes, agree: or no table."""
    from datasketch import MinHash

    sets = [shingle_hashes(t, SHINGLE) for t in texts]
    for fast, slow in zip(sets, _per_token_sets(texts), strict=True):
        assert np.array_equal(fast, slow), "compiled shingle hashes differ"
    sigs = hasher.signatures(sets)
    assert np.array_equal(sigs, _numpy_signatures(hasher, sets)), "compiled signing differs"
    for s, sig in zip(sets[:100], sigs, strict=False):
        m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int)
        m.update_batch(s.tolist())
        assert np.array_equal(m.hashvalues.astype(np.uint64), sig), "not datasketch-equal"


def run(n_docs: int, batch: int, rounds: int, real: list[str]) -> Results:
    hasher = MinHasher(NUM_PERM, SEED)
    shingles_mod._compile()
    minhash_mod._compile()
    batches = list(Corpus(n_docs).batches(batch))
    texts = [t for b in batches for t in b]

    # Warm-up: numba's code loaded, token caches filled, rensa's first call behind it.
    text_jobs = _text_contenders(hasher)
    for fn in text_jobs.values():
        fn(texts[:200])
    _check_identical(hasher, texts[:500])

    cpu: dict[str, float] = {}
    text = _best_of_rounds(
        {f"text/{k}": _batched(f, batches) for k, f in text_jobs.items()}, rounds, cpu
    )

    set_batches = [[shingle_hashes(t, SHINGLE) for t in b] for b in batches]
    sign_jobs = _signing_contenders(hasher)
    for fn in sign_jobs.values():
        fn(set_batches[0][:200])
    signing = _best_of_rounds(
        {f"signing/{k}": _batched(f, set_batches) for k, f in sign_jobs.items()}, rounds, cpu
    )

    # Stages: each one's input made by the stage before it, outside the clock.
    stage_fns = _stage_functions(hasher)
    tok_batches = [[tokenize(t) for t in b] for b in batches]
    th_batches = [[shingles_mod._token_hashes(t) for t in b] for b in tok_batches]
    buf_batches = [[shingles_mod._folded_utf8(t) for t in b] for b in batches]
    inputs = {
        "before: canonical folding": batches,
        "before: tokenizing (incl. canonical)": batches,
        "before: token hashing": tok_batches,
        "before: window folding + sorted set": th_batches,
        "before: signing (numpy)": set_batches,
        "after: folding to UTF-8 (Python)": batches,
        "after: tokens -> hashes -> sorted set (kernel)": buf_batches,
        "after: signing (kernel)": set_batches,
    }
    with np.errstate(over="ignore"):
        stages = _best_of_rounds({k: _batched(f, inputs[k]) for k, f in stage_fns.items()}, rounds)

    real_text: dict[str, float] = {}
    if real:
        _check_identical(hasher, real)
        real_batches = [real]
        for fn in text_jobs.values():
            fn(real)
        real_text = _best_of_rounds(
            {f"real/{k}": _batched(f, real_batches) for k, f in text_jobs.items()},
            max(rounds, 5),
            cpu,
        )
    per_doc = sum(len(s) for b in set_batches for s in b) / n_docs
    strip = lambda rows: {k.split("/", 1)[1]: v for k, v in rows.items()}  # noqa: E731
    return Results(
        n_docs, per_doc, strip(text), strip(signing), stages, cpu, len(real), strip(real_text)
    )


# --------------------------------------------------------------------------- report


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def _us(secs: float, docs: int) -> float:
    return secs / docs * 1e6


def _table(
    rows: dict[str, float], cpu: dict[str, float], docs: int, base: str, base_label: str
) -> list[str]:
    lines = [
        f"| contender | µs/doc | CPU µs/doc | docs/s | vs {base_label} |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, secs in rows.items():
        lines.append(
            f"| {name} | {_us(secs, docs):,.1f} | {_us(cpu[name], docs):,.1f} | "
            f"{docs / secs:,.0f} | {rows[base] / secs:.2f}× |"
        )
    return lines


def _cpu_of(r: Results, table: str) -> dict[str, float]:
    return {k.split("/", 1)[1]: v for k, v in r.cpu.items() if k.startswith(table + "/")}


def _rensa_best(rows: dict[str, float]) -> tuple[str, float] | None:
    named = {k: v for k, v in rows.items() if k.startswith("rensa")}
    return min(named.items(), key=lambda kv: kv[1]) if named else None


def render(r: Results, args: argparse.Namespace, load: tuple[float, float, float]) -> str:
    base = "datasketch `MinHash.bulk`, xxh32"
    ours, before = r.text["ours, compiled"], r.text["ours, per-token path (before)"]
    lines = [
        SECTION,
        "",
        f"Date {dt.date.today().isoformat()}; nproc {os.cpu_count()}, single process, load "
        f"average {load[0]:.2f} / {load[1]:.2f} at the start; Python "
        f"{platform.python_version()}, numpy {np.__version__}, numba {_version('numba')}, "
        f"datasketch {_version('datasketch')}, xxhash {_version('xxhash')}, "
        f"rensa {_version('rensa')}. `benchmarks/bench_minhash.py --docs {r.n_docs} "
        f"--batch {args.batch} --rounds {args.rounds}`.",
        "",
        f"{r.n_docs:,} synthetic news-length documents (300-800 words, Zipf vocabulary, "
        f"{r.shingles_per_doc:.0f} unique word 5-grams per doc), num_perm={NUM_PERM}, "
        f"seed {SEED}, batches of {args.batch}. Every contender ends with one Python list "
        "of ints per document; all are warmed up; each figure is the best of the rounds. "
        "Ours is checked bit-identical to the per-token path and to datasketch "
        "`MinHash(hashfunc=int)` on the same shingle hashes before timing. rensa's values "
        "are its own (other hashing and permutations), so they cannot be mixed with "
        "datasketch's or ours; it is listed for speed. Its batch APIs run on several "
        "threads (both cores here), so its CPU time exceeds its wall time; ours and "
        "datasketch run on one.",
        "",
        "**Text → signature** (tokenizing, hashing, signing; the strings for datasketch and "
        "rensa are our tokenizer's 5-grams, built inside the clock):",
        "",
        *_table(r.text, _cpu_of(r, "text"), r.n_docs, base, "datasketch bulk + xxh32"),
        "",
        "**Signing only**, the same shingle hashes in:",
        "",
        *_table(
            r.signing,
            _cpu_of(r, "signing"),
            r.n_docs,
            "datasketch `MinHash.bulk`, hashfunc=int",
            "datasketch bulk",
        ),
        "",
        "**Stages** (µs/doc; each stage's input prepared outside the clock):",
        "",
        "| stage | µs/doc |",
        "|---|---:|",
    ]
    for name, secs in r.stages.items():
        lines.append(f"| {name} | {_us(secs, r.n_docs):.1f} |")
    lines += ["", "Targets (text → signature, ratios from the table above):", ""]
    lines.append(
        f"- vs the per-token path (today's before this change): **{before / ours:.1f}×** "
        "(target ≥ 2.5×)."
    )
    lines.append(
        f"- vs datasketch `MinHash.bulk` + xxh32: **{r.text[base] / ours:.1f}×** (target ≥ 5×)."
    )
    best = _rensa_best(r.text)
    if best:
        text_cpu = _cpu_of(r, "text")
        lines.append(
            f"- vs rensa fed the same tokens, its faster API ({best[0]}): "
            f"**{best[1] / ours:.1f}×** (target ≥ 2×); by CPU time "
            f"{text_cpu[best[0]] / text_cpu['ours, compiled']:.1f}×."
        )
    sign_best = _rensa_best(r.signing)
    if sign_best:
        sign_cpu = _cpu_of(r, "signing")
        mine = r.signing["ours, compiled"]
        lines.append(
            f"- Signing alone, rensa against ours: {mine / sign_best[1]:.2f}× our speed by "
            f"wall time, {sign_cpu['ours, compiled'] / sign_cpu[sign_best[0]]:.2f}× by CPU "
            "time (ours is bound to datasketch's permutations: a multiply, an add and a "
            "min per value and permutation)."
        )
    if r.real_text:
        lines += [
            "",
            f"**Real article bodies**: the {r.real_docs} bodies of "
            "`../shared/publisher-benchmark` (25 languages, most of them not ASCII; "
            "best of 5 rounds), text → signature:",
            "",
            *_table(r.real_text, _cpu_of(r, "real"), r.real_docs, base, "datasketch bulk + xxh32"),
        ]
    lines += [
        "",
        "A process loads numba once it has spent 0.3 s on the per-token path (about 2,000 "
        "English texts, fewer in other languages): loading costs ~0.3 s, so runs that sign "
        "a few hundred texts never pay it, and longer ones run compiled from there on.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=5_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--publisher-truth",
        type=Path,
        default=PUBLISHER_TRUTH,
        help="ground-truth.json of the publisher benchmark (skipped if absent)",
    )
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    load = os.getloadavg()
    results = run(args.docs, args.batch, args.rounds, publisher_bodies(args.publisher_truth))
    section = render(results, args, load)
    print(section)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if not args.no_write:
        write_section(section)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
