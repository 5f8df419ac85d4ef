"""``dedup``, ``spark-dedup``, ``eval`` and ``check``: the commands on clusters and the store.

``dedup --input`` and ``spark-dedup`` cluster a corpus of JSONL, Parquet or WARC files.
WARC input is why they live in ``crawler``: turning archived pages into records needs the
crawl's extraction, which ``store`` must not import, so the reader is handed to the
store's corpus code (``read_with``) and to the Spark job (``record_reader``) from here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store import ConfigError, CorpusError, InputError

from ._context import add_config_arguments, config_from, locked_store

# ``--output -``: the records on stdout, as Unix tools read "-".
STDOUT = "-"

if TYPE_CHECKING:
    from crawler._config import Config
    from store.dedup import RecordReader


def cmd_dedup(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    if args.input:
        return _dedup_corpus(cfg, args)
    from crawler._pipeline import run_dedup

    with locked_store(cfg) as store:
        result = run_dedup(cfg, store, rebuild=args.rebuild)
    print(dedup_summary(result))
    return 0


def dedup_summary(result: Any) -> str:
    """One line a cron log can be read by: what the pass signed and what it changed."""
    parts = [f"signed {result.signed} new {_plural(result.signed, 'article')}"]
    if result.resigned:
        parts.append(
            f"re-signed {result.resigned} (updated, or their outlet's boilerplate changed)"
        )
    parts.append(
        f"{result.joined} joined a story, {result.new_clusters} new "
        f"{_plural(result.new_clusters, 'story', 'stories')}"
    )
    if result.moved:
        parts.append(f"{result.moved} moved to another story")
    if result.too_short:
        parts.append(f"{result.too_short} too short to cluster")
    return "; ".join(parts)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return one if n == 1 else (many or one + "s")


def _warc(cfg: Config, inputs: list[str]) -> tuple[list[str] | None, RecordReader]:
    """The WARC files among ``inputs`` (None for JSONL/Parquet) and the reader for them."""
    from crawler.warc import ArchiveOptions, warc_inputs, warc_records

    warcs = warc_inputs(inputs)
    if warcs is None and len(inputs) > 1:
        raise CorpusError(f"{inputs[1]}: several --input files must all be WARC files")
    return warcs, partial(warc_records, options=ArchiveOptions.from_config(cfg))


def _finish(
    records: int, clusters: int, output: str, skipped: int | None, problems: list[str]
) -> int:
    if output == STDOUT:  # stdout carries the records: the summary goes beside the logs
        print(f"{records} records in {clusters} clusters written to stdout", file=sys.stderr)
    else:
        print(f"{records} records in {clusters} clusters written to {output}")
    if skipped is not None:
        print(f"{skipped} archived HTML pages had no article text")
    for problem in problems:
        print(f"newsdedup: problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _dedup_corpus(cfg: Config, args: argparse.Namespace) -> int:
    """Texts wait in a temporary file (``Spill``) while the engine works, and rows are
    written as they come, so a corpus bigger than memory still goes through."""
    from store.dedup import (
        Spill,
        corpus_records,
        index_corpus,
        records_with,
        source_name,
        write_assignments,
    )

    if not args.output:
        raise ConfigError("dedup --input needs --output FILE.jsonl")
    warcs, reader = _warc(cfg, args.input)
    spill = Spill()
    reports: list[Any] = []
    try:
        if warcs is None:
            index = index_corpus(corpus_records(args.input[0]), spill, args.input[0])
        else:
            index = index_corpus(
                records_with(warcs, reader, reports), spill, source_name(warcs), reports
            )
        rows = index.assignments(spill, cfg.dedup.engine(), explain=args.explain)
        if args.output == STDOUT:
            written, clusters = _write_to_stdout(rows)
        else:
            written, clusters = write_assignments(rows, args.output)
    finally:
        spill.close()
    return _finish(
        written,
        clusters,
        args.output,
        None if warcs is None else sum(r.skipped for r in reports),
        [p for r in reports for p in r.problems],
    )


def _write_to_stdout(rows: Iterable[Any]) -> tuple[int, int]:
    """The same lines ``write_assignments`` writes to a file, on stdout."""
    import shutil
    import tempfile

    from store.dedup import write_assignments

    with tempfile.TemporaryDirectory(prefix="newsdedup-") as tmp:
        path = Path(tmp) / "assignments.jsonl"
        counts = write_assignments(rows, path)
        sys.stdout.flush()
        with path.open("rb") as fh:
            shutil.copyfileobj(fh, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    return counts


def cmd_spark_dedup(args: argparse.Namespace) -> int:
    """`dedup --input` on Spark: the same output file, computed per LSH component."""
    from store.spark import spark_dedup, spark_session

    cfg = config_from(args)
    if args.output == STDOUT:
        raise InputError(
            "spark-dedup writes its --output where Spark runs: give a file or folder, not -"
        )
    warcs, reader = _warc(cfg, args.input)
    spark = spark_session(args.master, partitions=args.partitions, driver_memory=args.driver_memory)
    stats = spark_dedup(
        spark,
        warcs or args.input[0],
        args.output,
        cfg.dedup.engine(),
        partitions=args.partitions,
        output_dir=args.output_dir,
        record_reader=reader if warcs else None,
        explain=args.explain,
    )
    return _finish(
        stats.records,
        stats.clusters,
        args.output,
        None if warcs is None else stats.skipped,
        stats.problems,
    )


def ground_truth(path: str) -> dict[str, str] | None:
    """{page URL: story id} from a fixture ground-truth file (what ``demo --dir`` and
    ``python -m crawler.fixtures --ground-truth`` write); None for a labelled corpus."""
    if not path.lower().endswith(".json"):
        return None
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # not one: read_corpus says what is wrong with the file
    if not isinstance(doc, dict) or not isinstance(doc.get("pages"), list):
        return None
    try:
        return {str(p["url"]): str(p["story_id"]) for p in doc["pages"]}
    except (TypeError, KeyError):
        raise CorpusError(f"{path}: a ground-truth file whose pages lack url or story_id") from None


def _eval_store(args: argparse.Namespace, truth: dict[str, str]) -> dict[str, Any]:
    """Scores of a store's clusters against a ground truth of page URLs (no texts)."""
    from store import open_store

    from ._demo import score_store

    if not (args.store or args.config):
        hint = Path(args.input).with_name("demo.db")
        raise InputError(
            f"{args.input}: a ground truth of page URLs, without texts: score the store they "
            f"were crawled into, e.g. --store {hint} (or --config with its store)"
        )
    cfg = config_from(args)
    with open_store(cfg.store, read_only=True) as store:
        scores, scored = score_store(store, truth)
        articles = store.article_count()
    if not scored:
        raise InputError(
            f"none of the {len(truth)} pages of {args.input} is in {cfg.store}: was it "
            "crawled from another serving of the fixture web? (its ports change each time)"
        )
    return {"articles": articles, "labelled": len(truth), "scored": scored, **_rounded(scores)}


