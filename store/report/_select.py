"""Which clusters a report shows: a time window, publishers, ids, a size floor, an order.

A cluster is a story, so selection keeps or drops whole clusters and never cuts members
out of one: a cluster trimmed to the window would name a wrong origin and wrong figures.
A cluster is in a time window when any of its members is, which is what "what was
syndicated this week" (``published``) or "what changed since the last run" (``fetched``)
mean in practice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from store._exceptions import SelectionError
from store._models import Cluster, StoredArticle
from store._time import as_utc, parse_duration
from store.backends import Store
from store.dedup import load_clusters

TIME_FIELDS = ("published", "fetched")
SORTS = ("size", "recency")


@dataclass
class Selection:
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    time_field: str = "published"  # published (stated, else fetch time) or fetched
    publishers: tuple[str, ...] = ()  # case-insensitive substrings of publisher or host
    min_size: int = 2
    cluster_ids: tuple[int, ...] = ()
    limit: int | None = None
    sort: str = "size"

    def describe(self) -> str:
        """One line for a report's header, so a reader knows what was left out; "" for all."""
        parts = []
        if self.since or self.until:
            since = self.since.isoformat(timespec="minutes") if self.since else "…"
            until = self.until.isoformat(timespec="minutes") if self.until else "…"
            parts.append(f"{self.time_field} {since} – {until}")
        if self.publishers:
            parts.append("publisher " + " or ".join(self.publishers))
        if self.cluster_ids:
            parts.append("cluster " + ", ".join(map(str, self.cluster_ids)))
        if self.min_size != 2:
            parts.append(f"size ≥ {self.min_size}")
        if self.sort != "size":
            parts.append(f"sorted by {self.sort}")
        if self.limit is not None:
            parts.append(f"first {self.limit}")
        return "; ".join(parts)


def parse_when(text: str, *, now: datetime | None = None, end: bool = False) -> datetime:
    """An ISO date or datetime, or an age like ``36h`` / ``7d`` / ``2w`` before ``now``.

    A bare date as an upper bound (``end``) means the end of that day, because
    ``--until 2026-03-03`` reads as "through the 3rd". Naive times are UTC.
    """
    now = now or datetime.now(UTC)
    age = parse_duration(text, unit_required=True)
    if age is not None:
        return now - timedelta(seconds=age)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            day = date.fromisoformat(text.strip())
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise SelectionError(
            f"not a date, time or age: {text!r} (try 2026-03-02, 2026-03-02T06:00, 24h, 7d)"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def member_time(a: StoredArticle, time_field: str) -> datetime:
    return as_utc(a.fetched if time_field == "fetched" else a.first_seen)


def latest(c: Cluster) -> datetime:
    return max(as_utc(m.article.first_seen) for m in c.members)


def _matches(c: Cluster, sel: Selection) -> bool:
    if sel.cluster_ids and c.id not in sel.cluster_ids:
        return False
    if sel.since or sel.until:
        times = [member_time(m.article, sel.time_field) for m in c.members]
        if not any(
            (sel.since is None or t >= as_utc(sel.since))
            and (sel.until is None or t < as_utc(sel.until))
            for t in times
        ):
            return False
    if sel.publishers:
        wanted = [p.casefold() for p in sel.publishers]
        names = [f"{m.article.publisher or ''} {m.article.host}".casefold() for m in c.members]
        if not any(w in n for w in wanted for n in names):
            return False
    return True


def select_clusters(clusters: Sequence[Cluster], sel: Selection) -> list[Cluster]:
    """Filter, order and cap already loaded clusters."""
    if sel.time_field not in TIME_FIELDS:
        raise SelectionError(f"time field {sel.time_field!r} is not one of {TIME_FIELDS}")
    if sel.sort not in SORTS:
        raise SelectionError(f"sort {sel.sort!r} is not one of {SORTS}")
    out = [c for c in clusters if c.size >= sel.min_size and _matches(c, sel)]
    if sel.sort == "recency":
        out.sort(key=lambda c: (latest(c), c.size, -c.id), reverse=True)
    else:
        out.sort(key=lambda c: (-c.size, as_utc(c.origin.article.first_seen), c.id))
    return out[: sel.limit] if sel.limit is not None else out


def load_selection(store: Store, sel: Selection, *, shingle_size: int = 5) -> list[Cluster]:
    return select_clusters(
        load_clusters(store, min_size=sel.min_size, shingle_size=shingle_size), sel
    )
