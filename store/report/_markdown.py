"""A short Markdown summary to paste into a ticket or a chat.

Short on purpose: the headline figures, the biggest stories and who republished most.
Table cells are escaped, because a headline with a ``|`` would otherwise break the table
and one with ``<script>`` would be live HTML in renderers that allow it.
"""

from __future__ import annotations

import re

from store._words import counted

from ._build import Report, publisher_of, spread_hours
from ._terminal import headline, nothing_found

_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")  # enough for inline text in a table cell


def md_escape(text: str) -> str:
    """Inline-safe Markdown: specials backslashed, newlines folded to spaces."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_markdown(report: Report, *, top: int = 10) -> str:
    ov = report.overview
    lines = ["## newsdedup report", "", md_escape(headline(ov)) + ".", ""]
    if ov.selection:
        lines += [f"_Selection: {md_escape(ov.selection)}_", ""]
    if not report.clusters:
        return "\n".join(lines + [md_escape(nothing_found(ov)), ""])
    lines += [
        "| Cluster | Size | Origin | First seen (UTC) | Spread (h) | Headline |",
        "|---:|---:|---|---|---:|---|",
    ]
    for c in report.clusters[:top]:
        o = c.origin.article
        title = md_escape(o.title or "(untitled)")
        if o.url.startswith(("http://", "https://")):
            title = f"[{title}](<{o.url.replace('>', '%3E').replace(' ', '%20')}>)"
        lines.append(
            f"| {c.id} | {c.size} | {md_escape(publisher_of(o))} | "
            f"{o.first_seen:%Y-%m-%d %H:%M} | {spread_hours(c):.1f} | {title} |"
        )
    if len(report.clusters) > top:
        more = len(report.clusters) - top
        lines.append(f"\n…and {counted(more, 'more story', 'more stories')}.")
    if ov.top_republishers:
        lines += [
            "",
            "**Top republishers:** "
            + ", ".join(
                f"{md_escape(r.name)} ({counted(r.copies, 'copy', 'copies')}, "
                f"{r.mean_copied:.0%} copied on average)"
                for r in ov.top_republishers[:5]
            ),
        ]
    return "\n".join(lines) + "\n"
