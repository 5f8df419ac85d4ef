"""The architecture as tests: the import arrows of the README, and no private shortcuts.

``pyproject.toml``'s ``[tool.importlinter]`` contracts say which package may import which
(store never imports crawler; inside store, report and spark sit above dedup, dedup above
backends; inside crawler, the command line on top and extraction at the bottom). On top of
those, two rules import-linter cannot state: the crawler uses the store only through its
public modules, and no module reaches for another module's ``_private`` names.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.quick

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "store")


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
            out.append((name, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return out


def _imports(name: str, tree: ast.Module) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) of every import in the module."""
    package = name if name.count(".") == 0 or _is_package(name) else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
    return found


def _is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _is_package(name: str) -> bool:
    return (ROOT / name.replace(".", "/") / "__init__.py").exists()


def test_import_contracts_hold():
    # In a process of its own: import-linter configures logging, which would disable the
    # loggers of modules other tests already imported.
    import importlinter  # noqa: F401 - a test dependency: its absence fails, never skips

    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_crawler_uses_only_the_stores_public_modules():
    bad = []
    for name, tree in _modules():
        if not name.startswith("crawler"):
            continue
        for module, _, line in _imports(name, tree):
            parts = module.split(".")
            if parts[0] == "store" and any(p.startswith("_") for p in parts[1:]):
                bad.append(f"{name}:{line} imports {module}")
    assert bad == []


def test_no_module_imports_another_modules_private_names():
    bad = []
    for name, tree in _modules():
        for module, names, line in _imports(name, tree):
            if module.split(".")[0] not in PACKAGES:
                continue
            for imported in names:
                private = imported.startswith("_") and not imported.startswith("__")
                if private and not _is_module(f"{module}.{imported}"):
                    bad.append(f"{name}:{line} imports {imported} from {module}")
    assert bad == []
