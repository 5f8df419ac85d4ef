"""Numba kernels compiled on first call, and cached beside their module.

The engine's loops over bytes, pairs and shingle sets are written as plain Python
functions and compiled when first used, so that importing the engine never loads numba
(about 0.3 s), and a process that never runs a kernel never pays for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

_LOCK = threading.Lock()


def jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by numba (nopython, cached, GIL released) the first time it runs."""
    compiled: list[Callable[..., Any]] = []

    @wraps(fn)
    def call(*args: Any) -> Any:
        if not compiled:
            with _LOCK:
                if not compiled:
                    from numba import njit

                    compiled.append(njit(cache=True, nogil=True)(fn))
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
            from numba import njit

            for name in self._names:
                self._namespace[name] = njit(cache=True, nogil=True)(self._namespace[name])
            self.compiled = True
