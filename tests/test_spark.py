"""Spark batch dedup (issue 8): the same clusters as `newsdedup dedup --input`, line by line.

The decomposition the Spark job relies on is tested without Spark too: replaying the
store's placement per connected component of the LSH-candidate graph must give exactly
the local path's rows.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from crawler.cli._main import main
from crawler.fixtures import build_web
from store import CorpusError, CorpusRecord, DedupConfig, cluster_corpus, read_corpus
from store.dedup._core import sign_texts
from store.dedup._corpus import write_assignments
from store.dedup._inmemory import cluster_in_memory, cluster_signed, sign_records
from store.dedup._minhash import MinHasher
from tests.builders import corpus_records, write_bad_jsonl, write_jsonl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_spark import corpus_rows  # noqa: E402

pytestmark = pytest.mark.quick

FULL = os.environ.get("NEWSDEDUP_FULL") == "1"
GENERATED = 50_000 if FULL else 10_000


def web_rows() -> list[dict]:
    web = build_web(7)
    return [{"id": f"{p.host}{p.path}", "text": "\n\n".join(web.expected_body(p)),
             "published": p.published.isoformat()} for p in web.pages]


def local_lines(src: Path, tmp: Path) -> list[str]:
    out = tmp / "local.jsonl"
    write_assignments(cluster_corpus(read_corpus(src)), out)
    return out.read_text(encoding="utf-8").splitlines()


# -- without Spark: the decomposition itself ---------------------------------------------------


def _components(signed) -> list[list]:
    """Connected components of the shared-(band, bucket) graph, by union-find."""
    parent = {r.index: r.index for r in signed}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[int, int], int] = {}
    for r in signed:
        for band, key in enumerate(r.keys.tolist()):
            other = first.setdefault((band, key), r.index)
            parent[root(r.index)] = root(other)
    groups: dict[int, list] = {}
    for r in signed:
        groups.setdefault(root(r.index), []).append(r)
    return list(groups.values())


@pytest.mark.slow
def test_replay_per_component_equals_the_local_path():
    cfg = DedupConfig()
    records = [CorpusRecord(r["id"], r["text"]) for r in corpus_rows(3000, seed=3)]
    local = cluster_corpus(records, cfg)
    assert cluster_in_memory(records, cfg) == local
    signed = sign_records(records, cfg, MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme))
    parts = _components(signed)
    assert 1 < len(parts) < len(records)  # the corpus really has multi-record components
    by_index = {}
    for part in parts:
        for rec, row in zip(sorted(part, key=lambda r: r.index), cluster_signed(part, cfg),
                            strict=True):
            by_index[rec.index] = row
    assert [by_index[i] for i in range(len(records))] == local
    assert sum(r.cluster != r.id for r in local) > 500  # plenty of near-copies joined


def test_sign_texts_is_what_sign_records_uses():
    cfg = DedupConfig()
    hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.minhash_scheme)
    text = corpus_records()[0]["text"]
    sets, _, keys = sign_texts([text], cfg, hasher)
    (rec,) = sign_records([CorpusRecord("a", text)], cfg, hasher)
    assert (rec.shingles == sets[0]).all() and (rec.keys == keys[0]).all()


# -- with Spark --------------------------------------------------------------------------------


def spark_lines(spark, src: Path, tmp: Path, partitions: int = 4) -> list[str]:
    from store.spark._job import spark_dedup

    out = tmp / "spark.jsonl"
    spark_dedup(spark, src, out, partitions=partitions)
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
    for n, (a, b) in enumerate(zip(got, expected, strict=True), 1):
        assert a == b, f"record {n} differs"


@pytest.mark.spark
def test_parquet_input_equals_local_path(spark, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(corpus_records()), src, row_group_size=2)
    assert spark_lines(spark, src, tmp_path) == local_lines(src, tmp_path)


@pytest.mark.spark
@pytest.mark.parametrize("line,why", [
    ("{not json", "in.jsonl:3: not valid JSON"),
    ('{"id": "x"}', "in.jsonl:3: 'text' must be a string"),
    ('{"id": "a", "text": "dup"}', "duplicate id 'a'"),
    ('{"id": "z", "text": "t", "published": "yesterday"}', "ISO-8601"),
])
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
    assert main(["spark-dedup", "--input", str(src), "--output", str(remote),
                 "--partitions", "2"]) == 0
    assert remote.read_bytes() == local.read_bytes()
    assert "5 records in 3 clusters" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "local.jsonl",
                                                          "spark.jsonl"]


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
