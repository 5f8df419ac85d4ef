"""What an operator reads: log lines, piped reports, messages, and what a demo leaves behind.

Everything runs through the installed console script against servers on 127.0.0.1, with
stderr and stdout as cron gives them (pipes), unless a test says it wants a terminal.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler._config import load_config
from crawler.cli._main import build_parser
from crawler.fixtures import build_web
from store import open_store
from tests.builders import GAZETTE_FEED, gazette_article, rss
from tests.cli import newsdedup_exe
from tests.fixtureweb import sitemap_config
from tests.webserver import Reply, ScriptedServer

pytestmark = pytest.mark.quick


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The console script with piped output, COLUMNS unset unless ``env`` sets it."""
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        [newsdedup_exe(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **(env or {})},
        timeout=300,
    )


def json_lines(stderr: str) -> list[dict]:
    """Every stderr line as JSON: one that does not parse fails the test."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def web(news_server):
    return news_server(3)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    done = cli("demo", "--dir", str(out), "--json")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def report_json(demo_dir) -> dict:
    done = cli("report", "--store", str(demo_dir / "demo.db"), "-f", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- logging -----------------------------------------------------------------------------


@pytest.mark.slow
def test_v_after_the_command_adds_a_line_per_page(web, tmp_path):
    quiet = cli(
        "crawl",
        "-c",
        str(sitemap_config(web, tmp_path, store="a.db")),
        "--max-pages",
        "4",
        "--log-format",
        "text",
    )
    assert quiet.returncode == 0, quiet.stderr
    assert len(
        re.findall(r"^INFO source http\S+ \[sitemap\]: \d+ found, \d+ new", quiet.stderr, re.M)
    ) == len(web.web.hosts)
    assert "stored http" not in quiet.stderr

    loud = cli(
        "crawl",
        "-c",
        str(sitemap_config(web, tmp_path, store="b.db")),
        "--max-pages",
        "4",
        "--log-format",
        "text",
        "-v",
    )
    stored = re.findall(r"^INFO stored (http\S+) \(HTTP 200\)$", loud.stderr, re.M)
    assert len(stored) == 4
    with open_store(tmp_path / "b.db") as st:
        assert {a.url for a in st.articles(st.article_ids())} == set(stored)
    assert "DEBUG" not in loud.stderr

    debug = cli(
        "-vv",
        "crawl",
        "-c",
        str(sitemap_config(web, tmp_path, store="c.db")),
        "--max-pages",
        "1",
        "--log-format",
        "text",
    )
    assert re.search(
        r"^DEBUG fetched http\S+/sitemap.xml \[sitemap\]: HTTP 200", debug.stderr, re.M
    ), debug.stderr


def test_json_log_lines_parse_and_carry_their_facts(tmp_path):
    with ScriptedServer() as srv:
        srv.routes.update(
            {
                "/robots.txt": Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
                "/feed.xml": Reply(
                    body=rss(srv.base, ["/ok.html", "/gone.html"], **GAZETTE_FEED),
                    content_type="application/rss+xml",
                ),
                "/ok.html": Reply(body=gazette_article("Harbour plan approved")),
                "/gone.html": Reply(404, body="gone"),
            }
        )
        cfg = tmp_path / "c.toml"
        cfg.write_text(
            f'store = {{ path = "s.db" }}\n[crawl]\nper_host_delay = 0.0\n'
            f'max_retries = 0\nallow_hosts = ["127.0.0.1"]\n'
            f'[[sources]]\nurl = "{srv.url("/feed.xml")}"\nkind = "feed"\n'
        )
        done = cli("crawl", "-v", "-c", str(cfg))  # stderr is a pipe: JSON by default
    assert done.returncode == 1  # a page failed
    lines = json_lines(done.stderr)
    by_event = {d.get("event"): d for d in lines if d["logger"] == "newsdedup.page"}
    ok, gone = by_event["stored"], by_event["failed"]
    assert ok["url"] == srv.url("/ok.html") and ok["status"] == 200 and ok["level"] == "info"
    assert ok["source"] == srv.url("/feed.xml")
    assert gone["url"] == srv.url("/gone.html") and gone["status"] == 404
    assert gone["reason"] == "HTTP 404" and gone["level"] == "warning"
    source = next(d for d in lines if d.get("source") == srv.url("/feed.xml") and "found" in d)
    assert (source["found"], source["new"], source["kind"]) == (2, 2, "feed")


@pytest.mark.slow
def test_discovery_shows_a_progress_line_on_a_terminal(web, tmp_path):
    """stderr on a pseudo-terminal, as a person running the crawl by hand has it."""
    cfg = sitemap_config(web, tmp_path)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [newsdedup_exe(), "crawl", "-c", str(cfg), "--max-pages", "2"],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    assert b"discovering" in seen, seen[-2000:]
    assert re.search(rb"discovering.*\d+/%d" % len(web.web.hosts), seen)


@pytest.mark.slow
def test_a_dead_host_says_unreachable_and_the_totals_say_every_source_failed(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the crawl runs: connection refused
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'store = {{ path = "s.db" }}\n[crawl]\nmax_retries = 0\ntimeout = 2\n'
        f'allow_hosts = ["127.0.0.1"]\n'
        f'[[sources]]\nurl = "http://127.0.0.1:{port}/"\nkind = "homepage"\n'
        f'[[sources]]\nurl = "http://127.0.0.1:{port}/rss"\nkind = "feed"\n'
    )
    done = cli("crawl", "-c", str(cfg))
    assert done.returncode == 1
    homepage = done.stdout.splitlines()[0]
    assert "robots.txt unavailable" in homepage and "disallow" not in homepage, homepage
    assert "2 of 2 sources failed" in done.stdout.splitlines()


@pytest.mark.slow
def test_the_304_note_is_said_once(web, tmp_path):
    cfg = sitemap_config(web, tmp_path)
    assert cli("crawl", "-c", str(cfg), "-q").returncode == 0
    again = json.loads(cli("crawl", "-c", str(cfg), "-q", "--json").stdout)
    for source in again["sources"]:
        assert source["why_empty"].count("HTTP 304") == 1, source


# -- reports -----------------------------------------------------------------------------


@pytest.mark.slow
def test_piped_text_report_is_not_hard_wrapped(demo_dir, report_json):
    done = cli("report", "--store", str(demo_dir / "demo.db"))
    lines = done.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines), "trailing spaces"
    assert "most copied origin" in lines[0] and lines[0].endswith(")")  # one line, whole
    rows = [line for line in lines if re.match(r"^\s*\d+ \| +\d+ \|", line)]
    assert len(rows) == len(report_json["clusters"])  # one line per cluster: nothing folded
    for c in report_json["clusters"]:
        assert any(c["headline"] in row for row in rows), c["headline"]
    assert max(map(len, lines)) > 120  # the headlines did not fit 120 columns, and need not


@pytest.mark.slow
def test_report_honours_columns_and_never_folds_a_url(demo_dir, report_json):
    db = str(demo_dir / "demo.db")
    narrow = cli("report", "--store", db, env={"COLUMNS": "80"})
    table = [line for line in narrow.stdout.splitlines()[1:] if "|" in line]
    assert table and all(len(line) <= 80 for line in table)
    assert all(line == line.rstrip() for line in narrow.stdout.splitlines())
    cluster = report_json["clusters"][0]
    one = cli("report", "--store", db, "--cluster", str(cluster["id"]), env={"COLUMNS": "60"})
    assert one.returncode == 0
    for member in cluster["members"]:
        assert member["url"] in one.stdout, member["url"]
    assert "1 story published more than once" in one.stdout  # not "1 stories"


@pytest.mark.slow
def test_report_format_follows_the_output_extension(demo_dir, tmp_path):
    out = tmp_path / "week.parquet"
    assert cli("report", "--store", str(demo_dir / "demo.db"), "-o", str(out)).returncode == 0
    assert out.read_bytes()[:4] == b"PAR1"


@pytest.mark.slow
def test_an_empty_selection_says_so(demo_dir, report_json):
    db = str(demo_dir / "demo.db")
    for fmt in ("text", "markdown", "html"):
        done = cli("report", "--store", db, "--since", "2099-01-01", "-f", fmt, "-o", "-")
        assert done.returncode == 0
        assert "No cluster matches the selection" in done.stdout, fmt
        assert "2099-01-01" in done.stdout
        assert f"{len(report_json['clusters'])} clusters in the store lie outside it" in (
            done.stdout
        )
        assert "No story was found" not in done.stdout


def _without_root_powers() -> list[str]:
    """A command prefix under which folder permissions hold: root ignores them unless it
    gives up CAP_DAC_OVERRIDE (and its read twin), which setpriv does for one child."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder is not read-only")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.slow
