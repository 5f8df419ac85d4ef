"""`newsdedup dedup --input`, `newsdedup eval`: clustering a corpus without crawling."""

from __future__ import annotations

import json

import pytest

from crawler.cli._main import main
from tests.builders import corpus_records, story, write_bad_jsonl, write_jsonl

pytestmark = pytest.mark.quick


def test_dedup_input_jsonl_writes_one_row_per_record(tmp_path, capsys):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, corpus_records())
    assert main(["dedup", "--input", str(src), "--output", str(out)]) == 0
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert list(rows) == ["a", "b", "c", "d", "e"]
    assert set(rows["a"]) == {"id", "cluster", "origin_id", "similarity", "containment"}
    assert rows["a"]["cluster"] == rows["b"]["cluster"] == rows["c"]["cluster"]
    assert rows["d"]["cluster"] != rows["a"]["cluster"]
    assert rows["e"]["cluster"] not in (rows["a"]["cluster"], rows["d"]["cluster"])
    assert rows["a"]["origin_id"] == "b"  # earliest published
    assert rows["c"]["containment"] == pytest.approx(0.5, abs=0.1)


def test_dedup_input_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src, out = tmp_path / "in.parquet", tmp_path / "out.jsonl"
    rows = corpus_records()
    pq.write_table(pa.Table.from_pylist(rows), src)
    assert main(["dedup", "--input", str(src), "--output", str(out)]) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in got] == [r["id"] for r in rows]


@pytest.mark.parametrize(
    "line,why",
    [
        ("{not json", "line 3"),
        ('{"id": "x"}', "'text'"),
        ('["a", "b"]', "JSON object"),
        ('{"id": "a", "text": "dup"}', "duplicate id"),
        ('{"id": "z", "text": "t", "published": "yesterday"}', "ISO-8601"),
    ],
)
def test_bad_input_names_the_line_and_writes_nothing(tmp_path, capsys, line, why):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_bad_jsonl(src, line)
    assert main(["dedup", "--input", str(src), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert why.replace("line 3", "in.jsonl:3") in err or why in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_eval_scores_a_labelled_corpus(tmp_path, capsys):
    src = tmp_path / "labelled.jsonl"
    write_jsonl(src, corpus_records())
    assert main(["eval", "--input", str(src), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["labelled"] == 5
    assert doc["f1"] == 1.0 and doc["ari"] == 1.0


def test_a_bounded_shingle_cache_changes_no_cluster(monkeypatch):
    """The pass drops old shingle sets past its limit and re-reads them when asked again;
    that must be invisible in the clusters, only in the memory."""
    import store.dedup._pass as D
    from store import CorpusRecord, cluster_corpus

    records = []
    for s in range(8):  # eight stories, each copied twice, interleaved so copies come late
        text = story(100 + s)
        records += [
            CorpusRecord(f"{s}-a", text),
            CorpusRecord(f"{s}-b", text + " Ends."),
            CorpusRecord(f"{s}-c", " ".join(text.split()[30:])),
        ]
    records = records[::3] + records[1::3] + records[2::3]
    unbounded = cluster_corpus(records)
    monkeypatch.setattr(D, "_CACHE_LIMIT", 2)
    bounded = cluster_corpus(records)
    assert bounded == unbounded
    assert len({row.cluster for row in bounded}) == 8
