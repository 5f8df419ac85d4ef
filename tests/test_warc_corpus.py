"""WARC files as a corpus (issue 8): `dedup --input X.warc.gz` and `spark-dedup` on archives.

The records come from the crawl's own extraction, with template lines learned per host
within each file, so the same file gives the same records to both paths, and the Spark
job's output must equal the local one line for line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.cli._main import main
from crawler.fixtures import build_web
from crawler.warc._records import warc_records
from store import CorpusError
from store.dedup._corpus import ReadReport, read_with
from tests.builders import article_page, story

pytestmark = pytest.mark.quick

APP_LINE = "Get the Harbor Ledger app for alerts on every breaking story as it happens"


def _http(status: str, ctype: str) -> StatusAndHeaders:
    return StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")


def write_fixture_warc(path: Path, seed: int = 7) -> dict[str, str]:
    """Every article page and homepage of a fixture web as responses (no server needed);
    returns article URL -> story id, the ground truth."""
    web = build_web(seed)
    truth = {}
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        targets = [(h, "/") for h in web.hosts] + [(p.host, p.path) for p in web.pages]
        for host, route in targets:
            base = f"http://{host}.fixture.test"
            status, ctype, body = web.page_for(host, route, base)
            w.write_record(
                w.create_warc_record(
                    base + route,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=_http(f"{status} OK", ctype),
                )
            )
    for p in web.pages:
        truth[f"http://{p.host}.fixture.test{p.path}"] = p.story_id
    return truth


def article(title: str, paragraphs: list[str]) -> str:
    """An article page with no ``lang``: the language must come from the text."""
    return article_page(title, paragraphs, lang=None)


def write_cc_news_like(path: Path) -> list[str]:
    """A WARC/1.0 file shaped like CC-NEWS: one gzip member per record, responses without
    request records, and records that must give nothing. Returns the HTML 200s' ids."""
    ids = []
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.0")
        w.write_record(w.create_warcinfo_record(path.name, {"software": "StormCrawler"}))

        def response(uri: str, status: str, ctype: str, body: bytes) -> str:
            rec = w.create_warc_record(
                uri,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=_http(status, ctype),
                warc_headers_dict={"WARC-Date": "2016-08-25T06:52:21Z"},
            )
            w.write_record(rec)
            return rec.rec_headers.get_header("WARC-Record-ID").strip("<>")

        text = story(31)
        ids.append(
            response(
                "https://news.example/a",
                "200 OK",
                "text/html; charset=utf-8",
                article("Harbour deal", [text[:900], text[900:]]).encode(),
            )
        )
        latin = article("Caf\u00e9 society", ["Le caf\u00e9 na\u00efve " + story(32)])
        ids.append(
            response(
                "https://latin.example/b",
                "200 OK",
                "text/html; charset=iso-8859-1",
                latin.encode("iso-8859-1"),
            )
        )
        response("https://news.example/c.pdf", "200 OK", "application/pdf", b"%PDF-1.4 x")
        response(
            "https://news.example/gone",
            "404 Not Found",
            "text/html",
            article("Gone", [story(33)]).encode(),
        )
        response("https://news.example/empty", "200 OK", "text/html", b"<html><body></body></html>")
        w.write_record(
            w.create_revisit_record(
                "https://news.example/a",
                digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                refers_to_uri="https://news.example/a",
                refers_to_date="2016-08-24T06:52:21Z",
                http_headers=_http("200 OK", "text/html"),
            )
        )
    return ids


def records_and_report(path: Path) -> tuple[list[dict], ReadReport]:
    items = list(warc_records(str(path)))
    *records, report = items
    assert isinstance(report, ReadReport) and all(isinstance(r, dict) for r in records)
    return records, report