def _rounded(scores: Any) -> dict[str, float]:
    return {k: round(getattr(scores, k), 4) for k in ("precision", "recall", "f1", "ari")}


def cmd_eval(args: argparse.Namespace) -> int:
    from store.dedup import cluster_corpus, pairwise_scores, read_corpus

    truth_file = ground_truth(args.input)
    if truth_file is not None:
        doc = _eval_store(args, truth_file)
        print(json.dumps(doc) if args.json else " ".join(f"{k}={v}" for k, v in doc.items()))
        return 0
    cfg = config_from(args)
    records = read_corpus(args.input)
    truth = {r.id: r.label for r in records if r.label is not None}
    if not truth:
        raise CorpusError(f"{args.input}: no record has a 'cluster' label to score against")
    rows = cluster_corpus(records, cfg.dedup.engine())
    scores = pairwise_scores({r.id: r.cluster for r in rows}, truth)
    doc = {
        "records": len(records),
        "labelled": len(truth),
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
        "ari": round(scores.ari, 4),
    }
    if args.json:
        print(json.dumps(doc))
    else:
        print(" ".join(f"{k}={v}" for k, v in doc.items()))
    return 0


def _side(ref: str, store: Any, cfg: Config) -> tuple[str, Any]:
    """(name, content) of a file, or of an article of the store when ``ref`` is an id."""
    from pathlib import Path

    from store import InputError
    from store.dedup import stored_content, text_content

    if store is not None and ref.isdigit():
        art, content = stored_content(store, int(ref), cfg.dedup.engine())
        return f"article {art.id} ({art.url})", content
    path = Path(ref)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{ref}: cannot read: {exc.strerror or exc}") from exc
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<", b"\xef\xbb\xbf<")) or b"<html" in head:
        from crawler._article import extract

        text = extract(data).text
    else:
        text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise InputError(f"{ref}: no text to compare")
    return ref, text_content(text, shingle_size=cfg.dedup.shingle_size)


