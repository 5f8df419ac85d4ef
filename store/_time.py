"""Times as the store keeps them: aware UTC datetimes, written as sortable ISO strings.

One definition for every package: a naive time from a page or a corpus is read as UTC,
and every stored or reported time is UTC, so that ordering copies by time never compares
two clocks.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive value is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_db_time(value: datetime | None) -> str | None:
    """ISO-8601 in UTC, so that string order is time order in every backend."""
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="seconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object, *, unit_required: bool = False) -> float | None:
    """Seconds from a number, or from text like ``"90"``, ``"90m"``, ``"6h"``, ``"2d"``,
    ``"1w"``; ``None`` when it is not a duration.

    The one duration grammar of the config (``revisit_after``) and of report selection
    (``--since 24h``); the latter asks for a unit, because a bare number there is more
    likely a mistyped date than a count of seconds.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        if unit_required and not m.group(2):
            return None
        seconds = float(m.group(1)) * _SECONDS[m.group(2).lower()]
    else:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
