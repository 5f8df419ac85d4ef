"""Numba kernels compiled on first call, and cached beside their module.

The engine's loops over bytes, pairs and shingle sets are written as plain Python
functions and compiled when first used, so that importing the engine never loads numba
(about 0.3 s), and a process that never runs a kernel never pays for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()


def _njit() -> Callable[..., Any]:
    """numba's ``njit``, its compiled kernels cached in the user's cache folder.

    numba caches beside the source by default: inside site-packages for an installed
    newsdedup. Those files are nobody's to remove: uninstalling leaves
    ``store/dedup/__pycache__`` behind as a namespace package, which then shadows an
    editable install of the same name (``import store`` finds a package without
    ``ConfigError``). The user's own ``NUMBA_CACHE_DIR`` stands; a cache folder that
    cannot be written leaves numba's default.
    """
    import numba
    from numba.core import config

    if not config.CACHE_DIR:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(base) / "newsdedup" / "numba"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return numba.njit
        if os.access(folder, os.W_OK):
            config.CACHE_DIR = str(folder)
    return numba.njit


def jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by numba (nopython, cached, GIL released) the first time it runs."""
    compiled: list[Callable[..., Any]] = []

    @wraps(fn)
    def call(*args: Any) -> Any:
        if not compiled:
            with _LOCK:
                if not compiled:
                    compiled.append(_njit()(cache=True, nogil=True)(fn))
        return compiled[0](*args)

    call.py_func = fn  # type: ignore[attr-defined]
    return call


class Kernels:
    """A module's kernels that call each other: compiled together, in order, once.

    numba resolves a kernel's calls when it compiles it, so each callee must already be a
    dispatcher: the names are swapped in ``namespace`` (the module's globals) in the order
    given, callees first. ``then`` names modules whose kernels must be compiled before.
    """

    def __init__(
        self, namespace: dict[str, Any], names: tuple[str, ...], then: tuple[Kernels, ...] = ()
    ) -> None:
        self._namespace, self._names, self._before = namespace, names, then
        self.compiled = False

    def compile(self) -> None:
        with _LOCK:
            if self.compiled:
                return
        for other in self._before:
            other.compile()
        with _LOCK:
            if self.compiled:
                return
            njit = _njit()
            for name in self._names:
                self._namespace[name] = njit(cache=True, nogil=True)(self._namespace[name])
            self.compiled = True
