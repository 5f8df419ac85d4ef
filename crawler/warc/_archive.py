"""WARC archiving: keep exactly what was fetched, and read pages back from WARC files.

Archiving lets a crawl be re-extracted or re-clustered later without touching the
publishers again, and lets us ingest Common Crawl's CC-NEWS dumps through the same
extraction path as our own crawls.

The writer stores the *decoded* body the fetcher handed us, so the archived HTTP headers
are rewritten to match it (no Content-Encoding / Transfer-Encoding, a true
Content-Length); otherwise every WARC reader would try to gunzip plain HTML.

Files are written as ``*.warc.gz.open`` and renamed only once closed, so a killed crawl
never leaves a file that looks finished but ends mid-record. Each record is its own gzip
member and is flushed as soon as written, so an ``.open`` file is still salvageable.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.fetch import FetchResult, looks_like_html, split_content_type

__all__ = ["ArchivedPage", "WarcProblem", "WarcWriter", "read_warc"]

log = logging.getLogger("newsdedup.warc")

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Headers that describe the wire form of the body, not the decoded bytes we archive.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_READ_BLOCK = 64 * 1024


# -- writing ---------------------------------------------------------------------------


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{status} {phrase}"


def response_http_headers(result: FetchResult) -> StatusAndHeaders:
    """HTTP response head matching the decoded body we store.

    FetchResult carries no protocol version or reason phrase, so the head is written as
    HTTP/1.1 with the standard phrase (WARC readers only understand HTTP/1.x heads anyway,
    even for HTTP/2 captures).
    """
    assert result.status is not None
    headers = [(k, v) for k, v in result.headers.items() if k.lower() not in _WIRE_HEADERS]
    headers.append(("Content-Length", str(len(result.body))))
    return StatusAndHeaders(_status_line(result.status), headers, protocol="HTTP/1.1")


def request_http_headers(
    url: str, request_headers: Mapping[str, str] | None, user_agent: str | None
) -> StatusAndHeaders:
    """HTTP request head for a GET of `url`.

    When the caller does not know what was sent, we reconstruct the minimum the fetcher
    always sends (Host, User-Agent); httpx's Accept-Encoding etc. are not recorded.
    """
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    given = dict(request_headers or {})
    lower = {k.lower() for k in given}
    headers: list[tuple[str, str]] = []
    if "host" not in lower:
        headers.append(("Host", parts.netloc))
    if "user-agent" not in lower and user_agent:
        headers.append(("User-Agent", user_agent))
    headers.extend(given.items())
    return StatusAndHeaders(f"GET {target} HTTP/1.1", headers, is_http_request=True)


class WarcWriter:
    """Writes every fetched response as a WARC 1.1 'request' + 'response' record pair.

    One gzip member per record, a warcinfo record at the start of each file, files rotated
    once they reach `max_bytes` (a pair is never split, so a file may exceed it by one
    pair). Synchronous: writes are small and flushed immediately; call from the event loop
    or wrap in `asyncio.to_thread` for very large bodies.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        prefix: str = "newsdedup",
        max_bytes: int = 1_000_000_000,
        software: str = "newsdedup/0.1",
        user_agent: str | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.software = software
        self.user_agent = user_agent
        self.records_written = 0
        self.files: list[Path] = []  # finished (renamed) files, in order
        self._serial = 0
        self._fh: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self._open_path: Path | None = None
        self._final_path: Path | None = None

    # -- public -----------------------------------------------------------------

    def write(
        self, result: FetchResult, *, request_headers: Mapping[str, str] | None = None
    ) -> bool:
        """Archive `result`; returns False (writing nothing) when there was no HTTP response."""
        if result.status is None:
            return False
        writer = self._ensure_open()
        url = result.final_url or result.url
        body = result.body or b""
        response = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=response_http_headers(result),
        )
        request = writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=request_http_headers(url, request_headers, self.user_agent),
        )
        # Sets the request's WARC-Date/Target-URI from the response and adds
        # WARC-Concurrent-To pointing at the response's record id.
        writer.write_request_response_pair(request, response)
        assert self._fh is not None
        self._fh.flush()
        self.records_written += 2
        if self._fh.tell() >= self.max_bytes:
            self._finish()
        return True

    def close(self) -> None:
        self._finish()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def current_path(self) -> Path | None:
        """The `.open` file being written, if any."""
        return self._open_path

    # -- internals --------------------------------------------------------------

    def _next_name(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        while True:
            name = f"{self.prefix}-{stamp}-{self._serial:05d}.warc.gz"
            self._serial += 1
            if (
                not (self.directory / name).exists()
                and not (self.directory / (name + ".open")).exists()
            ):
                return name

    def _ensure_open(self) -> WARCWriter:
        if self._writer is not None:
            return self._writer
        name = self._next_name()
        self._final_path = self.directory / name
        self._open_path = self.directory / (name + ".open")
        # "xb": never clobber another writer's file that appeared since the check.
        self._fh = open(self._open_path, "xb")  # noqa: SIM115 - lives until _finish()
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        info = {
            "software": self.software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
            "warc-format/warc-1.1/",
        }
        self._writer.write_record(self._writer.create_warcinfo_record(name, info))
        self._fh.flush()
        return self._writer

    def _finish(self) -> None:
        if self._fh is None:
            return
        fh, open_path, final_path = self._fh, self._open_path, self._final_path
        self._fh = self._writer = None
        self._open_path = self._final_path = None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        assert open_path is not None and final_path is not None
        os.replace(open_path, final_path)
        self.files.append(final_path)


# -- reading ---------------------------------------------------------------------------


@dataclass
class ArchivedPage:
    url: str
    status: int
    headers: dict[str, str]  # lower-case names, like FetchResult.headers
    body: bytes  # decoded: no content/transfer encoding left
    content_type: str | None  # bare media type, lower case
    encoding: str | None  # charset from Content-Type
    date: datetime | None  # WARC-Date (capture time), UTC
    record_id: str | None = None  # WARC-Record-ID, unique by the spec
    offset: int | None = None  # the record's byte offset in the (compressed) file


@dataclass
class WarcProblem:
    """Something in a WARC file we could not use; `offset` is the record's byte offset
    in the (compressed) file, None when the file could not be opened at all."""

    path: str
    offset: int | None
    reason: str


class _Truncated(Exception):
    pass


class _CheckedIterator(ArchiveIterator):
    """ArchiveIterator that notices files ending mid-record.

    warcio treats running out of data while parsing a record's headers as a normal end of
    file, and never checks that the last gzip member was complete; both are exactly what
    a crawl killed mid-write (or a partial download) looks like.
    """

    def __init__(self, fileobj: IO[bytes]) -> None:
        super().__init__(fileobj)
        self.unfinished_gzip = False

    def _consumed(self) -> int:
        reader = self.reader
        if reader is None:
            return 0
        unread = reader.buff_size - reader.buff.tell() if reader.buff else 0
        return int(reader.num_read) - unread

    def _next_record(self, next_line: bytes | None) -> Any:
        before = self._consumed()
        try:
            return super()._next_record(next_line)
        except EOFError:
            if (next_line and next_line.strip()) or self._consumed() > before:
                raise _Truncated("file ends inside a record's headers (truncated)") from None
            raise

    def close(self) -> None:
        reader = self.reader
        decompressor = reader.decompressor if reader is not None else None
        if decompressor is not None and self.fh.tell() > 0:
            self.unfinished_gzip = not getattr(decompressor, "eof", True)
        super().close()


def _parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _header_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _drain_and_check(record: Any) -> None:
    """Read what is left of the record and make sure it was all there.

    warcio's readers stop quietly at end of file, so a record cut short just looks like a
    shorter record; the WARC Content-Length is the only way to notice.
    """
    raw = record.raw_stream
    if record.rec_headers.get_header("Content-Length") is None or not hasattr(raw, "limit"):
        raise _Truncated("record has no Content-Length (damaged or truncated)")
    while raw.read(_READ_BLOCK):
        pass
    if raw.limit > 0:
        raise _Truncated(f"record truncated: {raw.limit} bytes missing")


def _record_id(value: str | None) -> str | None:
    """``urn:uuid:...``: the spec wraps the id in angle brackets, which are no part of it."""
    return (value or "").strip().strip("<>") or None


def _page_from_record(record: Any, max_bytes: int) -> ArchivedPage | str | None:
    """An ArchivedPage, a reason string (unusable record worth reporting), or None (skip)."""
    if record.rec_type != "response" or record.http_headers is None:
        return None
    http = record.http_headers
    if http.protocol and not http.protocol.upper().startswith("HTTP/"):
        return None
    try:
        status = int(http.get_statuscode())
    except (TypeError, ValueError):
        return None
    if status != 200:
        return None
    media, charset = split_content_type(http.get_header("content-type"))
    if media is not None and media not in _HTML_TYPES:
        return None
    enc = (http.get_header("content-encoding") or "").strip().lower()
    if enc and enc != "identity" and enc not in BufferedReader.get_supported_decompressors():
        return f"unsupported content-encoding: {enc}"
    body = record.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        return f"body over {max_bytes} bytes"
    if media is None and not looks_like_html(body):
        return None
    url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    headers = _header_dict(http.headers)
    for name in ("content-encoding", "transfer-encoding"):
        headers.pop(name, None)
    return ArchivedPage(
        url=url,
        status=status,
        headers=headers,
        body=body,
        content_type=media,
        encoding=charset,
        date=_parse_warc_date(record.rec_headers.get_header("WARC-Date")),
        record_id=_record_id(record.rec_headers.get_header("WARC-Record-ID")),
    )


def _read_one(path: str, max_bytes: int) -> Iterator[ArchivedPage | WarcProblem]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in finally; generator may pause
    except OSError as exc:
        yield WarcProblem(path, None, f"cannot open: {exc}")
        return
    records: _CheckedIterator | None = None
    try:
        records = _CheckedIterator(fh)
        iterator = iter(records)
        while True:
            try:
                record = next(iterator)
            except StopIteration:
                if records.unfinished_gzip:
                    raise _Truncated("file ends inside a gzip member (truncated)") from None
                return
            result = _page_from_record(record, max_bytes)
            _drain_and_check(record)
            if isinstance(result, ArchivedPage):
                result.offset = records.offset
                yield result
            elif isinstance(result, str):
                yield WarcProblem(path, records.offset, result)
    except Exception as exc:  # contract: a damaged file never aborts the whole read
        reason = str(exc) if isinstance(exc, _Truncated) else f"{type(exc).__name__}: {exc}"
        # warcio advances `offset` to the start of the record being parsed or read.
        offset = records.offset if records is not None else 0
        yield WarcProblem(path, offset, reason.strip()[:300])
    finally:
        with contextlib.suppress(OSError):
            fh.close()


def read_warc(
    paths: Iterable[str | Path], *, max_bytes: int = 20_000_000
) -> Iterator[ArchivedPage | WarcProblem]:
    """Stream HTML 200 responses out of WARC files (gzip or plain, WARC/1.0 or 1.1).

    Memory is bounded by one record body (`max_bytes`); bigger bodies are reported as a
    WarcProblem and skipped. A damaged file yields one WarcProblem and reading moves on
    to the next file; pages before the damage are still yielded.
    """
    for path in paths:
        yield from _read_one(str(path), max_bytes)