def test_a_store_in_a_read_only_folder_is_readable(demo_dir, report_json, tmp_path):
    folder = tmp_path / "snapshot"
    folder.mkdir()
    shutil.copy(demo_dir / "demo.db", folder / "demo.db")
    # What a store copied mid-life or on a snapshot has: a -wal file and no -shm, which
    # SQLite cannot create in a read-only folder ("unable to open database file").
    (folder / "demo.db-wal").write_bytes(b"")
    for p in folder.iterdir():
        os.chmod(p, 0o444)
    os.chmod(folder, 0o555)
    try:
        as_reader = _without_root_powers()
        touch = subprocess.run(
            [*as_reader, "touch", str(folder / "x")], capture_output=True, timeout=60
        )
        assert touch.returncode != 0, "the folder is not read-only for its reader"
        store = str(folder / "demo.db")
        report = subprocess.run(
            [*as_reader, newsdedup_exe(), "report", "-f", "json", "--store", store],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert report.returncode == 0, report.stderr
        assert json.loads(report.stdout) | {"generated": None} == report_json | {"generated": None}
        check = subprocess.run(
            [*as_reader, newsdedup_exe(), "check", "--store", store],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert check.returncode == 0 and check.stdout.rstrip().endswith("ok"), check.stderr
    finally:
        os.chmod(folder, 0o755)


# -- leftovers and small promises --------------------------------------------------------


def _copies_corpus(path: Path) -> None:
    base = " ".join(
        f"Sentence {i} of the wire story says the council voted on item {i * 7}." for i in range(30)
    )
    other = " ".join(
        f"Line {i}: the harbour board met about dredging plan {i * 3}." for i in range(30)
    )
    rows = [
        {"id": "a", "text": base},
        {"id": "b", "text": base + " Copied by a paper."},
        {"id": "c", "text": other},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_dedup_output_dash_is_stdout(tmp_path):
    _copies_corpus(tmp_path / "c.jsonl")
    done = cli("dedup", "--input", "c.jsonl", "--output", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["cluster"] == rows[1]["cluster"] != rows[2]["cluster"]
    assert "written to stdout" in done.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.slow
def test_import_warc_takes_a_folder_like_dedup_input(web, tmp_path):
    cfg = sitemap_config(web, tmp_path, store="crawled.db")
    assert cli("crawl", "-q", "-c", str(cfg), "--warc", str(tmp_path / "warc")).returncode == 0
    assert list((tmp_path / "warc").glob("*.warc.gz"))
    done = cli("import-warc", str(tmp_path / "warc"), "--store", str(tmp_path / "imported.db"))
    assert done.returncode == 0, done.stderr
    with open_store(tmp_path / "crawled.db") as a, open_store(tmp_path / "imported.db") as b:
        assert b.article_count() == a.article_count() == len(web.web.pages)
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = cli("import-warc", str(empty), "--store", str(tmp_path / "x.db"))
    assert refused.returncode == 2 and "no WARC files" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.slow
def test_demo_leftovers_are_usable(demo_dir):
    truth = demo_dir / "ground-truth.json"
    scored = cli("eval", "--input", str(truth), "--store", str(demo_dir / "demo.db"), "--json")
    assert scored.returncode == 0, scored.stderr
    doc = json.loads(scored.stdout)
    assert doc["scored"] == doc["labelled"] == len(json.loads(truth.read_text())["pages"])
    assert doc["f1"] >= 0.95
    via_config = cli(
        "eval", "--input", str(truth), "--config", str(demo_dir / "newsdedup.toml"), "--json"
    )
    assert json.loads(via_config.stdout) == doc
    no_store = cli("eval", "--input", str(truth))
    assert no_store.returncode == 2 and f"--store {demo_dir / 'demo.db'}" in no_store.stderr
    config = (demo_dir / "newsdedup.toml").read_text()
    assert "ports closed when the demo ended" in config
    assert "python -m crawler.fixtures" in config
    load_config(demo_dir / "newsdedup.toml")  # still a valid config


@pytest.mark.slow
def test_fixtures_command_serves_and_prints_a_config_that_crawls(tmp_path):
    """`python -m crawler.fixtures`, as the README says to re-serve the demo web."""
    cmd = [sys.executable, "-m", "crawler.fixtures", "--seed", "3"]
    proc = subprocess.Popen(
        [*cmd, "--config", str(tmp_path / "f.toml"), "--store", "f.db"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "serving" in proc.stderr.readline()
        done = cli("crawl", "-q", "-c", str(tmp_path / "f.toml"), "--max-pages", "5", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["stored"] == 5
        assert (tmp_path / "f.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    printing = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "serving" in printing.stderr.readline()
    printing.send_signal(signal.SIGINT)
    out, _ = printing.communicate(timeout=60)
    assert printing.returncode == 0
    (tmp_path / "printed.toml").write_text(out)
    cfg = load_config(tmp_path / "printed.toml")
    assert len(cfg.sources) == len(build_web(3).hosts)


def test_every_option_has_help_text():
    missing = []

    def walk(parser, name):
        for action in parser._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for sub, sp in action.choices.items():
                    walk(sp, sub)
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    from crawler.fixtures.__main__ import build_parser as fixtures_parser

    walk(build_parser(), "newsdedup")
    walk(fixtures_parser(), "python -m crawler.fixtures")
    assert missing == []
