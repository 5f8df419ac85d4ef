"""The terminal report: one table row per story, coloured for a person, plain for a pipe.

Colour and box-drawing only help a reader at a terminal; in a cron mail or a ``grep`` they
are noise, so the caller says whether the output is a TTY and the table follows. Only a
terminal (or ``COLUMNS``) has a width to fit: piped into ``run.log`` the table keeps its
natural width, because lines hard-wrapped at an arbitrary 120 columns, padded with spaces
and with URLs folded mid-word, could neither be read nor grepped. A URL is never folded:
a table holding one grows past the width instead.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from store._models import Cluster
from store._words import counted

from ._build import Overview, Report, publisher_of, spread_hours

# Console width for output with no width to fit: wide enough that nothing wraps.
UNBOUNDED = 100_000


def _when(c: Cluster) -> str:
    return c.origin.article.first_seen.strftime("%Y-%m-%d %H:%M")


def headline(ov: Overview) -> str:
    """The one-line summary every text format opens with."""
    line = (
        f"{counted(ov.articles, 'article')}, "
        f"{counted(ov.clusters, 'story', 'stories')} published more than once "
        f"({counted(ov.syndicated, 'article')}, {ov.share_syndicated:.0%} syndicated)"
    )
    if ov.top_origins:
        name, n = ov.top_origins[0]
        line += f"; most copied origin: {name} ({counted(n, 'story', 'stories')})"
    return line


def nothing_found(ov: Overview) -> str:
    """What an empty report says: that the selection left everything out, when it did."""
    if not ov.selection:
        return "No story was found in more than one place."
    outside = f"; {counted(ov.available, 'cluster')} in the store lie outside it"
    return f"No cluster matches the selection ({ov.selection}){outside if ov.available else ''}."


def cluster_table(clusters: Sequence[Cluster], *, color: bool) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD if color else box.ASCII2,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if color else "",
    )
    table.add_column("Cluster", justify="right", style="cyan" if color else "")
    table.add_column("Size", justify="right", style="bold" if color else "")
    table.add_column("Origin publisher", style="green" if color else "", max_width=28)
    table.add_column("First seen (UTC)", no_wrap=True)
    table.add_column("Spread h", justify="right")
    table.add_column("Headline", ratio=1, overflow="fold")
    for c in clusters:
        origin = c.origin.article
        table.add_row(
            str(c.id),
            str(c.size),
            publisher_of(origin),
            _when(c),
            f"{spread_hours(c):.1f}",
            origin.title or "(untitled)",
        )
    return table


def render_table(report: Report, *, color: bool = False, width: int | None = None) -> str:
    """The report as text; ``color`` adds ANSI styles and rules for a terminal.

    ``width`` is the terminal's (or ``COLUMNS``); ``None`` for a pipe or a file, where
    nothing is wrapped. Prose lines are never wrapped: the terminal does that itself.
    """
    buf = io.StringIO()

    def console_of(width: int) -> Console:
        return Console(
            file=buf,
            width=width,
            force_terminal=color,
            no_color=not color,
            color_system="standard" if color else None,
            highlight=False,
            emoji=False,
            soft_wrap=False,
        )

    console = console_of(width or UNBOUNDED)
    ov = report.overview
    console.print(Text(headline(ov), style="bold" if color else ""), soft_wrap=True)
    if ov.selection:
        console.print(
            Text(f"selection: {ov.selection}", style="dim" if color else ""), soft_wrap=True
        )
    if not report.clusters:
        console.print(nothing_found(ov), soft_wrap=True)
    else:
        console.print(cluster_table(report.clusters, color=color))
        if len(report.clusters) == 1:  # one story asked for: show who carried it
            members = member_table(report.clusters[0], color=color)
            # The URL column is at least as wide as the longest URL: where that does not
            # fit the width, the table takes its natural width rather than fold or cut a
            # URL (or squeeze every other column to an ellipsis beside it).
            size = console.measure(members, options=console.options.update(width=UNBOUNDED))
            console_of(console.width if size.minimum <= console.width else size.maximum).print(
                members
            )
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def member_table(c: Cluster, *, color: bool) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD if color else box.ASCII2,
        show_edge=False,
        pad_edge=False,
        title=f"Cluster {c.id}: every copy in time order",
    )
    table.add_column("First seen (UTC)", no_wrap=True)
    table.add_column("Publisher")
    table.add_column("Copied", justify="right")
    table.add_column("URL", no_wrap=True, min_width=max(len(m.article.url) for m in c.members))
    for m in c.members:
        a = m.article
        mark = "origin" if a.id == c.origin_id else f"{m.containment:.0%}"
        table.add_row(a.first_seen.strftime("%Y-%m-%d %H:%M"), publisher_of(a), mark, a.url)
    return table
