"""The quick loop: not empty, nothing heavy in it, and no test that slipped in undeclared.

The rules themselves (tests/markers.py) are run on small generated test files through
pytester, so that each is seen to refuse what it must refuse and to pass what it must pass.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.markers import QUICK

pytestmark = pytest.mark.quick

TESTS = Path(__file__).resolve().parent
QUIET = ("-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestUnknownMarkWarning")


def declared_class(path: Path) -> str | None:
    """The marker names in a module's top-level ``pytestmark = ...``, as written."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return ast.unparse(node.value)
    return None


@pytest.mark.slow
def test_the_quick_loop_is_not_empty_and_every_quick_module_is_in_it():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", *QUIET, "-m", QUICK, str(TESTS)],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # Exit 0 means the collection check passed on the whole suite: every module declared.
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    counts = re.search(r"(\d+)/(\d+) tests collected \((\d+) deselected\)", done.stdout)
    assert counts, done.stdout[-1000:]
    quick, everything, left_out = map(int, counts.groups())
    assert quick > 0 and left_out > 0 and quick + left_out == everything
    in_loop = {
        line.split("::")[0].rsplit("/", 1)[-1] for line in done.stdout.splitlines() if "::" in line
    }
    declared_quick = {
        p.name for p in TESTS.glob("test_*.py") if "pytest.mark.quick" in (declared_class(p) or "")
    }
    assert declared_quick and declared_quick <= in_loop, declared_quick - in_loop


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project whose conftest runs this suite's collection check, with a stand-in for the
    Spark fixture (only its name matters to the check)."""
    pytester.makeconftest("""
        import pytest
        from tests.conftest import pytest_collection_modifyitems  # the check under test

        @pytest.fixture
        def spark():
            return None
    """)
    return pytester


BAD_MODULES = {
    "test_bare": ("def test_new():\n    pass\n", "test_bare.py declares no test class"),
    "test_skipif_only": (
        "import pytest\npytestmark = pytest.mark.skipif(False, reason='x')\n"
        "def test_new():\n    pass\n",
        "test_skipif_only.py declares no test class",
    ),
    "test_spark_unmarked": (
        "import pytest\npytestmark = pytest.mark.quick\ndef test_new(spark):\n    pass\n",
        "test_spark_unmarked.py::test_new uses the 'spark' fixture: mark it @pytest.mark.spark",
    ),
    "test_spark_marked_slow": (
        "import pytest\npytestmark = pytest.mark.slow\ndef test_new(spark):\n    pass\n",
        "test_spark_marked_slow.py::test_new uses the 'spark' fixture",
    ),
}


def test_undeclared_tests_stop_the_run_before_anything_runs(suite):
    suite.makepyfile(
        **{name: source for name, (source, _) in BAD_MODULES.items()},
        test_fine="import pytest\npytestmark = pytest.mark.quick\ndef test_fine():\n    pass\n",
    )
    result = suite.runpytest(*QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    for name, (_, says) in BAD_MODULES.items():
        assert says in result.stderr.str(), name
    assert "test_fine" not in result.stderr.str()
    assert "passed" not in result.stdout.str()


def test_declared_tests_run_and_the_quick_loop_leaves_the_heavy_ones_out(suite):
    suite.makepyfile(
        test_mixed="import pytest\npytestmark = pytest.mark.quick\n"
        "def test_quick():\n    pass\n"
        "@pytest.mark.slow\ndef test_slow():\n    pass\n"
        "@pytest.mark.spark\ndef test_spark(spark):\n    pass\n",
        test_heavy="import pytest\npytestmark = pytest.mark.slow\ndef test_kill():\n    pass\n",
    )
    suite.runpytest(*QUIET).assert_outcomes(passed=4)
    quick = suite.runpytest("--collect-only", *QUIET, "-m", QUICK)
    assert quick.ret == pytest.ExitCode.OK
    assert [line for line in quick.stdout.lines if "::" in line] == ["test_mixed.py::test_quick"]
