"""`crawl --warc` archives what it fetched; `import-warc` rebuilds the same articles."""

from __future__ import annotations

import json

import pytest

from store import open_store
from tests.cli import newsdedup
from tests.fixtureweb import sitemap_config

pytestmark = pytest.mark.quick


@pytest.mark.slow
def test_crawl_to_warc_then_import_gives_the_same_articles_and_clusters(news_server, tmp_path):
    cfg = sitemap_config(news_server(9), tmp_path, store="crawled.db")
    crawl = newsdedup("-q", "run", "--config", str(cfg), "--warc", str(tmp_path / "warc"))
    assert crawl.returncode == 0, crawl.stderr
    files = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert files and not list((tmp_path / "warc").glob("*.open"))
    imported = newsdedup(
        "-q", "import-warc", "--store", str(tmp_path / "imported.db"), "--json", *map(str, files)
    )
    assert imported.returncode == 0, imported.stderr
    summary = json.loads(imported.stdout)
    with open_store(tmp_path / "crawled.db") as a, open_store(tmp_path / "imported.db") as b:
        assert summary["stored"] == a.article_count() == b.article_count()
        texts_a = {x.url: x.text for x in a.articles(a.article_ids())}
        texts_b = {x.url: x.text for x in b.articles(b.article_ids())}
        assert texts_a == texts_b

        def partition(st):
            of = st.clusters_of(st.article_ids())
            groups: dict[int, set[str]] = {}
            for art in st.articles(st.article_ids()):
                groups.setdefault(of[art.id], set()).add(art.url)
            return sorted(sorted(g) for g in groups.values())

        assert partition(a) == partition(b)


def test_import_of_a_damaged_warc_keeps_what_it_could_and_exits_1(tmp_path):
    junk = tmp_path / "broken.warc.gz"
    junk.write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    out = newsdedup("-q", "import-warc", "--store", str(tmp_path / "s.db"), str(junk))
    assert out.returncode == 1
    assert "broken.warc.gz" in out.stdout
