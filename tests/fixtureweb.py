"""Configs for crawling the bundled fixture web from tests."""

from __future__ import annotations

from pathlib import Path

from crawler.fixtures import FixtureServer


def sitemap_config(
    server: FixtureServer,
    folder: Path,
    *,
    store: str = "s.db",
    delay: float = 0.0,
    per_host_concurrency: int = 2,
    kind: str = "sitemap",
) -> Path:
    """A config that finds every fixture page through the sites' sitemaps; with
    ``kind="site"``, from the sites' homepages (robots.txt, sitemaps and feeds found there)."""
    urls = server.homepage_urls() if kind == "site" else server.sitemap_urls()
    path = folder / "c.toml"
    path.write_text(
        f'store = {{ path = "{store}" }}\n[crawl]\nper_host_delay = {delay}\n'
        f'allow_hosts = ["127.0.0.1"]\nper_host_concurrency = {per_host_concurrency}\n'
        + "".join(f'[[sources]]\nurl = "{u}"\nkind = "{kind}"\n' for u in urls),
        encoding="utf-8",
    )
    return path
