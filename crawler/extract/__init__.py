"""HTML to article fields with selectolax (Lexbor): title, byline, dates, language,
canonical URL, body paragraphs and captions, from whatever bytes a server sent.

This is the raw extraction; ``crawler.normalize`` then strips the publisher's boilerplate,
and :func:`crawler.extract` (the function the package exports) runs both.
"""

from ._dates import parse_date, parse_date_line
from ._html import ExtractedPage, decode_html, extract_html, extract_text, light_fold

__all__ = [
    "ExtractedPage",
    "decode_html",
    "extract_html",
    "extract_text",
    "light_fold",
    "parse_date",
    "parse_date_line",
]
