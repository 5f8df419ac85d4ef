"""Spark batch dedup: the same output as `newsdedup dedup --input`, line by line.

The job runs the batch engine's own functions on parts of the corpus (a partition of
records, the rows of one candidate key, one connected component), so every test compares
its whole output with the local path's on inputs that exercise each part: boilerplate
learned per host, publisher and corpus scope, reuse links across components, edited,
trimmed and re-topped copies, every input format.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from crawler.cli._main import main
from crawler.fixtures import build_web
from crawler.fixtures.variations import fixture_stories, generate, in_order
from store import CorpusError, DedupConfig, cluster_corpus, read_corpus
from store.dedup import MinHasher
from store.dedup._batch import (
    anchor_keys,
    band_keys,
    learn_boilerplate,
    read_lines,
    record_content,
    sign_all,
)
from store.dedup._corpus import record_from_dict, unit_of, write_assignments
from store.dedup._graph import (
    STRONG,
    WEAK,
    candidate_codes,
    decode_pairs,
    weighted_pair_codes,
)
from tests.builders import corpus_records, write_bad_jsonl, write_jsonl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from _synthetic import corpus_rows  # noqa: E402

pytestmark = pytest.mark.quick

FULL = os.environ.get("NEWSDEDUP_FULL") == "1"
GENERATED = 20_000 if FULL else 2_000


def web_rows() -> list[dict]:
    web = build_web(7)
    return [
        {
            "id": f"{p.host}{p.path}",
            "text": "\n\n".join(web.expected_body(p)),
            "published": p.published.isoformat(),
        }
        for p in web.pages
    ]


def variation_rows(seed: int = 3, n: int = 240) -> list[dict]:
    """Republisher variations in a random arrival order, in all three boilerplate scopes:
    most outlets' records by host (url), every third outlet's by publisher only, every
    fifth outlet's by neither (the corpus scope)."""
    records = in_order(generate(list(fixture_stories((1, 2))), seed, n), seed)
    outlets = sorted({r.publisher for r in records})
    rows = []
    for r in records:
        row = {
            key: r.as_json()[key]
            for key in ("id", "text", "url", "publisher", "published", "title")
        }
        k = outlets.index(r.publisher)
        if k % 3 == 0:
            del row["url"]
        elif k % 5 == 1:
            del row["url"], row["publisher"]
        rows.append(row)
    return rows


def local_lines(src: Path, tmp: Path, explain: bool = False) -> list[str]:
    out = tmp / "local.jsonl"
    write_assignments(cluster_corpus(read_corpus(src), explain=explain), out)
    return out.read_text(encoding="utf-8").splitlines()


def assert_same_lines(got: list[str], expected: list[str]) -> None:
    assert len(got) == len(expected)
    for n, (a, b) in enumerate(zip(got, expected, strict=True), 1):
        assert a == b, f"record {n} differs"


# -- without Spark: what the job relies on ----------------------------------------------------


def test_keys_of_any_batch_give_the_candidate_pairs_of_the_whole_corpus():
    """The job signs each partition's records in batches of its own."""
    cfg = DedupConfig()
    records = [record_from_dict(r, f"row {n}") for n, r in enumerate(variation_rows(n=120))]
    texts, units = [r.text for r in records], [unit_of(r) for r in records]
    with read_lines(texts) as lines:
        learned = learn_boilerplate(units, lines, cfg.boilerplate)
    whole = sign_all(texts, units, learned, cfg)
    try:
        rows = np.concatenate(list(whole.candidates))
        expected = decode_pairs(candidate_codes(rows["code"], rows["weight"])).tolist()
    finally:
        whole.close()
    assert len(expected) > 100
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    keys, owners, weights = [], [], []
    for lo in range(0, len(texts), 17):
        signed, shingles = [], []
        for i in range(lo, min(lo + 17, len(texts))):
            _, sh, anchors, _ = record_content(
                texts[i], learned.get(units[i].scope, frozenset()), cfg.shingle_size
            )
            if len(sh) >= cfg.thresholds.min_shingles:
                signed.append(i)
                shingles.append(sh)
                for found, piece in zip(
                    (keys, owners, weights), anchor_keys(i, anchors), strict=True
                ):
                    found.append(piece)
        if signed:
            for found, piece in zip(
                (keys, owners, weights), band_keys(signed, shingles, hasher, cfg), strict=True
            ):
                found.append(piece)
    codes = candidate_codes(
        *weighted_pair_codes(np.concatenate(keys), np.concatenate(owners), np.concatenate(weights))
    )
    assert decode_pairs(codes).tolist() == expected


