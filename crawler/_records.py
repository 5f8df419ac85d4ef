"""One fetched or archived page to one stored article: the step crawls and archives share.

A function of the page and the host's template lines only (no store, no crawler state), so
a crawl, ``import-warc`` and the corpus readers of WARC files give the same text, title,
dates and URL for the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime

from crawler.extract import ExtractedPage
from crawler.normalize import RuleSet, line_key, normalize
from store import ArticleRecord, utcnow

from ._urls import canonicalize_url, host_of


def article_key(page: ExtractedPage, url: str) -> str:
    """The URL a page is stored under: its own rel=canonical when that stays on its site."""
    key = canonicalize_url(url)
    if page.canonical_url:
        canonical = canonicalize_url(page.canonical_url, base=url)
        if host_of(canonical) == host_of(url):  # never let a page claim another site's URL
            key = canonical
    return key


def page_record(page: ExtractedPage, body: bytes, url: str, rules: RuleSet,
                template_lines: Collection[str], *, publisher: str | None = None,
                published: datetime | None = None,
                fetched: datetime | None = None) -> ArticleRecord | None:
    """Normalize an extracted page; ``None`` when it holds no article text (an index page)."""
    art = normalize(page, rules, template_lines=template_lines)
    if not art.body:
        return None
    host = host_of(url)
    return ArticleRecord(
        url=article_key(page, url), host=host, text=art.text, fetched=fetched or utcnow(),
        publisher=publisher or page.site_name or host,
        title=art.title or page.title, byline=art.byline, agency=art.agency,
        published=art.published or page.published or published,
        updated=art.updated or page.updated, language=page.language,
        fetched_url=url, html_sha256=hashlib.sha256(body).hexdigest(),
        line_keys=[line_key(p) for p in page.paragraphs],
        dropped=[(d.rule, d.text) for d in art.dropped],
    )
