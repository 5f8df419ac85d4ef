"""WARC writing and reading: round trip through the real Fetcher, rotation, damage, CC-NEWS."""

from __future__ import annotations

import asyncio
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.fetch._fetcher import FetchConfig, Fetcher, FetchResult
from crawler.warc._archive import ArchivedPage, WarcProblem, WarcWriter, read_warc
from tests.webserver import Reply, ScriptedServer

pytestmark = pytest.mark.quick

UA = "newsdedup-test/0.1"


def page(n: int, size: int = 0) -> str:
    filler = "x" * size
    return f"<!doctype html><html><body><h1>Story {n}</h1><p>caf\u00e9 {filler}</p></body></html>"


def fetch_all(urls: list[str]) -> list[FetchResult]:
    config = FetchConfig(
        per_host_delay=0, allow_hosts=["127.0.0.1"], obey_robots=False, user_agent=UA
    )

    async def main() -> list[FetchResult]:
        async with Fetcher(config) as fetcher:
            return [await fetcher.fetch(u) for u in urls]

    return asyncio.run(main())


def pages_and_problems(paths: list[Path]) -> tuple[list[ArchivedPage], list[WarcProblem]]:
    pages: list[ArchivedPage] = []
    problems: list[WarcProblem] = []
    for item in read_warc(paths):
        (pages if isinstance(item, ArchivedPage) else problems).append(item)
    return pages, problems


def served_pages(srv: ScriptedServer, count: int, size: int = 0) -> list[str]:
    for n in range(count):
        srv.routes[f"/story/{n}"] = Reply(body=page(n, size))
    return [srv.url(f"/story/{n}") for n in range(count)]


