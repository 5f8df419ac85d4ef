"""Id lists cut into chunks the databases accept in one ``IN (...)`` list."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

_CHUNK = 500  # ids per IN (...) list: under SQLite's default variable limit


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
