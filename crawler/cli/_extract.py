"""``newsdedup extract``: pages through the same extract + normalize path as a crawl.

It is the tool a user reaches for when a story lands in the wrong cluster, so it shows
what the pipeline saw, and with ``--explain`` which rule dropped which line. It also
serves as a batch extractor: many files or folders in, one JSON line per page out. Only
extraction is imported on this path (no store engine, no HTTP client unless a URL is
given), because a shell loop over saved pages pays the start-up once per call.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store import InputError, SourceError

if TYPE_CHECKING:
    from crawler._article import Article
    from crawler.normalize import RuleSet

_MAX_BYTES = 50_000_000
_PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz", ".txt")


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bool(head) and controls / len(head) > 0.05


def _read_file(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_BYTES)
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a page") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if data[:2] == b"\x1f\x8b":  # a saved .html.gz page
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                data = gz.read(_MAX_BYTES)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: damaged gzip data: {exc}") from exc
    return data


def _fetch(url: str, cfg: Any) -> tuple[bytes, str, str | None]:
    """A URL through the crawler's own fetcher: its size cap, decompression-bomb and SSRF
    guards, robots.txt and user agent; a config's ``[crawl]`` settings apply."""
    import asyncio

    from crawler._crawl import fetch_config
    from crawler.fetch import Fetcher

    async def get() -> Any:
        async with Fetcher(fetch_config(cfg)) as fetcher:
            return await fetcher.fetch(url)

    result = asyncio.run(get())
    if not result.ok or result.not_modified:
        raise SourceError(f"{url}: cannot fetch: {result.error or f'HTTP {result.status}'}")
    return result.body, result.final_url, result.encoding


def pages_of(sources: list[str]) -> Iterator[str]:
    """Files, the pages inside folders (sorted, recursively), and URLs, in the order given."""
    for source in sources:
        path = Path(source)
        if not source.startswith(("http://", "https://")) and path.is_dir():
            found = sorted(
                str(p)
                for p in path.rglob("*")
                if p.is_file() and p.name.lower().endswith(_PAGE_SUFFIXES)
            )
            if not found:
                raise InputError(
                    f"{source}: no pages in this folder (looked for {', '.join(_PAGE_SUFFIXES)})"
                )
            yield from found
        else:
            yield source


def extract_one(source: str, *, url: str | None, rules: RuleSet, cfg: Any) -> Article:
    from crawler._article import extract

    if source.startswith(("http://", "https://")):
        data, url, charset = _fetch(source, cfg)
    else:
        data, charset = _read_file(Path(source)), None
    if not data.strip():
        raise InputError(f"{source}: is empty")
    if _looks_binary(data):
        raise InputError(f"{source}: does not look like an HTML or text page (binary data)")
    article = extract(data, url, rules=rules, encoding=charset)
    if not article.body:
        why = "; ".join(article.warnings) or "nothing that looks like article text"
        raise InputError(f"{source}: no article text found ({why})")
    return article


def as_dict(article: Article, *, explain: bool, file: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {} if file is None else {"file": file}
    doc |= {
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "byline": article.byline,
        "authors": article.authors,
        "agency": article.agency,
        "site_name": article.site_name,
        "language": article.language,
        "published": article.published.isoformat() if article.published else None,
        "updated": article.updated.isoformat() if article.updated else None,
        "body": article.body,
        "captions": article.captions,
        "warnings": article.warnings,
        "method": article.method,
    }
    if explain:
        doc["dropped"] = [{"rule": d.rule, "text": d.text} for d in article.dropped]
    return doc


def as_text(article: Article, *, explain: bool) -> str:
    out = [f"title:     {article.title or ''}", f"byline:    {article.byline or ''}"]
    if article.agency:
        out.append(f"agency:    {article.agency}")
    out += [
        f"published: {article.published.isoformat() if article.published else ''}",
        f"updated:   {article.updated.isoformat() if article.updated else ''}",
        "",
    ]
    out += [p + "\n" for p in article.body]
    if explain:
        out.append("dropped:")
        out += [f"  [{d.rule}] {d.text}" for d in article.dropped] or ["  (nothing)"]
    return "\n".join(out)


def cmd_extract(args: argparse.Namespace) -> int:
    from crawler.normalize import load_rules

    rules = load_rules(args.rules)
    cfg = None
    if args.config or any(s.startswith(("http://", "https://")) for s in args.pages):
        from ._context import config_from

        cfg = config_from(args)
    pages = list(pages_of(args.pages))
    if args.url and len(pages) != 1:
        raise InputError("--url names the address of one saved page; give exactly one page")
    several = len(pages) > 1
    failed = 0
    for page in pages:
        try:
            article = extract_one(page, url=args.url, rules=rules, cfg=cfg)
        except (InputError, SourceError) as exc:
            if not several:
                raise
            failed += 1
            print(f"newsdedup: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"file": page, "error": str(exc)}, ensure_ascii=False))
            continue
        for warning in article.warnings:
            print(f"newsdedup: warning: {page}: {warning}", file=sys.stderr)
        if args.json:
            print(json.dumps(as_dict(article, explain=args.explain, file=page), ensure_ascii=False))
        else:
            if several:
                print(f"==> {page} <==")
            print(as_text(article, explain=args.explain))
    if failed == len(pages):
        return InputError.exit_code
    return 1 if failed else 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sp = sub.add_parser(
        "extract",
        parents=[common],
        help="extract and normalize pages: files, folders of saved pages, or URLs",
        description="Run pages through the crawl's extraction and normalization. Exit 0 "
        "when every page gave article text, 1 when some did not, 2 when none did.",
    )
    sp.add_argument(
        "pages",
        nargs="+",
        metavar="PAGE",
        help="an HTML file (.html, or .html.gz), a folder of them, or an "
        "http(s) URL (fetched with the crawler's fetcher and politeness)",
    )
    sp.add_argument(
        "--json", action="store_true", help="one JSON object per line and page, with its 'file'"
    )
    sp.add_argument("--explain", action="store_true", help="show which rules dropped what")
    sp.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="FILE",
        help="extra boilerplate rules file (repeatable)",
    )
    sp.add_argument(
        "--url",
        metavar="URL",
        help="the address a single saved page came from: the base for its "
        "relative links and its fallback canonical URL",
    )
    sp.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        help="config whose [crawl] settings (user agent, allow_hosts, size "
        "cap) apply when a PAGE is a URL",
    )
    sp.set_defaults(func=cmd_extract, store=None)
