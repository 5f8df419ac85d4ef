"""A progress bar for people at a terminal; nothing at all for cron.

The crawler reports progress through the small :class:`Progress` protocol, so it never
knows whether anyone is watching; the CLI plugs in a rich bar only when stderr is a TTY.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, ok: bool) -> None: ...
    def finish(self) -> None: ...


class RichProgress:
    """rich's bar on stderr: pages fetched out of those due, failures counted."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        self._bar = Bar(TextColumn("fetching"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=True)
        self._task = None
        self._failed = 0

    def start(self, total: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task("fetch", total=total, failed=0)

    def advance(self, ok: bool) -> None:
        self._failed += not ok
        if self._task is not None:
            self._bar.update(self._task, advance=1, failed=self._failed)

    def finish(self) -> None:
        self._bar.stop()