def cmd_compare(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from store import open_store
    from store.dedup import compare
    from store.report import shared_passages

    cfg = config_from(args)
    use_store = (args.store or args.config) and (args.first.isdigit() or args.second.isdigit())
    with open_store(cfg.store, read_only=True) if use_store else nullcontext() as store:
        (name_a, a), (name_b, b) = _side(args.first, store, cfg), _side(args.second, store, cfg)
    m = compare(a.verify, b.verify)
    passages = shared_passages(a.text, b.text, min_words=args.min_words)
    t = cfg.dedup.engine().thresholds
    verdict = (
        "copies"
        if m.verified(t)
        else "partial reuse"
        if max(m.a_in_b, m.b_in_a) >= t.reuse
        else "unrelated"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "a": name_a,
                    "b": name_b,
                    "jaccard": round(m.jaccard, 4),
                    "a_in_b": round(m.a_in_b, 4),
                    "b_in_a": round(m.b_in_a, 4),
                    "verdict": verdict,
                    "passages": [
                        {
                            "a_word": p.first_word,
                            "b_word": p.other_word,
                            "words": p.words,
                            "a": p.text,
                            "b": p.other,
                        }
                        for p in passages
                    ],
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(f"A: {name_a}\nB: {name_b}")
    print(
        f"Jaccard {m.jaccard:.3f}; {m.a_in_b:.0%} of A is in B, {m.b_in_a:.0%} of B is in A"
        f" -> {verdict}"
    )
    print(f"{len(passages)} shared {_plural(len(passages), 'passage')} of {args.min_words}+ words:")
    for p in passages:
        print(
            f"\n  A@{p.first_word} / B@{p.other_word} ({p.words} words)\n  A: {p.text}"
            + ("" if p.text == p.other else f"\n  B: {p.other}")
        )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from store import open_store

    cfg = config_from(args)
    with open_store(cfg.store, read_only=True) as store:
        problems = store.consistency_errors()
        counts, unsigned = store.counts(), store.unsigned_count()
    print(f"{cfg.store}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    if unsigned:
        print(f"{unsigned} articles wait for `newsdedup dedup`")
    for p in problems:
        print(f"problem: {p}")
    print("ok" if not problems else f"{len(problems)} problem(s) found")
    return 0 if not problems else 3


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sp = sub.add_parser(
        "dedup", parents=[common], help="sign new articles and assign them to clusters"
    )
    add_config_arguments(sp)
    sp.add_argument(
        "--rebuild",
        action="store_true",
        help="recompute every signature and cluster from stored text",
    )
    sp.add_argument(
        "--input",
        metavar="FILE",
        nargs="+",
        help="cluster a JSONL or Parquet corpus of {id, text[, url, published, "
        "title]} records, or WARC files (or folders of them), instead of "
        "the store",
    )
    sp.add_argument(
        "--output",
        metavar="FILE",
        help="with --input: JSONL of {id, cluster, origin_id, similarity, containment"
        "[, url, reuses]} ('-' for stdout)",
    )
    sp.add_argument(
        "--explain",
        action="store_true",
        help="with --input: add each record's lines left out as its outlet's "
        "boilerplate ('ignored')",
    )
    sp.set_defaults(func=cmd_dedup)

    sp = sub.add_parser(
        "compare",
        parents=[common],
        help="how much two articles share: Jaccard, containment both ways, "
        "and the shared passages side by side",
    )
    add_config_arguments(sp)
    sp.add_argument(
        "first",
        metavar="A",
        help="a text or HTML file, or an article id of the store (with --store or --config)",
    )
    sp.add_argument("second", metavar="B", help="the same for the other article")
    sp.add_argument(
        "--min-words",
        type=int,
        default=8,
        metavar="N",
        help="shortest shared passage to list (default 8 words)",
    )
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser(
        "spark-dedup",
        parents=[common],
        help="dedup --input at corpus scale on Apache Spark (same output; "
        "needs the spark extra and Java 17+)",
    )
    add_config_arguments(sp)
    sp.add_argument(
        "--input",
        metavar="PATH",
        required=True,
        nargs="+",
        help="JSONL or Parquet corpus (any path Spark can read), or WARC files "
        "or folders of them (on a filesystem every executor can open)",
    )
    sp.add_argument(
        "--output",
        metavar="PATH",
        required=True,
        help="JSONL of {id, cluster, origin_id, similarity, containment[, url]}, in input order",
    )
    sp.add_argument(
        "--output-dir",
        action="store_true",
        help="write --output as a directory of part files (name order is "
        "input order: cat PATH/part-* joins them)",
    )
    sp.add_argument(
        "--master",
        default="local[2]",
        help="Spark master (default local[2]); under spark-submit, submit "
        "crawler/spark_submit.py, which leaves it to spark-submit",
    )
    sp.add_argument(
        "--partitions",
        type=int,
        default=8,
        metavar="N",
        help="input and shuffle partitions (default 8)",
    )
    sp.add_argument(
        "--driver-memory",
        default="2g",
        metavar="SIZE",
        help="the driver JVM's heap, e.g. 2g (default 2g)",
    )
    sp.add_argument(
        "--explain",
        action="store_true",
        help="add each record's lines left out as its outlet's boilerplate ('ignored'), "
        "as dedup --input --explain does",
    )
    sp.set_defaults(func=cmd_spark_dedup)

    sp = sub.add_parser(
        "eval",
        parents=[common],
        help="score clusters against a ground truth: a labelled corpus, or a store",
    )
    add_config_arguments(sp)
    sp.add_argument(
        "--input",
        metavar="FILE",
        required=True,
        help="a JSONL/Parquet corpus of records with id, text and a ground-truth 'cluster' "
        "label (clustered here and scored), or a fixture ground-truth.json of page URLs "
        "and stories (as `demo --dir` writes): then the clusters of the store (--store or "
        "--config) are scored",
    )
    sp.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser(
        "check",
        parents=[common],
        help="check the store's integrity and consistency (exit 3 on a problem)",
    )
    add_config_arguments(sp)
    sp.set_defaults(func=cmd_check)
