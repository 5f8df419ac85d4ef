"""The report formats and their file names: what the command line offers and where files go.

Apart from the renderers so that building the command line's ``--format`` choices does not
load every renderer.
"""

from __future__ import annotations

FORMATS = ("text", "json", "jsonl", "csv", "parquet", "html", "markdown")
# Formats that are written to a file rather than a terminal: a name is made up if needed.
FILE_FORMATS = {"parquet": "newsdedup-report.parquet", "html": "newsdedup-report.html"}
EXTENSIONS = {
    "text": "txt",
    "json": "json",
    "jsonl": "jsonl",
    "csv": "csv",
    "parquet": "parquet",
    "html": "html",
    "markdown": "md",
}
