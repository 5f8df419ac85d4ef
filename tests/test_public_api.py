"""The public Python API the README documents, and a guard on what each package exports.

``__all__`` is a promise: a name added or removed there is a change users see, so the
lists below must be edited on purpose, together with the README's API section.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import crawler
import store

pytestmark = pytest.mark.quick

DATA = Path(__file__).parent / "data"

CRAWLER_API = {
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
}
STORE_API = {
    "__version__",
    "AlreadyRunning",
    "ArticleRecord",
    "Cluster",
    "ConfigError",
    "CorpusAssignment",
    "CorpusError",
    "CorpusRecord",
    "DedupConfig",
    "DedupResult",
    "FILE_FORMATS",
    "FORMATS",
    "FrontierItem",
    "InputError",
    "Member",
    "MissingDependency",
    "NewsdedupError",
    "PairScores",
    "Report",
    "RunLock",
    "SQLiteStore",
    "SchemaTooNew",
    "Selection",
    "SelectionError",
    "SourceError",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "StoreLocked",
    "StoreReadOnly",
    "StoredArticle",
    "Thresholds",
    "UsageError",
    "build_report",
    "canonical",
    "cluster_corpus",
    "dedup_store",
    "dedup_texts",
    "load_clusters",
    "lock_path",
    "open_store",
    "pairwise_scores",
    "parse_duration",
    "read_corpus",
    "render",
    "utcnow",
    "write_assignments",
    "write_report_set",
}


def test_exports_are_exactly_the_documented_api():
    assert set(crawler.__all__) == CRAWLER_API
    assert set(store.__all__) == STORE_API
    for package in (crawler, store):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"


def test_importing_the_packages_loads_no_engine():
    """``import store`` (which extraction needs for the canonical text form) must not pay
    for numpy, datasketch or the report renderers; ``import crawler`` not for HTTP."""
    code = (
        "import sys, crawler, store; "
        "print(' '.join(m for m in ('numpy', 'datasketch', 'scipy', 'httpx', 'rich', "
        "'store.dedup', 'store.report', 'store.backends') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_extract_returns_an_article_from_bytes_or_text():
    html = (DATA / "pages" / "es_efe.html").read_bytes()
    article = crawler.extract(html, url="https://example.com/a")
    assert isinstance(article, crawler.Article)
    assert article.title and article.body and article.language.startswith("es")
    assert article.text == "\n\n".join(article.body)
    assert crawler.extract(html.decode("utf-8"), url="https://example.com/a").body == article.body
    assert all(d.rule and d.text for d in article.dropped)


def test_extract_never_raises_on_garbage():
    for junk in (b"", b"\x00\xff" * 100, "<html><body><div>", "plain words only"):
        article = crawler.extract(junk)
        assert isinstance(article, crawler.Article)


def test_dedup_texts_clusters_copies_and_keeps_order():
    text = (DATA / "seed-chinadaily-bloomberg.txt").read_text(encoding="utf-8")
    other = " ".join(f"unrelated word{i} story{i % 17}" for i in range(300))
    rows = store.dedup_texts([text, other, "A local intro line. " + text])
    assert [r.id for r in rows] == ["0", "1", "2"]
    assert rows[0].cluster == rows[2].cluster != rows[1].cluster
    rows = store.dedup_texts(
        [{"id": "a", "text": text, "url": "https://x.example/a"}, {"id": "b", "text": text}]
    )
    assert rows[0].url == "https://x.example/a" and rows[0].cluster == rows[1].cluster


def test_dedup_texts_names_a_bad_record():
    with pytest.raises(store.CorpusError, match="record 1"):
        store.dedup_texts(["fine", {"id": "x"}])
    with pytest.raises(store.CorpusError, match="duplicate id"):
        store.dedup_texts([{"id": "x", "text": "a"}, {"id": "x", "text": "b"}])


def test_open_store_and_load_config(tmp_path):
    config = tmp_path / "newsdedup.toml"
    config.write_text(
        'store = { path = "s.db" }\n[[sources]]\nurl = "https://e.example/f"\n', encoding="utf-8"
    )
    cfg = crawler.load_config(config)
    with store.open_store(cfg.store) as st:
        assert st.article_count() == 0
    assert (tmp_path / "s.db").exists()


def test_version_is_the_installed_one():
    from importlib.metadata import version

    assert crawler.__version__ == store.__version__ == version("newsdedup")
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"newsdedup {store.__version__}"


def test_errors_form_one_tree_with_exit_codes():
    assert issubclass(store.ConfigError, store.UsageError)
    assert issubclass(store.CorpusError, store.InputError)
    for cls in (store.UsageError, store.StoreError, store.SourceError, store.AlreadyRunning):
        assert issubclass(cls, store.NewsdedupError)
    assert (
        store.UsageError.exit_code,
        store.StoreError.exit_code,
        store.SourceError.exit_code,
        store.AlreadyRunning.exit_code,
    ) == (2, 3, 1, 0)
    assert store.StoreLocked.exit_code == 3 and store.MissingDependency.exit_code == 2
