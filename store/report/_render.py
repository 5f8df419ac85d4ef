"""One entry point from a built :class:`Report` to the bytes of any format.

The CLI, ``newsdedup run``'s report directory and tests all go through :func:`render`,
so a format cannot work in one place and be broken in another.
"""

from __future__ import annotations

from ._build import Report
from ._formats import parquet_bytes, render_csv, render_json_report, render_jsonl
from ._html import render_html
from ._markdown import render_markdown
from ._names import FORMATS
from ._terminal import render_table


def render(
    report: Report, fmt: str, *, color: bool = False, width: int | None = None
) -> str | bytes:
    """``bytes`` for Parquet, text for everything else; ``width`` only bounds the text
    table (``None``: no width to fit, nothing wrapped)."""
    if fmt == "text":
        return render_table(report, color=color, width=width)
    if fmt == "json":
        return render_json_report(report)
    if fmt == "jsonl":
        return render_jsonl(report.clusters)
    if fmt == "csv":
        return render_csv(report.clusters)
    if fmt == "parquet":
        return parquet_bytes(report.clusters)
    if fmt == "html":
        return render_html(report)
    if fmt == "markdown":
        return render_markdown(report)
    raise ValueError(f"unknown report format {fmt!r}; one of {', '.join(FORMATS)}")
