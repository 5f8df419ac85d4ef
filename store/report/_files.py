"""A directory of timestamped reports that keeps only the last N of each format.

A cron job that writes a report every hour must not fill the disk, and a reader wants to
open "the latest" without guessing names; UTC timestamps in the names make the newest
sort last and make pruning a matter of sorting names, with no clock or mtime involved.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from store._time import utcnow

from ._build import Report
from ._names import EXTENSIONS
from ._render import render

PREFIX = "newsdedup-report-"
_NAME = re.compile(rf"^{re.escape(PREFIX)}(\d{{8}}T\d{{6}}Z)\.([a-z]+)$")


def report_name(when: datetime, fmt: str) -> str:
    return f"{PREFIX}{when:%Y%m%dT%H%M%SZ}.{EXTENSIONS[fmt]}"


def _write_atomically(path: Path, data: str | bytes) -> None:
    """Write then rename, so a reader never opens a half-written report."""
    tmp = path.with_name(f".{path.name}.tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)


def prune_reports(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` reports of each extension; return what went."""
    by_ext: dict[str, list[Path]] = {}
    for p in directory.iterdir():
        m = _NAME.match(p.name)
        if m and p.is_file():
            by_ext.setdefault(m.group(2), []).append(p)
    removed = []
    for paths in by_ext.values():
        paths.sort(key=lambda p: p.name)
        for old in paths[: max(len(paths) - max(keep, 1), 0)]:
            old.unlink(missing_ok=True)
            removed.append(old)
    return removed


def write_report_set(
    report: Report,
    directory: str | Path,
    formats: Sequence[str],
    *,
    keep: int = 10,
    when: datetime | None = None,
) -> list[Path]:
    """Write one timestamped file per format into ``directory``, then prune old ones."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    when = when or utcnow()
    written = []
    for fmt in formats:
        path = directory / report_name(when, fmt)
        _write_atomically(path, render(report, fmt))
        written.append(path)
    prune_reports(directory, keep)
    return written
