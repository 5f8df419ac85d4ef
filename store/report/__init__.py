"""Reports on the clusters: who published a story first, who copied it, how much, how fast.

Selection (``_select``) keeps or drops whole clusters; ``_build`` computes the figures of a
:class:`Report`; ``render`` dispatches to one module per format (``_terminal``,
``_formats`` for JSON/JSONL/CSV/Parquet, ``_markdown``, ``_html`` with ``assets/``), and
``_files`` keeps a rotated folder of report files for cron runs. The renderers load on
first use: the command line needs only the format names to build its options.
"""

from typing import TYPE_CHECKING

from store._lazy import lazy_exports

from ._names import EXTENSIONS, FILE_FORMATS, FORMATS

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "._build": ("Overview", "Report", "build_report", "make_overview"),
        "._diff": ("TextDiff", "diff_texts"),
        "._files": ("prune_reports", "write_report_set"),
        "._passages": ("Passage", "shared_passages"),
        "._render": ("render",),
        "._rows": ("MEMBER_COLUMNS", "REPORT_VERSION", "member_row", "render_csv"),
        "._select": ("Selection", "SelectionError", "parse_when", "select_clusters"),
    },
)

__all__ = [
    "EXTENSIONS",
    "FILE_FORMATS",
    "FORMATS",
    "MEMBER_COLUMNS",
    "REPORT_VERSION",
    "Overview",
    "Passage",
    "Report",
    "Selection",
    "SelectionError",
    "TextDiff",
    "build_report",
    "diff_texts",
    "make_overview",
    "member_row",
    "parse_when",
    "prune_reports",
    "render",
    "render_csv",
    "select_clusters",
    "shared_passages",
    "write_report_set",
]

if TYPE_CHECKING:
    from ._build import Overview, Report, build_report, make_overview
    from ._diff import TextDiff, diff_texts
    from ._files import prune_reports, write_report_set
    from ._passages import Passage, shared_passages
    from ._render import render
    from ._rows import MEMBER_COLUMNS, REPORT_VERSION, member_row, render_csv
    from ._select import Selection, SelectionError, parse_when, select_clusters
