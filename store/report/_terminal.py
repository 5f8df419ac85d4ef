"""The terminal report: one table row per story, coloured for a person, plain for a pipe.

Colour and box-drawing only help a reader at a terminal; in a cron mail or a ``grep`` they
are noise, so the caller says whether the output is a TTY and the table follows.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from store._models import Cluster

from ._build import Overview, Report, publisher_of, spread_hours


def _when(c: Cluster) -> str:
    return c.origin.article.first_seen.strftime("%Y-%m-%d %H:%M")


def headline(ov: Overview) -> str:
    """The one-line summary every text format opens with."""
    line = (f"{ov.articles} articles, {ov.clusters} stories published more than once "
            f"({ov.syndicated} articles, {ov.share_syndicated:.0%} syndicated)")
    if ov.top_origins:
        name, n = ov.top_origins[0]
        line += f"; most copied origin: {name} ({n} {'story' if n == 1 else 'stories'})"
    return line


def cluster_table(clusters: Sequence[Cluster], *, color: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD if color else box.ASCII2, show_edge=False,
                  pad_edge=False, header_style="bold" if color else "")
    table.add_column("Cluster", justify="right", style="cyan" if color else "")
    table.add_column("Size", justify="right", style="bold" if color else "")
    table.add_column("Origin publisher", style="green" if color else "", max_width=28)
    table.add_column("First seen (UTC)", no_wrap=True)
    table.add_column("Spread h", justify="right")
    table.add_column("Headline", ratio=1, overflow="fold")
    for c in clusters:
        origin = c.origin.article
        table.add_row(str(c.id), str(c.size), publisher_of(origin), _when(c),
                      f"{spread_hours(c):.1f}", origin.title or "(untitled)")
    return table


def render_table(report: Report, *, color: bool = False, width: int = 120) -> str:
    """The report as text; ``color`` adds ANSI styles and rules for a terminal."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      emoji=False, soft_wrap=False)
    ov = report.overview
    console.print(Text(headline(ov), style="bold" if color else ""))
    if ov.selection:
        console.print(Text(f"selection: {ov.selection}", style="dim" if color else ""))
    if not report.clusters:
        console.print("No story was found in more than one place.")
    else:
        console.print(cluster_table(report.clusters, color=color))
        if len(report.clusters) == 1:  # one story asked for: show who carried it
            console.print(member_table(report.clusters[0], color=color))
    return buf.getvalue()


def member_table(c: Cluster, *, color: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD if color else box.ASCII2, show_edge=False,
                  pad_edge=False, title=f"Cluster {c.id}: every copy in time order")
    table.add_column("First seen (UTC)", no_wrap=True)
    table.add_column("Publisher")
    table.add_column("Copied", justify="right")
    table.add_column("URL", overflow="fold")
    for m in c.members:
        a = m.article
        mark = "origin" if a.id == c.origin_id else f"{m.containment:.0%}"
        table.add_row(a.first_seen.strftime("%Y-%m-%d %H:%M"), publisher_of(a), mark, a.url)
    return table
