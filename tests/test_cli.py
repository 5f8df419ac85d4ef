"""Every CLI command, through the real console script or its main()."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from crawler.cli._main import main
from store import open_store
from tests.cli import newsdedup
from tests.fixtureweb import sitemap_config

pytestmark = pytest.mark.quick

DATA = Path(__file__).parent / "data"
SEED = DATA / "seed-chinadaily-bloomberg.txt"
COMMANDS = ("crawl", "dedup", "report", "run", "demo", "extract")


def test_help_lists_every_command():
    out = newsdedup("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        assert command in out.stdout


def test_extract_seed_page_as_json(capsys):
    assert main(["extract", str(SEED), "--json", "--explain"]) == 0
    doc = json.loads(capsys.readouterr().out)
    lines = [ln for ln in SEED.read_text(encoding="utf-8").splitlines() if ln.strip()]
    story = [
        ln
        for ln in lines
        if ln.startswith(
            (
                "Turkey approached",
                "In a phone call",
                "The outreach",
                "Ankara has not",
                "Turkey says",
            )
        )
    ]
    assert doc["body"] == story
    assert doc["byline"] == "By Bloomberg"
    assert doc["published"].startswith("2020-09-25T18:11")
    assert {d["rule"].split(":")[0] for d in doc["dropped"]} >= {"pull-quote", "link-line"}


@pytest.mark.parametrize(
    "content,why",
    [
        (b"\x00\x01\x02\xff" * 2000, "binary"),
        (b"", "empty"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no article text"),
    ],
)
def test_extract_bad_file_is_a_clear_error_with_exit_2(tmp_path, capsys, content, why):
    bad = tmp_path / "bad.html"
    bad.write_bytes(content)
    assert main(["extract", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and why in err


def test_extract_missing_file_exit_2(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "nope.html")]) == 2
    assert "nope.html" in capsys.readouterr().err


def test_config_error_exit_2(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[crawl]\nper_host_dealy = 1\n[[sources]]\nurl = "http://127.0.0.1:9/"\n')
    assert main(["crawl", "--config", str(cfg)]) == 2
    assert "per_host_dealy" in capsys.readouterr().err


def test_store_error_exit_3(tmp_path, capsys):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 500)
    assert main(["report", "--store", str(junk)]) == 3
    assert "junk.db" in capsys.readouterr().err


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = newsdedup("demo", "--dir", str(out), "--json")
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


@pytest.mark.slow
def test_demo_json_summary_meets_the_bar(demo_dir):
    _, summary = demo_dir
    assert {"articles", "clusters", "precision", "recall", "f1"} <= set(summary)
    assert summary["articles"] == summary["ground_truth_pages"]
    assert summary["clusters"] > 0
    assert summary["f1"] >= 0.95


@pytest.mark.slow
def test_report_formats_on_the_demo_store(demo_dir, capsys):
    out, summary = demo_dir
    store = str(out / "demo.db")
    assert main(["report", "--store", store, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["articles"] == summary["articles"] and len(doc["clusters"]) == summary["clusters"]
    assert all(sum(m["is_origin"] for m in c["members"]) == 1 for c in doc["clusters"])
    assert main(["report", "--store", store, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == sum(c["size"] for c in doc["clusters"])
    assert main(["report", "--store", store]) == 0
    assert "origin:" in capsys.readouterr().out


@pytest.mark.slow
def test_dedup_rebuild_on_the_demo_store_keeps_clusters(demo_dir, tmp_path, capsys):
    out, _ = demo_dir
    copy = tmp_path / "copy.db"
    shutil.copy(out / "demo.db", copy)
    with open_store(copy) as st:
        before = st.clusters_of(st.article_ids())
    assert main(["dedup", "--store", str(copy), "--rebuild"]) == 0
    assert "signed" in capsys.readouterr().out
    with open_store(copy) as st:
        assert st.clusters_of(st.article_ids()) == before


@pytest.mark.slow
def test_run_command_twice_is_idempotent(news_server, tmp_path):
    cfg = sitemap_config(news_server(3), tmp_path)
    first = newsdedup("-q", "run", "--config", str(cfg), "--format", "json")
    assert first.returncode == 0, first.stderr
    with open_store(tmp_path / "s.db") as st:
        counts, ids = st.counts(), st.clusters_of(st.article_ids())
    second = newsdedup("-q", "run", "--config", str(cfg), "--format", "json")
    assert second.returncode == 0, second.stderr
    with open_store(tmp_path / "s.db") as st:
        assert st.counts()["articles"] == counts["articles"]
        assert st.clusters_of(st.article_ids()) == ids
    assert json.loads(first.stdout)["clusters"] == json.loads(second.stdout)["clusters"]


@pytest.mark.slow
def test_check_passes_a_sound_store_and_flags_a_broken_one(demo_dir, tmp_path, capsys):
    out, _ = demo_dir
    copy = tmp_path / "copy.db"
    shutil.copy(out / "demo.db", copy)
    assert main(["check", "--store", str(copy)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("ok")
    with sqlite3.connect(copy) as con:  # a representative vanishes, as a bug might do
        con.execute(
            "DELETE FROM memberships WHERE article_id = (SELECT representative FROM"
            " clusters WHERE id IN (SELECT cluster_id FROM memberships"
            " GROUP BY cluster_id HAVING COUNT(*) > 1) ORDER BY id LIMIT 1)"
        )
    assert main(["check", "--store", str(copy)]) == 3
    report = capsys.readouterr().out
    assert "representative is missing" in report and "signatures without" in report
