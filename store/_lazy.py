"""Names a package exports but loads on first use (PEP 562), so importing it stays cheap.

``import store`` happens on every path, extraction included, which needs only the
canonical text form; the dedup engine (numpy, datasketch) and the report renderers load
when one of their names is first touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any


def lazy_exports(
    namespace: dict[str, Any],
    modules: dict[str, Iterable[str]],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package whose ``modules`` (module name ->
    names it defines) load on first access; each name is cached in ``namespace``."""
    where = {name: module for module, names in modules.items() for name in names}
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        namespace[name] = value  # later lookups do not come here
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
