"""Values as the store writes them: times as sortable UTC strings, id lists in chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

_CHUNK = 500  # ids per IN (...) list: under SQLite's default variable limit


def to_db_time(value: datetime | None) -> str | None:
    """ISO-8601 in UTC, so that string order is time order in every backend."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
