"""``newsdedup extract`` as a batch tool: many pages, folders, JSON Lines, --url, URLs."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.cli import main
from tests.webserver import Reply, ScriptedServer

pytestmark = pytest.mark.quick

PAGES = Path(__file__).parent / "data" / "pages"


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_many_files_give_one_json_line_each_with_its_file(capsys):
    files = sorted(str(p) for p in PAGES.glob("*.html"))
    assert main(["extract", *files, "--json"]) == 0
    rows = jsonl(capsys.readouterr().out)
    assert [r["file"] for r in rows] == files
    assert all(r["body"] and r["title"] for r in rows)


def test_a_folder_is_read_recursively_in_name_order_gzip_included(tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    shutil.copy(PAGES / "de_dpa.html", tmp_path / "b.html")
    (tmp_path / "sub" / "a.html.gz").write_bytes(
        gzip.compress((PAGES / "es_efe.html").read_bytes())
    )
    (tmp_path / "notes.md").write_text("not a page", encoding="utf-8")
    assert main(["extract", str(tmp_path), "--json"]) == 0
    rows = jsonl(capsys.readouterr().out)
    assert [Path(r["file"]).name for r in rows] == ["b.html", "a.html.gz"]
    assert rows[0]["language"].startswith("de") and rows[1]["language"].startswith("es")


def test_a_bad_page_in_a_batch_is_reported_and_the_rest_is_kept(tmp_path, capsys):
    bad = tmp_path / "empty.html"
    bad.write_text("", encoding="utf-8")
    good = PAGES / "fr_afp_dom.html"
    assert main(["extract", str(good), str(bad), "--json"]) == 1
    captured = capsys.readouterr()
    rows = jsonl(captured.out)
    assert rows[0]["file"] == str(good) and rows[0]["body"]
    assert rows[1] == {"file": str(bad), "error": f"{bad}: is empty"}
    assert f"{bad}: is empty" in captured.err


def test_every_page_failing_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "a.html"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    assert main(["extract", str(bad), str(tmp_path / "missing.html")]) == 2
    assert "binary data" in capsys.readouterr().err


def test_url_gives_a_saved_page_its_address(capsys):
    page = PAGES / "en_ap_pullquote.html"
    assert main(["extract", str(page), "--json", "--url", "https://news.example.com/x/y"]) == 0
    row = jsonl(capsys.readouterr().out)[0]
    assert row["url"] == "https://news.example.com/x/y"
    assert row["canonical_url"].startswith("https://")


def test_url_needs_exactly_one_page(capsys):
    assert (
        main(
            [
                "extract",
                str(PAGES / "de_dpa.html"),
                str(PAGES / "es_efe.html"),
                "--url",
                "https://e.example/",
            ]
        )
        == 2
    )
    assert "exactly one page" in capsys.readouterr().err


def test_a_url_goes_through_the_crawlers_fetcher_and_its_guards(tmp_path, capsys):
    html = (PAGES / "es_efe.html").read_bytes()
    with ScriptedServer(
        {
            "/a.html": Reply(body=html),
            "/robots.txt": Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
        }
    ) as srv:
        # Loopback is refused by the SSRF guard unless the config allows it.
        assert main(["extract", srv.url("/a.html")]) == 1
        assert "127.0.0.1" in capsys.readouterr().err
        config = tmp_path / "c.toml"
        config.write_text(
            '[crawl]\nallow_hosts = ["127.0.0.1"]\nper_host_delay = 0\n'
            '[[sources]]\nurl = "http://127.0.0.1/"\n',
            encoding="utf-8",
        )
        assert main(["extract", srv.url("/a.html"), "--json", "--config", str(config)]) == 0
        agents = [r.headers.get("user-agent", "") for r in srv.requests]
    assert jsonl(capsys.readouterr().out)[0]["language"] == "es"
    assert agents and all(a.startswith("newsdedup/") for a in agents)


def test_extract_starts_without_loading_the_engine(tmp_path):
    """The extraction path imports extraction only: no numpy, datasketch or HTTP client."""
    code = (
        "import sys; from crawler.cli import main; "
        f"main(['extract', {str(PAGES / 'de_dpa.html')!r}, '--json']); "
        "sys.stderr.write(' '.join(m for m in ('numpy', 'datasketch', 'httpx', "
        "'store.dedup', 'store.backends') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == ""


@pytest.mark.parametrize("flag", ["-v", "-q"])
def test_output_flags_work_after_the_command_too(flag, capsys):
    assert main(["extract", str(PAGES / "de_dpa.html"), flag]) == 0
    assert "title:" in capsys.readouterr().out
