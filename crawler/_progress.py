"""A progress bar for people at a terminal; nothing at all for cron.

The crawler reports progress through the small :class:`Progress` protocol, so it never
knows whether anyone is watching; the CLI plugs in a rich bar only when stderr is a TTY.
A crawl has two phases worth watching: discovery (sources read, out of all sources: slow
when hosts hang) and fetching (pages fetched, out of those due); each is one ``start`` …
``finish`` with its own label.
"""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    def start(self, total: int, label: str = "fetching") -> None: ...
    def advance(self, ok: bool) -> None: ...
    def finish(self) -> None: ...


class RichProgress:
    """rich's bar on stderr: items done out of the phase's total, failures counted."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._failed = 0

    def start(self, total: int, label: str = "fetching") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        self.finish()  # a new phase gets a fresh line
        self._failed = 0
        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, failed=0)

    def advance(self, ok: bool) -> None:
        self._failed += not ok
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, failed=self._failed)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._task = None
