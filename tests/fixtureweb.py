"""Configs for crawling the bundled fixture web from tests."""

from __future__ import annotations

from pathlib import Path

from crawler.fixtures import FixtureServer


def sitemap_config(server: FixtureServer, folder: Path, *, store: str = "s.db",
                   delay: float = 0.0, per_host_concurrency: int = 2) -> Path:
    """A config that finds every fixture page through the sites' sitemaps."""
    path = folder / "c.toml"
    path.write_text(
        f'store = {{ path = "{store}" }}\n[crawl]\nper_host_delay = {delay}\n'
        f'allow_hosts = ["127.0.0.1"]\nper_host_concurrency = {per_host_concurrency}\n'
        + "".join(f'[[sources]]\nurl = "{u}"\nkind = "sitemap"\n'
                  for u in server.sitemap_urls()), encoding="utf-8")
    return path
