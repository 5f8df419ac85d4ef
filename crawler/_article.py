"""The public extraction API: a page in, the article newsdedup would store out.

``crawler.extract`` runs exactly what a crawl runs on a fetched page — HTML extraction
(``crawler.extract``'s modules) and boilerplate normalization (``crawler.normalize``) — so
that a Python user, ``newsdedup extract`` and the crawler can never disagree about a page.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from .extract import ExtractedPage, extract_html, extract_text
from .normalize import Dropped, NormalizedArticle, RuleSet, normalize


@dataclass
class Article:
    """One page's article: its metadata, its story paragraphs, and what was cut and why."""

    url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    byline: str | None = None
    agency: str | None = None  # the wire agency credited (byline, dateline or tagline)
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None
    site_name: str | None = None
    body: list[str] = field(default_factory=list)  # story paragraphs, boilerplate removed
    captions: list[str] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)  # each removed line and its rule
    warnings: list[str] = field(default_factory=list)  # what extraction had to guess
    method: str = "dom"  # how the body was found: "dom", "json-ld", ...

    @property
    def text(self) -> str:
        """The body as the store keeps it: paragraphs joined by blank lines."""
        return "\n\n".join(self.body)


def article_of(page: ExtractedPage, art: NormalizedArticle) -> Article:
    """Both halves of the pipeline's view of one page, as one record."""
    return Article(
        url=page.url,
        canonical_url=page.canonical_url or page.url,
        title=art.title,
        authors=list(page.authors),
        byline=art.byline,
        agency=art.agency,
        published=art.published,
        updated=art.updated,
        language=page.language,
        site_name=page.site_name,
        body=list(art.body),
        captions=list(art.captions),
        dropped=list(art.dropped),
        warnings=list(page.warnings),
        method=page.method,
    )


def extract(
    html: bytes | str,
    url: str | None = None,
    *,
    rules: RuleSet | None = None,
    template_lines: Collection[str] = (),
    encoding: str | None = None,
) -> Article:
    """Extract and normalize one page; never raises on malformed or mis-encoded input.

    ``html`` is the body as bytes (its encoding is sniffed from BOM, ``<meta>`` and content)
    or as text; ``url`` resolves relative links and is the fallback canonical URL.
    ``rules`` adds a user's boilerplate rules to the shipped ones; ``template_lines`` are
    line keys a site prints on most pages (``crawler.normalize.template_keys``);
    ``encoding`` is the charset a server declared for ``html`` bytes, if any.
    """
    if isinstance(html, bytes) and not (
        html.startswith(_BOMS) or _looks_like_markup(html[:2048].decode("latin-1"))
    ):
        html = html.decode(encoding or "utf-8", errors="replace")  # a plain-text page
    page = (
        extract_html(html, url, encoding=encoding)
        if isinstance(html, bytes) or _looks_like_markup(html)
        else extract_text(html, url)
    )
    return article_of(page, normalize(page, rules, template_lines=template_lines))


_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _looks_like_markup(text: str) -> bool:
    head = text[:2048].lstrip().lower()
    return head.startswith("<") or "<html" in head or "<body" in head