def test_pairs_made_in_chunks_of_whole_keys_are_those_of_all_rows():
    """The job hands a partition's rows, sorted by key, to weighted_pair_codes a chunk at a
    time, and sums each pair's weights over the chunks; a key of more rows than the cap
    (here one of 1,200) must still give no pair."""
    pa = pytest.importorskip("pyarrow")
    from store.spark._job import _pair_batches

    rng = np.random.default_rng(5)
    keys = np.sort(np.r_[rng.integers(0, 300, 5000), np.full(1200, 150)])
    owners = rng.permutation(len(keys))
    weights = rng.choice(np.array([WEAK, STRONG], dtype=np.uint8), len(keys), p=[0.9, 0.1])

    def batches_of(idx: np.ndarray) -> list:
        return [
            pa.RecordBatch.from_arrays(
                [
                    pa.array(keys[lo : lo + 700]),
                    pa.array(idx[lo : lo + 700]),
                    pa.array(weights[lo : lo + 700].astype(np.int32)),
                ],
                names=["ckey", "idx", "cw"],
            )
            for lo in range(0, len(keys), 700)
        ]

    def summed(batches: list, chunk: int) -> set[tuple[int, int]]:
        total: dict[tuple[int, int], int] = defaultdict(int)
        for out in _pair_batches(batches, chunk):
            cols = [out.column(c).to_pylist() for c in ("a", "b", "w")]
            for a, b, w in zip(*cols, strict=True):
                total[a, b] += w
        return {pair for pair, w in total.items() if w >= STRONG}

    codes = candidate_codes(*weighted_pair_codes(keys, owners, weights))
    expected = {tuple(p) for p in decode_pairs(codes).tolist()}
    assert 1_000 < len(expected) < len(keys) ** 2 / 20
    weak_only = candidate_codes(*weighted_pair_codes(keys, owners, np.full_like(weights, WEAK)))
    assert len(weak_only) < len(expected)  # the weights decide
    # a record reader's indices (file << 32 | record) are beyond the pair codes' packing
    far = (owners % 3) << 32 | owners
    far_of = dict(zip(owners.tolist(), far.tolist(), strict=True))
    expected_far = {tuple(sorted((far_of[a], far_of[b]))) for a, b in expected}
    assert summed(batches_of(far), 1000) == expected_far
    for chunk in (1, 500, 1000, 100_000):
        assert summed(batches_of(owners), chunk) == expected


# -- with Spark --------------------------------------------------------------------------------


def spark_lines(
    spark,
    src: Path,
    tmp: Path,
    partitions: int = 4,
    explain: bool = False,
) -> list[str]:
    from store.spark._job import spark_dedup

    out = tmp / "spark.jsonl"
    spark_dedup(spark, src, out, partitions=partitions, explain=explain)
    return out.read_text(encoding="utf-8").splitlines()


@pytest.mark.spark
def test_fixture_web_equals_local_path(spark, tmp_path):
    src = tmp_path / "web.jsonl"
    write_jsonl(src, web_rows())
    expected = local_lines(src, tmp_path)
    got = spark_lines(spark, src, tmp_path)
    assert got == expected
    clusters = {json.loads(line)["cluster"] for line in got}
    assert 1 < len(clusters) < len(got)


@pytest.mark.spark
def test_generated_corpus_equals_local_path(spark, tmp_path):
    src = tmp_path / "generated.jsonl"
    write_jsonl(src, corpus_rows(GENERATED))
    expected = local_lines(src, tmp_path)
    got = spark_lines(spark, src, tmp_path, partitions=6)
    assert len(got) == GENERATED
    assert_same_lines(got, expected)


