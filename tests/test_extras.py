"""An optional extra that is not installed: one line naming it, exit 2, never a traceback.

The test environment has every extra, so each test runs the command line in a child
Python whose import system refuses the packages of one extra, as a base install would.
That a fresh venv with each extra really runs its feature is what
``scripts/check-extras`` checks: building venvs takes minutes and a download-sized disk,
too much for every test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import open_store

pytestmark = pytest.mark.quick

# A meta-path finder ahead of all others: the named top-level packages do not exist.
RUN_WITHOUT = """
import sys

BLOCKED = set(sys.argv[1].split(","))


class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocked())
from crawler.cli import main

sys.exit(main(sys.argv[2:]))
"""


def without(
    packages: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT, packages, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_naming(done: subprocess.CompletedProcess[str], extra: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"newsdedup[{extra}]" in lines[0], lines[0]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extras") / "s.db"
    with open_store(path):
        pass
    return path


def test_the_blocker_blocks_and_nothing_else(small_store):
    """The same child, blocking nothing the command needs, works: the errors below are
    the missing package's, not the harness's."""
    done = without("no_such_package", "report", "--store", str(small_store), "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["articles"] == 0


def test_parquet_report_without_pyarrow(small_store, tmp_path):
    done = without(
        "pyarrow", "report", "--store", str(small_store), "-o", str(tmp_path / "week.parquet")
    )
    assert_one_line_naming(done, "parquet")
    assert "pyarrow" in done.stderr
    assert not (tmp_path / "week.parquet").exists()


@pytest.mark.slow
def test_run_with_a_parquet_report_directory_without_pyarrow(small_store, news_server, tmp_path):
    server = news_server(3)
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'store = {{ path = "s.db" }}\n[crawl]\nper_host_delay = 0.0\n'
        f'allow_hosts = ["127.0.0.1"]\nmax_pages = 3\n'
        f'[report]\ndirectory = "reports"\nformats = ["text", "parquet"]\n'
        f'[[sources]]\nurl = "{server.sitemap_urls()[0]}"\nkind = "sitemap"\n'
    )
    done = without("pyarrow", "-q", "run", "--config", str(cfg))
    assert_one_line_naming(done, "parquet")


def _corpus(tmp_path: Path) -> Path:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "one two three four five six"}) + "\n")
    return path


@pytest.mark.parametrize("missing", ["pandas", "pyarrow", "pyspark"])
def test_spark_dedup_without_its_python_packages(tmp_path, missing):
    done = without(
        missing,
        "spark-dedup",
        "--input",
        str(_corpus(tmp_path)),
        "--output",
        str(tmp_path / "out.jsonl"),
    )
    assert_one_line_naming(done, "spark")
    assert missing in done.stderr.lower()


def test_spark_dedup_without_java(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent), "JAVA_HOME": ""}
    done = without(
        "no_such_package",
        "spark-dedup",
        "--input",
        str(_corpus(tmp_path)),
        "--output",
        str(tmp_path / "out.jsonl"),
        env=env,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Java runtime" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_postgresql_store_without_psycopg():
    done = without("psycopg", "report", "--store", "postgresql://127.0.0.1:9/nothing")
    assert_one_line_naming(done, "postgres")
