"""``newsdedup extract``: one page through the same extract + normalize path as a crawl.

It is the tool a user reaches for when a story lands in the wrong cluster, so it shows
what the pipeline saw, and with ``--explain`` which rule dropped which line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

from ._extract import ExtractedPage, extract_html, extract_text
from ._normalize import NormalizedArticle, load_rules, normalize

EXIT_OK, EXIT_BAD_INPUT = 0, 2
_MAX_BYTES = 50_000_000


class InputError(Exception):
    """The file or URL cannot be turned into a page."""


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bool(head) and controls / len(head) > 0.05


def _read(source: str) -> tuple[bytes, str | None, str | None]:
    """(body, url, declared charset) from a path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        try:
            resp = httpx.get(source, follow_redirects=True, timeout=20.0,
                             headers={"User-Agent": "newsdedup-extract/0.1"})
        except httpx.HTTPError as exc:
            raise InputError(f"{source}: cannot fetch: {exc}") from exc
        if resp.status_code >= 400:
            raise InputError(f"{source}: HTTP {resp.status_code}")
        return resp.content[:_MAX_BYTES], str(resp.url), resp.charset_encoding
    path = Path(source)
    try:
        with path.open("rb") as fh:
            return fh.read(_MAX_BYTES), None, None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, not a page") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror or exc}") from exc


def load_page(source: str) -> ExtractedPage:
    data, url, charset = _read(source)
    if not data.strip():
        raise InputError(f"{source}: is empty")
    if _looks_binary(data):
        raise InputError(f"{source}: does not look like an HTML or text page (binary data)")
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<", b"\xef\xbb\xbf<")) or b"<html" in head or b"<body" in head:
        return extract_html(data, url, encoding=charset)
    return extract_text(data.decode(charset or "utf-8", errors="replace"), url)


def _as_dict(page: ExtractedPage, art: NormalizedArticle, explain: bool) -> dict:
    doc = {
        "url": page.url, "canonical_url": page.canonical_url, "title": art.title,
        "byline": art.byline, "agency": art.agency, "site_name": page.site_name,
        "language": page.language,
        "published": art.published.isoformat() if art.published else None,
        "updated": art.updated.isoformat() if art.updated else None,
        "body": art.body, "captions": art.captions, "warnings": page.warnings,
        "method": page.method,
    }
    if explain:
        doc["dropped"] = [{"rule": d.rule, "text": d.text} for d in art.dropped]
    return doc


def extract_command(source: str, *, as_json: bool = False, explain: bool = False,
                    rules: list[str] | None = None) -> int:
    try:
        page = load_page(source)
        art = normalize(page, load_rules(rules or []))
    except InputError as exc:
        print(f"newsdedup: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not art.body:
        why = "; ".join(page.warnings) or "nothing that looks like article text"
        print(f"newsdedup: {source}: no article text found ({why})", file=sys.stderr)
        return EXIT_BAD_INPUT
    if as_json:
        print(json.dumps(_as_dict(page, art, explain), ensure_ascii=False, indent=2))
        return EXIT_OK
    out = [f"title:     {art.title or ''}", f"byline:    {art.byline or ''}"]
    if art.agency:
        out.append(f"agency:    {art.agency}")
    out += [f"published: {art.published.isoformat() if art.published else ''}",
            f"updated:   {art.updated.isoformat() if art.updated else ''}", ""]
    out += [p + "\n" for p in art.body]
    if explain:
        out.append("dropped:")
        out += [f"  [{d.rule}] {d.text}" for d in art.dropped] or ["  (nothing)"]
    for w in page.warnings:
        print(f"newsdedup: warning: {w}", file=sys.stderr)
    print("\n".join(out))
    return EXIT_OK
