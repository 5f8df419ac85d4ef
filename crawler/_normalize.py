"""The names the publisher benchmark's scorer imports (``score.py --system py:newsdedup``
calls ``crawler._normalize.normalize``), kept where that script looks for them; the code
lives in :mod:`crawler.normalize`."""

from crawler.normalize import NormalizedArticle, normalize

__all__ = ["NormalizedArticle", "normalize"]