@pytest.mark.spark
def test_variations_in_every_scope_equal_local_path_with_explain(spark, tmp_path):
    """Footers and bylines learned per host, publisher and the corpus, reuse links, copies
    of every kind: the lines left out as boilerplate are the local path's too."""
    src = tmp_path / "variations.jsonl"
    write_jsonl(src, variation_rows())
    expected = local_lines(src, tmp_path, explain=True)
    got = spark_lines(spark, src, tmp_path, explain=True)
    assert_same_lines(got, expected)
    rows = [json.loads(line) for line in got]
    ignored = {r["id"] for r in rows if r["ignored"]}
    scopes = {("url" in r) + ("publisher" in r) for r in variation_rows() if r["id"] in ignored}
    assert scopes == {0, 1, 2}  # boilerplate learned in corpus, publisher and host scopes
    assert sum(bool(r.get("reuses")) for r in rows) >= 3
    assert len({r["cluster"] for r in rows}) < len(rows) - 50


@pytest.mark.spark
def test_cli_spark_dedup_of_variations_writes_the_local_output(spark, tmp_path):
    """With ties everywhere: re-captures of a url (same key and sample key), identical
    texts under other ids (same tiebreak), undated records (first seen unknown)."""
    rows = variation_rows(seed=5, n=160)
    for n, row in enumerate(rows[:40]):
        again = {**row, "id": f"{row['id']}-again"}
        if n % 2:
            again.pop("published")
        if n % 3 == 0:
            again.pop("url", None)
        rows.insert(len(rows) - n * 3, again)
    src = tmp_path / "in.jsonl"
    write_jsonl(src, rows)
    local, remote = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert main(["dedup", "--input", str(src), "--output", str(local)]) == 0
    assert (
        main(["spark-dedup", "--input", str(src), "--output", str(remote), "--partitions", "3"])
        == 0
    )
    assert remote.read_bytes() == local.read_bytes()
    # --explain through both commands: the same lines, each record's ignored ones added
    assert main(["dedup", "--input", str(src), "--output", str(local), "--explain"]) == 0
    assert main(["spark-dedup", "--input", str(src), "--output", str(remote), "--explain"]) == 0
    assert remote.read_bytes() == local.read_bytes()
    assert any("ignored" in json.loads(line) for line in local.read_text().splitlines())


@pytest.mark.spark
def test_parquet_input_equals_local_path(spark, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(corpus_records()), src, row_group_size=2)
    assert spark_lines(spark, src, tmp_path) == local_lines(src, tmp_path)


@pytest.mark.spark
@pytest.mark.parametrize(
    "line,why",
    [
        ("{not json", "in.jsonl:3: not valid JSON"),
        ('{"id": "x"}', "in.jsonl:3: 'text' must be a string"),
        ('{"id": "a", "text": "dup"}', "duplicate id 'a'"),
        ('{"id": "z", "text": "t", "published": "yesterday"}', "ISO-8601"),
    ],
)
def test_bad_input_is_the_local_readers_error(spark, tmp_path, line, why):
    from store.spark._job import spark_dedup

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_bad_jsonl(src, line)
    with pytest.raises(CorpusError) as local_err:
        read_corpus(src)
    with pytest.raises(CorpusError, match=why) as spark_err:
        spark_dedup(spark, src, out)
    assert str(spark_err.value) == str(local_err.value)
    assert not out.exists()


@pytest.mark.spark
def test_cli_spark_dedup_writes_the_local_output(spark, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    write_jsonl(src, corpus_records())
    local, remote = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert main(["dedup", "--input", str(src), "--output", str(local)]) == 0
    assert (
        main(["spark-dedup", "--input", str(src), "--output", str(remote), "--partitions", "2"])
        == 0
    )
    assert remote.read_bytes() == local.read_bytes()
    assert "5 records in 3 clusters" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "local.jsonl", "spark.jsonl"]


@pytest.mark.spark
def test_cli_spark_dedup_bad_input_exits_2(spark, tmp_path, capsys):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"id": "a"}\n', encoding="utf-8")
    assert main(["spark-dedup", "--input", str(src), "--output", str(out)]) == 2
    assert "in.jsonl:1: 'text' must be a string" in capsys.readouterr().err
    assert not out.exists()
    missing = tmp_path / "nope.jsonl"
    assert main(["spark-dedup", "--input", str(missing), "--output", str(out)]) == 2
    assert "No such file" in capsys.readouterr().err
