"""What keeps the quick loop quick: every test module states its class, heavy fixtures their marker.

The quick loop is ``python -m pytest -m QUICK`` (below). A test leaves it by carrying one of the
heavy markers registered in pyproject.toml: ``slow``, ``browser``, ``postgres``, ``spark``. The
risk is a new slow test that nobody marked: it would quietly make the quick loop slow. Timing
tests to catch it would make the suite depend on the machine's load, so the check is structural
and made at collection, before anything runs:

- every test module declares its class in a module-level ``pytestmark``: ``quick`` (its tests
  run in the quick loop unless a test carries a heavy marker itself) or a heavy marker (the
  whole file is out of the quick loop). A new file without it stops the run and says so;
- a test that uses a fixture standing for a heavy resource (:data:`FIXTURE_NEEDS`: a Spark
  session, a PostgreSQL server, Chromium, the full demo) must carry that resource's marker, so
  the quick loop cannot start one of them by accident.

What this cannot see is a new test in a ``quick`` module that is slow for its own reasons (a
long wait, a big input); ``--durations=30`` on the quick loop shows it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

HEAVY = ("slow", "browser", "postgres", "spark")
QUICK = " and ".join(f"not {m}" for m in HEAVY)
CLASSES = ("quick", *HEAVY)

# A fixture (by name, wherever it is defined) -> the marker a test using it must carry. Only
# fixtures a test names (directly or through other fixtures) are seen: test_backends' PostgreSQL
# cases reach ``pg`` through request.getfixturevalue, so their parameter carries the mark.
FIXTURE_NEEDS = {
    "spark": "spark",  # a local Spark session (a JVM): tests/conftest.py
    "pg": "postgres",  # a PostgreSQL server started for the tests: tests/test_backends.py
    "browser": "browser",  # headless Chromium through Playwright: tests/test_html_report.py
    "demo_dir": "slow",  # `newsdedup demo` end to end in a child process: tests/test_cli.py
}


def _names(marks: Iterable[pytest.Mark]) -> set[str]:
    return {m.name for m in marks}


def marker_problems(items: Iterable[pytest.Item]) -> list[str]:
    """Every breach of the two rules above among ``items``, one line each, saying the fix."""
    problems: list[str] = []
    undeclared: set[str] = set()
    for item in items:
        module = item.getparent(pytest.Module)
        declared = module is None or _names(module.own_markers) & set(CLASSES)
        if not declared and module.nodeid not in undeclared:
            undeclared.add(module.nodeid)
            problems.append(
                f"{module.nodeid} declares no test class: add a module-level "
                f"`pytestmark = pytest.mark.quick` (or one of {', '.join(HEAVY)})"
            )
        carried = _names(item.iter_markers())
        for fixture, marker in FIXTURE_NEEDS.items():
            if fixture in item.fixturenames and marker not in carried:
                problems.append(
                    f"{item.nodeid} uses the {fixture!r} fixture: mark it @pytest.mark.{marker}"
                )
    return problems