def truncate_in_last_response(src: Path, dst: Path) -> int:
    """Cut ``src`` half way through its last record (an article page); its offset."""
    with src.open("rb") as fh:
        it = ArchiveIterator(fh)
        offsets = [it.get_record_offset() for _ in it]
    last = offsets[-1]
    data = src.read_bytes()
    dst.write_bytes(data[: (last + len(data)) // 2])
    return last


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


# -- the reader --------------------------------------------------------------------------------


def test_cc_news_like_file_gives_records_for_html_200s_only(tmp_path):
    path = tmp_path / "CC-NEWS-20160825065221-00000.warc.gz"
    ids = write_cc_news_like(path)
    records, report = records_and_report(path)
    assert [r["id"] for r in records] == ids
    assert [r["url"] for r in records] == ["https://news.example/a", "https://latin.example/b"]
    first, second = records
    assert first["text"].split("\n\n")[0] == story(31)[:900].strip()
    assert first["title"] == "Harbour deal"
    assert second["text"].startswith("Le caf\u00e9 na\u00efve ")  # decoded as Latin-1
    assert report.read == 3 and report.skipped == 1 and report.problems == []


def test_a_date_after_the_capture_is_not_the_publication_date(tmp_path):
    """An archive is read years after its capture: "no date after the fetch" must mean the
    capture's WARC-Date, not the day the archive is read."""
    path = tmp_path / "dated.warc.gz"
    later = '<meta property="article:published_time" content="2019-03-04T10:00:00Z">'
    both = later + '<meta name="date" content="2016-08-24">'
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.0")
        for uri, head in (
            ("https://news.example/later", later),
            ("https://news.example/both", both),
        ):
            body = article_page("Harbour deal", [story(31)], head=head).encode()
            w.write_record(
                w.create_warc_record(
                    uri,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=_http("200 OK", "text/html; charset=utf-8"),
                    warc_headers_dict={"WARC-Date": "2016-08-25T06:52:21Z"},
                )
            )
    records, _ = records_and_report(path)
    assert [r.get("published") for r in records] == [None, "2016-08-24T00:00:00+00:00"]


def test_template_lines_are_learned_per_host_within_the_file(tmp_path):
    path = tmp_path / "site.warc.gz"
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for n in range(6):
            html = article(f"Story {n}", [story(40 + n), APP_LINE]).encode()
            w.write_record(
                w.create_warc_record(
                    f"https://ledger.example/{n}",
                    "response",
                    payload=io.BytesIO(html),
                    length=len(html),
                    http_headers=_http("200 OK", "text/html"),
                )
            )
    records, _ = records_and_report(path)
    assert len(records) == 6
    assert all(
        APP_LINE not in r["text"] and story(40 + n)[:80] in r["text"] for n, r in enumerate(records)
    )
    with path.open("rb") as fh:  # one page alone teaches nothing: the line stays
        first = next(iter(ArchiveIterator(fh)))
        one = tmp_path / "one.warc.gz"
        with one.open("wb") as out:
            WARCWriter(out, gzip=True).write_record(first)
    (alone,), _ = records_and_report(one)
    assert APP_LINE in alone["text"]


@pytest.mark.slow
def test_same_file_gives_the_same_records_alone_or_with_others(tmp_path):
    web, cc = tmp_path / "web.warc.gz", tmp_path / "cc.warc.gz"
    write_fixture_warc(web)
    write_cc_news_like(cc)
    once, _ = records_and_report(web)
    again, _ = records_and_report(web)
    assert once == again and len(once) > 100
    both, reports = read_with([str(cc), str(web)], warc_records)
    assert [r.id for r in both[-len(once) :]] == [r["id"] for r in once]
    assert [r.text for r in both[-len(once) :]] == [r["text"] for r in once]
    assert [r.path for r in reports] == [str(cc), str(web)]


def test_truncated_file_keeps_what_came_before_and_names_the_offset(tmp_path):
    whole, cut = tmp_path / "web.warc.gz", tmp_path / "cut.warc.gz"
    write_fixture_warc(whole)
    offset = truncate_in_last_response(whole, cut)
    records, report = records_and_report(cut)
    full, _ = records_and_report(whole)
    assert records == full[:-1]
    (problem,) = report.problems
    assert problem.startswith(f"{cut} at byte {offset}: ") and "truncated" in problem


# -- dedup --input -----------------------------------------------------------------------------


def test_dedup_input_warc_clusters_the_fixture_web(tmp_path, capsys):
    src, out = tmp_path / "web.warc.gz", tmp_path / "out.jsonl"
    truth = write_fixture_warc(src)
    assert main(["dedup", "--input", str(src), "--output", str(out)]) == 0
    rows = lines(out)
    assert len({r["id"] for r in rows}) == len(rows) and all(r["url"] for r in rows)
    cluster_of = {r["url"]: r["cluster"] for r in rows if r["url"] in truth}
    assert set(cluster_of) == set(truth)
    by_story: dict[str, set[str]] = {}
    for url, sid in truth.items():
        by_story.setdefault(sid, set()).add(cluster_of[url])
    assert all(len(c) == 1 for c in by_story.values())  # every story is one cluster...
    assert len({next(iter(c)) for c in by_story.values()}) == len(by_story)  # ...of its own
    assert sum(1 for sid in by_story if list(truth.values()).count(sid) > 1) > 10
    assert f"{len(rows)} records in " in capsys.readouterr().out


@pytest.mark.slow
def test_dedup_input_truncated_warc_writes_what_it_read_and_exits_1(tmp_path, capsys):
    whole, cut, out = tmp_path / "web.warc.gz", tmp_path / "cut.warc.gz", tmp_path / "o.jsonl"
    write_fixture_warc(whole)
    offset = truncate_in_last_response(whole, cut)
    assert main(["dedup", "--input", str(cut), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"problem: {cut} at byte {offset}: " in err
    assert len(lines(out)) == len(records_and_report(cut)[0])


def test_dedup_input_rejects_a_mix_and_a_missing_file(tmp_path, capsys):
    warc, jsonl, out = tmp_path / "a.warc.gz", tmp_path / "b.jsonl", tmp_path / "o.jsonl"
    write_cc_news_like(warc)
    jsonl.write_text('{"id": "x", "text": "t"}\n', encoding="utf-8")
    assert main(["dedup", "--input", str(warc), str(jsonl), "--output", str(out)]) == 2
    assert "cannot be mixed" in capsys.readouterr().err
    assert main(["dedup", "--input", str(tmp_path / "no.warc.gz"), "--output", str(out)]) == 2
    assert "No such file" in capsys.readouterr().err
    assert not out.exists()


def test_warc_cut_before_any_record_is_no_records_with_the_reason(tmp_path):
    src, cut = tmp_path / "cc.warc.gz", tmp_path / "cut.warc.gz"
    write_cc_news_like(src)
    cut.write_bytes(src.read_bytes()[:40])
    with pytest.raises(CorpusError, match=r"no records; .*cut\.warc\.gz at byte 0: "):
        read_with([str(cut)], warc_records)


def test_url_is_in_the_output_only_when_the_record_had_one(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(
        json.dumps({"id": "a", "text": story(1), "url": "https://x.test/a"})
        + "\n"
        + json.dumps({"id": "b", "text": story(1)})
        + "\n",
        encoding="utf-8",
    )
    assert main(["dedup", "--input", str(src), "--output", str(out)]) == 0
    a, b = lines(out)
    assert a["url"] == "https://x.test/a" and "url" not in b and b["cluster"] == "a"
    src.write_text(json.dumps({"id": "a", "text": "t", "url": 5}) + "\n", encoding="utf-8")
    assert main(["dedup", "--input", str(src), "--output", str(out)]) == 2


# -- spark-dedup -------------------------------------------------------------------------------


@pytest.mark.spark
def test_spark_dedup_of_a_warc_folder_equals_the_local_path(spark, tmp_path, capsys):
    folder = tmp_path / "warcs"
    folder.mkdir()
    write_fixture_warc(folder / "b-web.warc.gz")
    write_cc_news_like(folder / "a-cc.warc.gz")
    (folder / "notes.txt").write_text("not an archive", encoding="utf-8")
    local, remote = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert main(["dedup", "--input", str(folder), "--output", str(local)]) == 0
    local_out = capsys.readouterr().out
    assert (
        main(["spark-dedup", "--input", str(folder), "--output", str(remote), "--partitions", "2"])
        == 0
    )
    assert remote.read_bytes() == local.read_bytes()
    assert capsys.readouterr().out.replace(str(remote), str(local)) == local_out
    rows = lines(local)
    assert rows[0]["url"] == "https://news.example/a"  # sorted paths: a-cc first
    assert 1 < len({r["cluster"] for r in rows}) < len(rows) - 50


@pytest.mark.spark
def test_spark_dedup_of_a_truncated_warc_reports_like_the_local_path(spark, tmp_path, capsys):
    whole, cut = tmp_path / "web.warc.gz", tmp_path / "cut.warc.gz"
    write_fixture_warc(whole)
    truncate_in_last_response(whole, cut)
    local, remote = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert main(["dedup", "--input", str(cut), "--output", str(local)]) == 1
    local_err = capsys.readouterr().err
    assert (
        main(["spark-dedup", "--input", str(cut), "--output", str(remote), "--partitions", "2"])
        == 1
    )
    spark_err = capsys.readouterr().err
    assert remote.read_bytes() == local.read_bytes()
    problems = [x for x in local_err.splitlines() if "problem:" in x]
    assert len(problems) == 1 and problems == [x for x in spark_err.splitlines() if "problem:" in x]
