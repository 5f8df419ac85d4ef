"""Fixtures shared across the test modules, and the collection check behind the quick loop.

- ``news_server(seed)``: the bundled fixture news web (``crawler.fixtures``) served on
  127.0.0.1, started once per seed for the whole session (the web is fixed by its seed and the
  server keeps no state but its request log, so tests can share it: count requests from a mark,
  ``len(server.request_log)``, never from zero).
- ``spark``: one local Spark session for the session (a JVM start costs seconds).
- the rules of tests/markers.py, checked on every collected test before anything runs.

Builders of inputs live in tests/builders.py, the fixture-web config writer in
tests/fixtureweb.py, the console-script runner in tests/cli.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from crawler.fixtures import FixtureServer, build_web
from tests.markers import marker_problems


@pytest.hookimpl(tryfirst=True)  # before -m deselects: a breach is refused in any selection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = marker_problems(items)
    if problems:
        raise pytest.UsageError("test classes (tests/markers.py):\n  " + "\n  ".join(problems))


@pytest.fixture(scope="session")
def news_server() -> Iterator[Callable[[int], FixtureServer]]:
    """``news_server(seed)``: a running server for ``build_web(seed)``, shared by the session."""
    servers: dict[int, FixtureServer] = {}

    def serve(seed: int) -> FixtureServer:
        if seed not in servers:
            servers[seed] = FixtureServer(build_web(seed)).__enter__()
        return servers[seed]

    yield serve
    for server in servers.values():
        server.close()


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime: Spark needs Java 17+")
    from store.spark._job import spark_session

    session = spark_session(
        "local[2]", partitions=4, driver_memory="1g", conf={"spark.sql.adaptive.enabled": "true"}
    )
    yield session
    session.stop()