@pytest.mark.slow
def test_round_trip_through_real_fetcher(tmp_path: Path) -> None:
    with ScriptedServer() as srv:
        urls = served_pages(srv, 3)
        srv.routes["/chunked"] = Reply(chunks=[b"<html><body>", b"chunked body</body></html>"])
        srv.routes["/gone"] = Reply(404, b"<html>gone</html>")
        srv.routes["/moved"] = Reply(301, headers={"Location": "/story/0"})
        srv.routes["/xhtml"] = Reply(
            body=b"<html><body>x</body></html>", content_type="application/xhtml+xml"
        )
        results = fetch_all(
            [
                *urls,
                srv.url("/chunked"),
                srv.url("/gone"),
                srv.url("/moved"),
                srv.url("/xhtml"),
                "http://127.0.0.1:1/refused",
            ]
        )
    assert results[-1].status is None  # network error: nothing to archive
    before = datetime.now(UTC).replace(microsecond=0)
    with WarcWriter(tmp_path, user_agent=UA) as writer:
        written = [writer.write(r) for r in results]
    after = datetime.now(UTC)
    assert written == [True] * 7 + [False]
    files = sorted(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.endswith(".warc.gz")
    assert files[0].name.startswith("newsdedup-") and "-00000.warc.gz" in files[0].name

    pages, problems = pages_and_problems(files)
    assert problems == []
    wanted = [r for r in results if r.status == 200]  # /gone is 404: not a page
    assert [p.url for p in pages] == [r.final_url for r in wanted]
    assert srv.url("/story/0") in [p.url for p in pages[-2:]]  # redirect: final URL archived
    for got, res in zip(pages, wanted, strict=True):
        assert got.body == res.body
        assert got.status == res.status == 200
        assert got.content_type == res.content_type
        assert got.encoding == res.encoding
        assert got.date is not None and before <= got.date <= after  # capture time
        assert "transfer-encoding" not in got.headers
        assert got.headers["content-length"] == str(len(res.body))
    assert pages[0].body.decode("utf-8") == page(0)
    assert any(p.content_type == "application/xhtml+xml" for p in pages)


def test_warc_headers_and_record_pairs(tmp_path: Path) -> None:
    with ScriptedServer() as srv:
        urls = served_pages(srv, 2)
        results = fetch_all(urls)
    with WarcWriter(tmp_path, user_agent=UA, software="newsdedup/test") as writer:
        for r in results:
            writer.write(r, request_headers={"Accept": "text/html"})
    (path,) = writer.files
    with open(path, "rb") as fh:
        records = []
        for rec in ArchiveIterator(fh, check_digests=True):
            records.append(
                (rec.rec_type, rec.rec_headers, rec.http_headers, rec.content_stream().read())
            )
    types = [t for t, *_ in records]
    assert types == ["warcinfo", "response", "request", "response", "request"]
    info_headers = records[0][1]
    assert info_headers.protocol == "WARC/1.1"
    assert info_headers.get_header("WARC-Filename") == path.name
    assert b"software: newsdedup/test" in records[0][3]
    ids = set()
    for (_, resp, resp_http, body), (_, req, req_http, _), url in zip(
        records[1::2], records[2::2], urls, strict=True
    ):
        assert resp.protocol == "WARC/1.1"
        assert resp.get_header("WARC-Target-URI") == url == req.get_header("WARC-Target-URI")
        assert resp.get_header("WARC-Date") == req.get_header("WARC-Date")
        assert resp.get_header("Content-Type").replace(" ", "") == (
            "application/http;msgtype=response"
        )
        assert req.get_header("Content-Type").replace(" ", "") == "application/http;msgtype=request"
        assert req.get_header("WARC-Concurrent-To") == resp.get_header("WARC-Record-ID")
        assert resp.get_header("WARC-Record-ID").startswith("<urn:uuid:")
        assert resp.get_header("WARC-Payload-Digest").startswith("sha1:")
        ids.add(resp.get_header("WARC-Record-ID"))
        assert resp_http.statusline == "200 OK" and resp_http.protocol == "HTTP/1.1"
        assert resp_http.get_header("Content-Length") == str(len(body))
        assert req_http.protocol == "GET" and req_http.statusline.startswith("/story/")
        assert req_http.get_header("Host") == url.split("/")[2]
        assert req_http.get_header("User-Agent") == UA
        assert req_http.get_header("Accept") == "text/html"
    assert len(ids) == 2


def test_warcio_checker_accepts_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from warcio.cli import main as warcio_main

    with ScriptedServer() as srv:
        results = fetch_all(served_pages(srv, 2))
    with WarcWriter(tmp_path) as writer:
        for r in results:
            writer.write(r)
    with pytest.raises(SystemExit) as exit_info:
        warcio_main(["check", "-v", str(writer.files[0])])
    out = capsys.readouterr().out
    assert exit_info.value.code in (0, None), out
    assert "digest pass" in out


def test_content_encoding_is_dropped_since_body_is_decoded(tmp_path: Path) -> None:
    html = page(7).encode()
    with ScriptedServer() as srv:
        srv.routes["/gz"] = Reply(body=gzip.compress(html), headers={"Content-Encoding": "gzip"})
        (result,) = fetch_all([srv.url("/gz")])
    assert result.body == html  # httpx decoded it
    with WarcWriter(tmp_path) as writer:
        writer.write(result)
    pages, problems = pages_and_problems(writer.files)
    assert problems == []
    assert [p.body for p in pages] == [html]
    assert "content-encoding" not in pages[0].headers


def test_rotation_by_size(tmp_path: Path) -> None:
    with ScriptedServer() as srv:
        urls = served_pages(srv, 8, size=3000)
        results = fetch_all(urls)
    # "x" * 3000 compresses well; a 600-byte cap still forces a new file every pair.
    with WarcWriter(tmp_path, prefix="rot", max_bytes=600) as writer:
        for r in results:
            writer.write(r)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 8
    assert not any(n.endswith(".open") for n in names)
    assert all(n.startswith("rot-") and n.endswith(".warc.gz") for n in names)
    serials = sorted(int(n.rsplit("-", 1)[1].split(".")[0]) for n in names)
    assert serials == list(range(8))
    assert writer.files == sorted(writer.files, key=lambda p: int(p.name[-13:-8]))
    pages, problems = pages_and_problems(writer.files)
    assert problems == []
    assert [p.url for p in pages] == urls
    for path in writer.files:
        with open(path, "rb") as fh:
            assert next(iter(ArchiveIterator(fh))).rec_type == "warcinfo"


def test_open_file_until_closed_and_salvageable(tmp_path: Path) -> None:
    with ScriptedServer() as srv:
        results = fetch_all(served_pages(srv, 2))
    writer = WarcWriter(tmp_path)
    for r in results:
        writer.write(r)
    open_path = writer.current_path
    assert open_path is not None and open_path.exists()
    assert [p.name for p in tmp_path.iterdir()] == [open_path.name]
    pages, problems = pages_and_problems([open_path])  # a killed crawl's file still reads
    assert problems == [] and len(pages) == 2
    writer.close()
    writer.close()  # idempotent
    assert not open_path.exists()
    assert [p.name for p in tmp_path.iterdir()] == [open_path.name.removesuffix(".open")]


def test_truncated_file_yields_complete_records_then_problem(tmp_path: Path) -> None:
    with ScriptedServer() as srv:
        urls = served_pages(srv, 4, size=2000)
        results = fetch_all(urls)
    with WarcWriter(tmp_path / "w") as writer:
        for r in results:
            writer.write(r)
    (path,) = writer.files
    data = path.read_bytes()
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        starts = [(rec.rec_type, it.get_record_offset()) for rec in it]
    last_response = [off for kind, off in starts if kind == "response"][-1]
    next_record = [off for _, off in starts if off > last_response][0]
    cut = (last_response + next_record) // 2  # mid-way through the last response's member
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(data[:cut])
    after = tmp_path / "after.warc.gz"
    after.write_bytes(data)

    items = list(read_warc([broken, tmp_path / "missing.warc.gz", after]))
    problems = [i for i in items if isinstance(i, WarcProblem)]
    pages = [i for i in items if isinstance(i, ArchivedPage)]
    assert [p.url for p in pages] == urls[:3] + urls  # 3 before the cut, then the next files
    assert len(problems) == 2
    assert problems[0].path == str(broken) and problems[0].offset == last_response
    assert "truncated" in problems[0].reason
    assert problems[1].path == str(tmp_path / "missing.warc.gz") and problems[1].offset is None
    assert items.index(problems[0]) == 3  # reported where it happened, before moving on


@pytest.mark.parametrize("compressed", [True, False])
def test_every_cut_point_gives_a_prefix_and_a_problem(tmp_path: Path, compressed: bool) -> None:
    with ScriptedServer() as srv:
        urls = served_pages(srv, 3, size=50)
        results = fetch_all(urls)
    with WarcWriter(tmp_path / "w") as writer:
        for r in results:
            writer.write(r)
    data = writer.files[0].read_bytes()
    if not compressed:
        data = gzip.decompress(data)
    with open(writer.files[0], "rb") as fh:
        it = ArchiveIterator(fh)
        boundaries = {it.get_record_offset() for _ in it}
    path = tmp_path / ("cut.warc.gz" if compressed else "cut.warc")
    bodies = [r.body for r in results]
    step = max(1, len(data) // 150)
    for cut in range(1, len(data), step):
        path.write_bytes(data[:cut])
        items = list(read_warc([path]))
        pages = [i for i in items if isinstance(i, ArchivedPage)]
        problems = [i for i in items if isinstance(i, WarcProblem)]
        assert [p.body for p in pages] == bodies[: len(pages)], cut
        assert items[: len(pages)] == pages, cut  # a problem, if any, comes last
        if compressed and cut not in boundaries:
            assert len(problems) == 1, cut
        else:
            assert len(problems) <= 1, cut


@pytest.mark.parametrize("cut_in", ["warc-header", "http-header", "first-bytes"])
def test_truncation_anywhere_never_raises(tmp_path: Path, cut_in: str) -> None:
    with ScriptedServer() as srv:
        (result,) = fetch_all(served_pages(srv, 1, size=100))
    raw = io.BytesIO()
    writer = WARCWriter(raw, gzip=False, warc_version="1.1")
    writer.write_record(
        writer.create_warc_record(
            result.final_url,
            "response",
            payload=io.BytesIO(result.body),
            length=len(result.body),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1"),
        )
    )
    data = raw.getvalue()
    marker = {
        "warc-header": b"WARC-Date",
        "http-header": b"Content-Type: text/html",
        "first-bytes": b"RC/1",
    }[cut_in]
    path = tmp_path / "cut.warc"
    path.write_bytes(data[: data.index(marker) + 3])
    items = list(read_warc([path]))
    assert len(items) == 1 and isinstance(items[0], WarcProblem)
    # the uncut file is fine
    path.write_bytes(data)
    assert [type(i) for i in read_warc([path])] == [ArchivedPage]


def _cc_news_like(path: Path) -> list[str]:
    """A WARC/1.0 file shaped like Common Crawl CC-NEWS: gzip'd HTTP payloads, mixed types."""
    html = page(42).encode("utf-8")
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.0")
        w.write_record(w.create_warcinfo_record(path.name, {"software": "StormCrawler"}))

        def response(uri: str, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
            w.write_record(
                w.create_warc_record(
                    uri,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
                    warc_headers_dict={"WARC-Date": "2016-08-25T06:52:21Z"},
                )
            )

        response(
            "https://news.example/a",
            "200 OK",
            [("Content-Type", "text/html; charset=UTF-8"), ("Content-Encoding", "gzip")],
            gzip.compress(html),
        )
        response(
            "https://news.example/a.pdf",
            "200 OK",
            [("Content-Type", "application/pdf")],
            b"%PDF-1.4 not html",
        )
        response(
            "https://news.example/404",
            "404 Not Found",
            [("Content-Type", "text/html")],
            b"<html>missing</html>",
        )
        chunked = b"5\r\n<html\r\n1C\r\n><body>chunked</body></html>\r\n0\r\n\r\n"
        response(
            "https://news.example/c",
            "200 OK",
            [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")],
            chunked,
        )
        w.write_record(
            w.create_warc_record(
                "https://news.example/meta", "metadata", payload=io.BytesIO(b"x: y\r\n"), length=6
            )
        )
    return [html.decode("utf-8"), "<html><body>chunked</body></html>"]


def test_cc_news_like_file(tmp_path: Path) -> None:
    path = tmp_path / "CC-NEWS-20160825065221-00000.warc.gz"
    expected = _cc_news_like(path)
    pages, problems = pages_and_problems([path])
    assert problems == []
    assert [p.url for p in pages] == ["https://news.example/a", "https://news.example/c"]
    assert [p.body.decode("utf-8") for p in pages] == expected
    first = pages[0]
    assert first.content_type == "text/html" and first.encoding == "utf-8"
    assert first.date == datetime(2016, 8, 25, 6, 52, 21, tzinfo=UTC)
    assert "content-encoding" not in first.headers


def test_plain_uncompressed_warc_and_max_bytes(tmp_path: Path) -> None:
    gz = tmp_path / "cc.warc.gz"
    _cc_news_like(gz)
    plain = tmp_path / "cc.warc"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    pages, problems = pages_and_problems([plain])
    assert problems == [] and len(pages) == 2
    items = list(read_warc([plain], max_bytes=30))
    assert not any(isinstance(i, ArchivedPage) for i in items)
    assert len(items) == 2 and all("over 30 bytes" in i.reason for i in items)


def test_garbage_file_is_a_problem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"this is not a warc file at all\r\n\r\n" * 10)
    items = list(read_warc([junk]))
    assert len(items) == 1 and isinstance(items[0], WarcProblem)
