"""The names the publisher benchmark's scorer imports (``score.py --system py:newsdedup``
calls ``crawler._extract.extract_html``), kept where that script looks for them; the code
lives in :mod:`crawler.extract`."""

from crawler.extract import ExtractedPage, extract_html

__all__ = ["ExtractedPage", "extract_html"]
