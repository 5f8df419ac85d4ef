"""`newsdedup dedup --input`, `newsdedup eval`: clustering a corpus without crawling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from crawler.cli._main import main
from store.dedup._scratch import scratch_folder
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


# A process that holds a scratch folder (or a partial output file) until it is killed: it
# prints the path.
_HOLDER = """
import sys, time
from pathlib import Path
from store.dedup._scratch import partial_file, scratch_folder
if sys.argv[2] == "folder":
    with scratch_folder("load", sys.argv[1]) as path:
        (path / "band0").write_bytes(b"x" * 65536)
        print(path, flush=True)
        time.sleep(600)
else:
    fd, path = partial_file(Path(sys.argv[1]))
    print(path, flush=True)
    time.sleep(600)
"""


def _hold_scratch(where, kind: str = "folder") -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(where), kind], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_killed_runs_scratch_folder_is_removed_by_the_next_run_and_a_live_one_kept(
    tmp_path, monkeypatch, capsys
):
    """``kill -9`` skips Python's clean-up: a 10M load leaves 20 GiB of spill behind. The
    next `dedup --input` in the same folder removes it, says so, and leaves alone a
    folder whose process still runs, one younger than a minute (its process may not have
    locked it yet) and one that is not a scratch folder."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    killed, killed_path = _hold_scratch(scratch)
    live, live_path = _hold_scratch(scratch)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert killed_path.is_dir()  # nothing cleaned it up
        young, young_path = _hold_scratch(scratch)  # killed too, but just now
        young.send_signal(signal.SIGKILL)
        young.wait()
        old = time.time() - 120  # older than the grace a folder being set up gets
        for path in (killed_path, live_path):
            os.utime(path, (old, old))
        foreign = scratch / "newsdedup-notes"
        foreign.mkdir()
        monkeypatch.setenv("TMPDIR", str(scratch))
        monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
        src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        write_jsonl(src, corpus_records())
        assert main(["dedup", "--input", str(src), "--output", str(out)]) == 0
        assert not killed_path.exists()
        assert live_path.is_dir() and (live_path / "band0").exists()
        assert foreign.is_dir()
        assert sorted(p.name for p in scratch.iterdir()) == sorted(
            [live_path.name, young_path.name, foreign.name]
        )
        assert f"{killed_path}: removed 0.1 MiB of scratch files" in capsys.readouterr().err
    finally:
        live.kill()
        live.wait()
    for path in (live_path, young_path):
        os.utime(path, (old, old))
    with scratch_folder("parts", scratch):  # their owners gone, the last two go too
        assert not live_path.exists() and not young_path.exists()


def test_a_killed_runs_partial_output_is_removed_by_the_next_run_writing_it(tmp_path, capsys):
    """The output is written under a temporary name and renamed when complete; a run killed
    before that leaves the partial file, which the next run writing the same output removes.
    A partial file whose writer lives, or that is younger than a minute (its writer may not
    have locked it yet), and the user's own files stay."""
    out = tmp_path / "out.jsonl"
    killed, killed_path = _hold_scratch(out, "partial")
    live, live_path = _hold_scratch(out, "partial")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        young, _ = _hold_scratch(out, "partial")  # killed too, but just now
        young.send_signal(signal.SIGKILL)
        young.wait()
        old = time.time() - 120
        for path in (killed_path, live_path):
            os.utime(path, (old, old))
        mine = tmp_path / ".out.jsonl.bak"
        mine.write_text("the user's")
        src = tmp_path / "in.jsonl"
        write_jsonl(src, corpus_records())
        assert main(["dedup", "--input", str(src), "--output", str(out)]) == 0
        assert len(out.read_text().splitlines()) == 5
        assert not killed_path.exists()
        assert live_path.exists() and mine.read_text() == "the user's"
        left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl"))
        assert len(left) == 3  # the live one, the young one, the user's
        assert f"{killed_path}: removed a partial output" in capsys.readouterr().err
    finally:
        live.kill()
        live.wait()
