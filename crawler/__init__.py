"""Everything that touches the web: discovery, fetching, politeness, extraction, normalization.

The public Python API::

    from crawler import extract, load_config
    article = extract(html_bytes, url="https://example.com/story")   # -> Article
    article.title, article.published, article.body, article.dropped

    config = load_config("newsdedup.toml")   # typed and validated; ConfigError names the key

Subpackages name the architecture: ``crawler.discover`` (feeds and sitemaps),
``crawler.fetch`` (the polite HTTP client), ``crawler.extract`` (HTML to fields),
``crawler.normalize`` (boilerplate rules), ``crawler.warc`` (archives) and ``crawler.cli``
(the ``newsdedup`` command). Note that the name ``crawler.extract`` is the *function*
re-exported here; the subpackage of the same name stays importable as
``from crawler.extract import extract_html``.

Errors come from one tree rooted at :class:`NewsdedupError` (see ``store._exceptions``).
"""

from typing import TYPE_CHECKING, Any

from store import (
    ConfigError,
    InputError,
    MissingDependency,
    NewsdedupError,
    SourceError,
    StoreError,
    UsageError,
    __version__,
)

from ._article import Article, extract

__all__ = [
    "Article",
    "Config",
    "ConfigError",
    "InputError",
    "MissingDependency",
    "NewsdedupError",
    "SourceError",
    "StoreError",
    "UsageError",
    "__version__",
    "extract",
    "load_config",
]


def __getattr__(name: str) -> Any:
    # The config pulls in the dedup engine's defaults (numpy); extraction alone must not.
    if name in ("Config", "load_config"):
        from . import _config

        return getattr(_config, name)
    raise AttributeError(f"module 'crawler' has no attribute {name!r}")


if TYPE_CHECKING:
    from ._config import Config, load_config
